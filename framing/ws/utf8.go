package ws

import "encoding/binary"

// utf8Validator checks UTF-8 incrementally, a chunk at a time, and fails at
// the first byte that cannot start or continue a valid sequence (so a text
// message split across frames, or arriving in pieces, fails as early as
// possible). The zero value is ready at the start of a message.
type utf8Validator struct {
	need   uint8 // continuation bytes still expected
	lo, hi byte  // range allowed for the next continuation byte
}

// write validates b, the next bytes of the text; it returns false at the
// first invalid byte.
func (v *utf8Validator) write(b []byte) bool {
	i := 0
	for i < len(b) {
		if v.need == 0 {
			// ASCII fast path, 32 then 8 bytes at a time.
			for i+32 <= len(b) {
				v := b[i : i+32]
				if (binary.LittleEndian.Uint64(v[0:])|binary.LittleEndian.Uint64(v[8:])|
					binary.LittleEndian.Uint64(v[16:])|binary.LittleEndian.Uint64(v[24:]))&0x8080808080808080 != 0 {
					break
				}
				i += 32
			}
			for i+8 <= len(b) && binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 == 0 {
				i += 8
			}
			if i >= len(b) {
				break
			}
			c := b[i]
			i++
			switch {
			case c < 0x80:
			case c >= 0xC2 && c <= 0xDF:
				v.need, v.lo, v.hi = 1, 0x80, 0xBF
			case c == 0xE0:
				v.need, v.lo, v.hi = 2, 0xA0, 0xBF
			case c == 0xED:
				v.need, v.lo, v.hi = 2, 0x80, 0x9F
			case c >= 0xE1 && c <= 0xEF:
				v.need, v.lo, v.hi = 2, 0x80, 0xBF
			case c == 0xF0:
				v.need, v.lo, v.hi = 3, 0x90, 0xBF
			case c >= 0xF1 && c <= 0xF3:
				v.need, v.lo, v.hi = 3, 0x80, 0xBF
			case c == 0xF4:
				v.need, v.lo, v.hi = 3, 0x80, 0x8F
			default:
				return false
			}
			continue
		}
		c := b[i]
		i++
		if c < v.lo || c > v.hi {
			return false
		}
		v.need--
		v.lo, v.hi = 0x80, 0xBF
	}
	return true
}

// complete reports whether the text so far ends on a character boundary.
func (v *utf8Validator) complete() bool { return v.need == 0 }

// validUTF8 reports whether b is entirely valid UTF-8.
func validUTF8(b []byte) bool {
	var v utf8Validator
	return v.write(b) && v.complete()
}
