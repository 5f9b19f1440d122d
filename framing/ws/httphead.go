package ws

import (
	"bytes"
	"strconv"
)

// maxHeadLines bounds how many header lines one head may carry.
const maxHeadLines = 100

// HTTPHead is an HTTP/1.x request or response head as ParseHTTPHead reads
// it, reduced to what matters for a WebSocket upgrade.
type HTTPHead struct {
	Request bool   // a request (else a response)
	Method  string // request: "GET", ...
	Target  string // request: "/ws"
	Proto   string // "HTTP/1.1"
	Status  int    // response: 101, ...
	Reason  string // response: "Switching Protocols"

	Host       string
	Origin     string
	Key        string // Sec-WebSocket-Key
	Accept     string // Sec-WebSocket-Accept
	Version    string // Sec-WebSocket-Version
	Protocol   string // Sec-WebSocket-Protocol (lines joined with ", ")
	Extensions string // Sec-WebSocket-Extensions (lines joined with ", ")

	// WebSocket is true when the head asks for a WebSocket upgrade (a request
	// with the Upgrade: websocket and Connection: upgrade tokens) or grants
	// one (a 101 response with the same tokens).
	WebSocket bool
}

// ParseHTTPHead decodes the HTTP/1.x head at the start of b, up to and
// including the blank line. It returns the head, its length in bytes, and
// ErrShortHTTP when b does not yet hold the blank line (read more), or
// ErrNotHTTP when the bytes are not an HTTP/1.x head. It never panics. The
// capture viewer uses it to find WebSocket upgrades in TCP streams.
func ParseHTTPHead(b []byte) (h HTTPHead, n int, err error) {
	n, err = headLen(b, 0)
	if err != nil {
		if err == ErrShortHTTP && !plausibleHTTPStart(b) {
			return h, 0, ErrNotHTTP
		}
		return h, 0, err
	}
	it := lineIter{b: b[:n]}
	first, _ := it.next()
	if bytes.HasPrefix(first, []byte("HTTP/")) {
		proto, rest, _ := bytes.Cut(first, []byte(" "))
		code, reason, _ := bytes.Cut(rest, []byte(" "))
		st, err := strconv.Atoi(string(code))
		if err != nil || len(code) != 3 || !validProto(proto) {
			return h, 0, ErrNotHTTP
		}
		h.Proto, h.Status, h.Reason = string(proto), st, string(reason)
	} else {
		m, t, p, ok := splitRequestLine(first)
		if !ok {
			return h, 0, ErrNotHTTP
		}
		h.Request, h.Method, h.Target, h.Proto = true, string(m), string(t), string(p)
	}
	var upgrade, connection bool
	lines := 0
	for {
		line, ok := it.next()
		if !ok || len(line) == 0 {
			break
		}
		lines++
		if lines > maxHeadLines {
			return h, 0, ErrNotHTTP
		}
		name, value, ok := splitHeaderLine(line)
		if !ok {
			return h, 0, ErrNotHTTP
		}
		switch {
		case equalFold(name, "Host"):
			h.Host = string(value)
		case equalFold(name, "Origin"):
			h.Origin = string(value)
		case equalFold(name, "Upgrade"):
			upgrade = upgrade || hasToken(value, "websocket")
		case equalFold(name, "Connection"):
			connection = connection || hasToken(value, "upgrade")
		case equalFold(name, "Sec-WebSocket-Key"):
			h.Key = string(value)
		case equalFold(name, "Sec-WebSocket-Accept"):
			h.Accept = string(value)
		case equalFold(name, "Sec-WebSocket-Version"):
			h.Version = string(value)
		case equalFold(name, "Sec-WebSocket-Protocol"):
			h.Protocol = joinValue(h.Protocol, value)
		case equalFold(name, "Sec-WebSocket-Extensions"):
			h.Extensions = joinValue(h.Extensions, value)
		}
	}
	h.WebSocket = upgrade && connection && (h.Request || h.Status == 101)
	return h, n, nil
}

func joinValue(old string, v []byte) string {
	if old == "" {
		return string(v)
	}
	return old + ", " + string(v)
}

// plausibleHTTPStart reports whether b could be the start of an HTTP head:
// an upper-case method or "HTTP/" so far.
func plausibleHTTPStart(b []byte) bool {
	if len(b) > 8 {
		b = b[:8]
	}
	if bytes.HasPrefix([]byte("HTTP/"), b) || bytes.HasPrefix(b, []byte("HTTP/")) {
		return true
	}
	for _, c := range b {
		if c == ' ' {
			return true
		}
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// headLen returns the length of the head at the start of b (through the
// blank line), ErrShortHTTP if it is not complete yet, or errHeadTooLarge
// if it is longer than max bytes (max <= 0: no limit). A bare "\n" line end
// is accepted too.
func headLen(b []byte, max int) (int, error) {
	if max > 0 && len(b) > max {
		b = b[:max]
	}
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		// The usual case. The line scan below finds the same end unless an
		// empty line ends a bare-"\n" line before it.
		if !bytes.Contains(b[:i+2], []byte("\n\n")) && !bytes.Contains(b[:i+2], []byte("\n\r\n")) {
			return i + 4, nil
		}
	}
	i := 0
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			if max > 0 && len(b) >= max {
				return 0, errHeadTooLarge
			}
			return 0, ErrShortHTTP
		}
		end := i + j + 1
		line := b[i:end]
		if i > 0 && (len(line) == 1 || (len(line) == 2 && line[0] == '\r')) {
			return end, nil
		}
		i = end
	}
}

// lineIter walks the lines of a head without allocating; next strips the
// line end.
type lineIter struct{ b []byte }

func (it *lineIter) next() ([]byte, bool) {
	if len(it.b) == 0 {
		return nil, false
	}
	j := bytes.IndexByte(it.b, '\n')
	var line []byte
	if j < 0 {
		line, it.b = it.b, nil
	} else {
		line, it.b = it.b[:j], it.b[j+1:]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, true
}

// splitRequestLine splits "GET /path HTTP/1.1".
func splitRequestLine(line []byte) (method, target, proto []byte, ok bool) {
	method, rest, ok1 := bytes.Cut(line, []byte(" "))
	target, proto, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || len(method) == 0 || len(target) == 0 || !validProto(proto) {
		return nil, nil, nil, false
	}
	for _, c := range method {
		if c < 'A' || c > 'Z' {
			return nil, nil, nil, false
		}
	}
	return method, target, proto, true
}

// validProto accepts "HTTP/1.0", "HTTP/1.1" and other HTTP/d.d.
func validProto(p []byte) bool {
	return len(p) == 8 && bytes.HasPrefix(p, []byte("HTTP/")) &&
		p[5] >= '0' && p[5] <= '9' && p[6] == '.' && p[7] >= '0' && p[7] <= '9'
}

// splitHeaderLine splits "Name: value" and trims the value.
func splitHeaderLine(line []byte) (name, value []byte, ok bool) {
	// One pass finds the colon and checks the name (short: no IndexByte).
	for i, c := range line {
		if c == ':' {
			if i == 0 {
				return nil, nil, false
			}
			return line[:i], trimOWS(line[i+1:]), true
		}
		if c <= ' ' || c >= 0x7F {
			return nil, nil, false
		}
	}
	return nil, nil, false
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if x|0x20 != y|0x20 || (x|0x20) < 'a' || (x|0x20) > 'z' {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v holds token
// (case-insensitive).
func hasToken(v []byte, token string) bool {
	if equalFold(v, token) {
		return true // the usual single token
	}
	for len(v) > 0 {
		var t []byte
		t, v, _ = bytes.Cut(v, []byte(","))
		if equalFold(trimOWS(t), token) {
			return true
		}
	}
	return false
}
