package wire

import (
	"encoding/binary"
	"unicode/utf8"
)

// maxJSONDepth is the deepest nesting ValidJSON accepts, the same bound as
// encoding/json's.
const maxJSONDepth = 10000

// jsonStringPlain marks the bytes a JSON string can hold as they are: not
// the quote, not the backslash, not a control character.
var jsonStringPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// ValidJSON reports whether b is one JSON value (RFC 8259), with optional
// white space around it. It accepts exactly what encoding/json.Valid
// accepts, including its nesting limit of 10000, and like it does not
// check that strings are UTF-8; it allocates nothing and is several times
// faster, which matters because the server validates the arguments of
// every event a client sends before relaying them.
func ValidJSON(b []byte) bool { return validJSON(b, false) }

// ValidJSONText is ValidJSON that also requires UTF-8 text (ValidJSON(b)
// && utf8.Valid(b)) in one pass: JSON outside strings is ASCII, so only the
// bytes of strings need the check, as they are scanned.
func ValidJSONText(b []byte) bool { return validJSON(b, true) }

// validJSON tracks whether each nesting level is an object in a bit set
// on its stack; most values nest less than 64 deep, so it first tries with
// one word, which it need not clear at length, and takes the full set
// (validJSONDeep) only when a value nests deeper.
func validJSON(b []byte, text bool) bool {
	// An array of one string, the commonest arguments of a chat event
	// (emit("chat", "hello")), is checked without the scanner's
	// bookkeeping; anything else (white space too) takes the scanner.
	if len(b) >= 4 && b[0] == '[' && b[1] == '"' {
		if i, ok := jsonString(b, 1, text); ok && i == len(b)-1 && b[i] == ']' {
			return true
		}
	}
	var objects [1]uint64
	ok, deeper := scanJSON(b, text, objects[:])
	if deeper {
		return validJSONDeep(b, text)
	}
	return ok
}

//go:noinline
func validJSONDeep(b []byte, text bool) bool {
	var objects [maxJSONDepth/64 + 1]uint64
	ok, _ := scanJSON(b, text, objects[:])
	return ok
}

// scanJSON is ValidJSON with the bit set objects (bit d%64 of word d/64
// says whether nesting level d is an object) and, with text, the UTF-8
// check; it reports deeper when the value nests deeper than objects holds.
func scanJSON(b []byte, text bool, objects []uint64) (ok, deeper bool) {
	depth := 0
	i := skipJSONSpace(b, 0)
	for {
		// A value starts at i.
		if i >= len(b) {
			return false, false
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth == maxJSONDepth {
				return false, false
			}
			depth++
			if depth/64 >= len(objects) {
				return false, true
			}
			if c == '{' {
				objects[depth/64] |= 1 << (depth % 64)
			} else {
				objects[depth/64] &^= 1 << (depth % 64)
			}
			i = skipJSONSpace(b, i+1)
			if i < len(b) && (c == '{' && b[i] == '}' || c == '[' && b[i] == ']') {
				i++ // empty: the value ends here
				depth--
			} else if c == '{' {
				var ok bool
				if i, ok = jsonKey(b, i, text); !ok {
					return false, false
				}
				continue
			} else {
				continue
			}
		case '"':
			var ok bool
			if i, ok = jsonString(b, i, text); !ok {
				return false, false
			}
		case 't':
			if !hasJSONLiteral(b, i, "true") {
				return false, false
			}
			i += 4
		case 'f':
			if !hasJSONLiteral(b, i, "false") {
				return false, false
			}
			i += 5
		case 'n':
			if !hasJSONLiteral(b, i, "null") {
				return false, false
			}
			i += 4
		default:
			var ok bool
			if i, ok = jsonNumber(b, i); !ok {
				return false, false
			}
		}
		// After a value: a separator, the end of containers, or the end.
		for {
			i = skipJSONSpace(b, i)
			if depth == 0 {
				return i == len(b), false
			}
			if i >= len(b) {
				return false, false
			}
			object := objects[depth/64]&(1<<(depth%64)) != 0
			c := b[i]
			if c == ',' {
				i = skipJSONSpace(b, i+1)
				if object {
					var ok bool
					if i, ok = jsonKey(b, i, text); !ok {
						return false, false
					}
				}
				break // the next value
			}
			if object && c == '}' || !object && c == ']' {
				i++
				depth--
				continue
			}
			return false, false
		}
	}
}

// skipJSONSpace returns the index of the first byte at or after i that is
// not JSON white space.
func skipJSONSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// jsonKey reads an object key and its colon at i and returns the index
// where the member's value starts.
func jsonKey(b []byte, i int, text bool) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i, ok := jsonString(b, i, text)
	if !ok {
		return i, false
	}
	i = skipJSONSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return skipJSONSpace(b, i+1), true
}

// jsonString reads the string whose opening quote is at i and returns the
// index after its closing quote; with text its bytes must be UTF-8.
func jsonString(b []byte, i int, text bool) (int, bool) {
	i++
	for {
		i = skipPlainWords(b, i, text)
		for i < len(b) && jsonStringPlain[b[i]] {
			if b[i] >= utf8.RuneSelf && text {
				r, size := utf8.DecodeRune(b[i:])
				if r == utf8.RuneError && size == 1 {
					return i, false
				}
				i += size
				continue
			}
			i++
		}
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case '"':
			return i + 1, true
		case '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return i, false
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return i, false
					}
				}
				i += 6
			default:
				return i, false
			}
		default:
			return i, false // a control character
		}
	}
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// skipPlainWords returns the index of the first 8-byte word at or after i
// in b that holds a byte that can end a string or needs a look (a quote, a
// backslash, a control character, with text a byte from 0x80), or of the
// last bytes that make no whole word. Per word it computes, in each byte's
// top bit, whether the byte minus 0x20, the byte XOR '"' minus 1 or the
// byte XOR '\\' minus 1 went below zero, for bytes below 0x80 (with text
// any byte from 0x80 counts): exact for the lowest such byte (a borrow
// comes only from a byte below that counts), and the subtractions of bytes
// below 0x80 that count for nothing leave the top bit clear, so there are
// no false alarms before the first byte that counts. Two words at a time,
// as long as there are two.
func skipPlainWords(b []byte, i int, text bool) int {
	const (
		ctl    = lsb * 0x20
		quote  = lsb * '"'
		bslash = lsb * '\\'
	)
	if i < 0 {
		return i
	}
	if text {
		for ; i <= len(b)-16; i += 16 {
			w := binary.LittleEndian.Uint64(b[i : i+8])
			v := binary.LittleEndian.Uint64(b[i+8 : i+16])
			x := (w - ctl) | (w ^ quote - lsb) | (w ^ bslash - lsb) | w
			y := (v - ctl) | (v ^ quote - lsb) | (v ^ bslash - lsb) | v
			if (x|y)&msb != 0 {
				if x&msb == 0 {
					i += 8
				}
				return i
			}
		}
		if i <= len(b)-8 {
			w := binary.LittleEndian.Uint64(b[i : i+8])
			if ((w-ctl)|(w^quote-lsb)|(w^bslash-lsb)|w)&msb == 0 {
				i += 8
			}
		}
		return i
	}
	for ; i <= len(b)-8; i += 8 {
		w := binary.LittleEndian.Uint64(b[i : i+8])
		if ((w-ctl)|(w^quote-lsb)|(w^bslash-lsb))&^w&msb != 0 {
			break
		}
	}
	return i
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hasJSONLiteral(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// jsonNumber reads the number at i:
// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func jsonNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return i, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return i, false
		}
		i = j
	}
	return i, true
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}
