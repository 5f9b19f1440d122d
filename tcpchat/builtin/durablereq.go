package builtin

import (
	"encoding/json"
	"unicode/utf8"
)

// bindDurable reads the arguments of a "durable" event, [{...}], into req:
// what Event.Bind does, without encoding/json's reflection for the shapes
// clients send (it was a fifth of chat serve's CPU per durable emit). The
// fast path takes only what it reads exactly as encoding/json does: one
// object whose keys are to, rooms, event and args, each at most once and
// spelled so; strings without escapes; to and rooms arrays of such
// strings; args an array. Anything else goes to Bind (FuzzBindDurable
// checks that both agree).
func bindDurable(args []byte, req *DurableRequest, bind func(v ...any) error) error {
	if fastDurable(args, req) {
		return nil
	}
	*req = DurableRequest{}
	return bind(req)
}

// fastDurable is bindDurable's fast path; false: not a shape it takes.
func fastDurable(b []byte, req *DurableRequest) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return false
	}
	i = skipSpace(b, i+1)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	var seen [4]bool
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			key, j, ok := plainString(b, i)
			if !ok {
				return false
			}
			i = skipSpace(b, j)
			if i >= len(b) || b[i] != ':' {
				return false
			}
			i = skipSpace(b, i+1)
			switch string(key) {
			case "to":
				if seen[0] {
					return false
				}
				seen[0] = true
				req.To, i, ok = plainStrings(b, i)
			case "rooms":
				if seen[1] {
					return false
				}
				seen[1] = true
				req.Rooms, i, ok = plainStrings(b, i)
			case "event":
				if seen[2] {
					return false
				}
				seen[2] = true
				var ev []byte
				ev, i, ok = plainString(b, i)
				req.Event = string(ev)
			case "args":
				if seen[3] {
					return false
				}
				seen[3] = true
				var end int
				if end, ok = arrayEnd(b, i); ok {
					req.Args = json.RawMessage(append([]byte(nil), b[i:end]...))
					i = end
				}
			default:
				return false
			}
			if !ok {
				return false
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return false
			}
			if b[i] == '}' {
				i++
				break
			}
			if b[i] != ',' {
				return false
			}
			i = skipSpace(b, i+1)
		}
	}
	i = skipSpace(b, i)
	return i < len(b) && b[i] == ']' && skipSpace(b, i+1) == len(b)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at b[i] that has no escapes, no control
// characters and is valid UTF-8, and returns its contents and the index
// after it.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[i+1 : j]
			return s, j + 1, utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, i, false
		}
	}
	return nil, i, false
}

// plainStrings reads an array of plain strings at b[i] ([] gives an empty
// slice, as encoding/json does).
func plainStrings(b []byte, i int) ([]string, int, bool) {
	if i >= len(b) || b[i] != '[' {
		return nil, i, false
	}
	out := []string{}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return out, i + 1, true
	}
	for {
		s, j, ok := plainString(b, i)
		if !ok {
			return nil, i, false
		}
		out = append(out, string(s))
		i = skipSpace(b, j)
		if i >= len(b) {
			return nil, i, false
		}
		if b[i] == ']' {
			return out, i + 1, true
		}
		if b[i] != ',' {
			return nil, i, false
		}
		i = skipSpace(b, i+1)
	}
}

// arrayEnd returns the index after the JSON array at b[i], found by its
// brackets and strings; whether it is valid JSON is the caller's check
// (the durable handler's wire.ValidJSON).
func arrayEnd(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '[' {
		return i, false
	}
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			for j++; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			if j >= len(b) {
				return i, false
			}
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return j + 1, b[j] == ']'
			}
		}
	}
	return i, false
}
