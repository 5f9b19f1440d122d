package wire

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strconv"
)

// Binary attachments in the chat's model. The event protocol carries JSON
// only, so a Socket.IO attachment travels inside the arguments as
// {"$binary":"<base64>"} where the Socket.IO packet had its placeholder
// {"_placeholder":true,"num":N}; towards Socket.IO every such object
// becomes an attachment again. A framed-TCP or WebSocket client sees (and
// may send) the base64 form. The chat server's Socket.IO transport
// (package tcpchat/sio) and the client's (package tcpchat) both translate
// with InlineAttachments and ExtractAttachments.

// binaryKey is the one member of an inlined attachment.
const binaryKey = "$binary"

var errAttachment = errors.New("wire: placeholder names a missing attachment")

// InlineAttachments returns data (the JSON of a Socket.IO packet) with each
// placeholder replaced by its attachment as {"$binary":"<base64>"}. Every
// attachment must be used.
func InlineAttachments(data []byte, atts [][]byte) ([]byte, error) {
	used := 0
	var err error
	out := walkObjects(data, func(dst, obj []byte) ([]byte, bool) {
		n, ok := placeholder(obj)
		if !ok {
			return dst, false
		}
		if n >= len(atts) {
			err = errAttachment
			return dst, false
		}
		used++
		dst = append(dst, `{"`+binaryKey+`":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, atts[n])
		return append(dst, `"}`...), true
	})
	if err == nil && used != len(atts) {
		err = errors.New("wire: attachments without a placeholder")
	}
	return out, err
}

// ExtractAttachments returns data (the chat's JSON) with each
// {"$binary":...} replaced by a Socket.IO placeholder, and the attachments
// in order; data itself (no allocation) when there is none.
func ExtractAttachments(data []byte) ([]byte, [][]byte) {
	// Most events carry no attachment, and most have no '$' at all: one
	// IndexByte (a vector scan) rules them out at a twentieth of the cost
	// of looking for the key itself (bytes.Index), which was about a
	// twentieth of the server's instructions per Socket.IO delivery.
	if bytes.IndexByte(data, '$') < 0 || !bytes.Contains(data, []byte(`"`+binaryKey+`"`)) {
		return data, nil
	}
	var atts [][]byte
	out := walkObjects(data, func(dst, obj []byte) ([]byte, bool) {
		b64, ok := inlined(obj)
		if !ok {
			return dst, false
		}
		bin, err := base64.StdEncoding.AppendDecode(nil, b64)
		if err != nil {
			return dst, false
		}
		dst = append(dst, `{"_placeholder":true,"num":`...)
		dst = strconv.AppendInt(dst, int64(len(atts)), 10)
		atts = append(atts, bin)
		return append(dst, '}'), true
	})
	return out, atts
}

// walkObjects copies JSON data, offering every object whose members are
// all scalars to replace; replace appends its replacement to dst and
// reports true, or reports false to keep the object. The result aliases
// data when nothing was replaced.
func walkObjects(data []byte, replace func(dst, obj []byte) ([]byte, bool)) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			i = stringEnd(data, i) - 1
		case '{':
			end, ok := flatObject(data, i)
			if !ok {
				continue
			}
			start := len(out)
			out = append(out, data[last:i]...)
			var did bool
			if out, did = replace(out, data[i:end]); did {
				last = end
				i = end - 1
			} else {
				out = out[:start]
			}
		}
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

// stringEnd returns the index after the JSON string starting at data[i]
// (len(data) when it does not end).
func stringEnd(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(data)
}

// scalarEnd returns the end of a string without escapes, or of a literal
// or number, starting at b[i].
func scalarEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	if b[i] == '"' {
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				return 0, false
			case '"':
				return j + 1, true
			}
		}
		return 0, false
	}
	j := i
	for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] >= 'a' && b[j] <= 'z' || b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] == 'E') {
		j++
	}
	return j, j > i
}

// flatObject returns the end of the object at b[i] when its members are
// all scalars (strings without escapes, literals, numbers).
func flatObject(b []byte, i int) (int, bool) {
	end, ok := members(b, i, func(_, _ []byte) bool { return true })
	return end, ok
}

// members walks the members of the flat object at b[i], calling fn with
// each key (without quotes) and raw value; it stops when fn returns false.
func members(b []byte, i int, fn func(key, val []byte) bool) (int, bool) {
	i = skipJSONSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		kend, ok := scalarEnd(b, i)
		if !ok || b[i] != '"' {
			return 0, false
		}
		key := b[i+1 : kend-1]
		i = skipJSONSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = skipJSONSpace(b, i+1)
		vend, ok := scalarEnd(b, i)
		if !ok || !fn(key, b[i:vend]) {
			return 0, false
		}
		i = skipJSONSpace(b, vend)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = skipJSONSpace(b, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// placeholder reports whether obj is {"_placeholder":true,"num":N}.
func placeholder(obj []byte) (int, bool) {
	n, seen := -1, 0
	_, ok := members(obj, 0, func(key, val []byte) bool {
		seen++
		switch string(key) {
		case "_placeholder":
			return string(val) == "true"
		case "num":
			v, err := strconv.Atoi(string(val))
			n = v
			return err == nil && v >= 0
		}
		return false
	})
	return n, ok && seen == 2 && n >= 0
}

// inlined returns the base64 of an object {"$binary":"..."}.
func inlined(obj []byte) ([]byte, bool) {
	var b64 []byte
	seen := 0
	_, ok := members(obj, 0, func(key, val []byte) bool {
		seen++
		if string(key) != binaryKey || val[0] != '"' {
			return false
		}
		b64 = val[1 : len(val)-1]
		return true
	})
	return b64, ok && seen == 1
}

// AppendEventArray appends one JSON array: the event's name, then the
// elements of args (an event packet's arguments, a JSON array; "[]" or
// nothing for none). It is the data of the Socket.IO EVENT packet for a
// chat event, both ways (the server's Socket.IO transport, the client's).
func AppendEventArray(b []byte, event string, args []byte) []byte {
	b = AppendJSONString(append(b, '['), event)
	if len(args) > 2 {
		return append(append(b, ','), args[1:]...)
	}
	return append(b, ']')
}

// AppendJSONString appends s as a JSON string.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
