package ws

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"
)

// FuzzParseHeader checks that ParseHeader never panics, agrees with
// AppendHeader on what it accepts, and only asks for more bytes when more
// bytes could help.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0x82, 126, 0x01, 0x00})
	f.Add([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x89})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseHeader(b)
		if err == ErrShortHeader {
			if len(b) >= MaxHeaderLen {
				t.Fatalf("short header with %d bytes", len(b))
			}
			return
		}
		if err != nil {
			return
		}
		if n > len(b) || n < 2 {
			t.Fatalf("n=%d of %d", n, len(b))
		}
		if minimalLength(b) {
			if enc := AppendHeader(nil, h); !bytes.Equal(enc, b[:n]) {
				t.Fatalf("re-encoding % x, want % x", enc, b[:n])
			}
		}
		Split(b)
	})
}

// FuzzParseHTTPHead checks that the HTTP head parser never panics and that
// a reported length is within the input.
func FuzzParseHTTPHead(f *testing.F) {
	f.Add([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.0\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, n, err := ParseHTTPHead(b)
		if err == nil && (n <= 0 || n > len(b)) {
			t.Fatalf("n=%d of %d", n, len(b))
		}
	})
}

// fakeConn is a net.Conn that reads from a byte slice and discards writes.
type fakeConn struct {
	r       io.Reader
	written bytes.Buffer
}

func (f *fakeConn) Read(p []byte) (int, error)         { return f.r.Read(p) }
func (f *fakeConn) Write(p []byte) (int, error)        { return f.written.Write(p) }
func (f *fakeConn) Close() error                       { return nil }
func (f *fakeConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (f *fakeConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (f *fakeConn) SetDeadline(t time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(t time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(t time.Time) error { return nil }

// FuzzReader feeds arbitrary bytes to a connection's message reader, on
// the server side and the client side, with and without permessage-deflate,
// one byte at a time or as they come: it must never panic, must end, must
// only return valid UTF-8 text, and must close with a code it may send.
func FuzzReader(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'i', 'g', 'o', 'h', 'n'}, uint8(0))
	f.Add([]byte{0x81, 0x05, 'h', 'e', 'l', 'l', 'o', 0x88, 0x02, 0x03, 0xe8}, uint8(1))
	f.Add([]byte{0x01, 0x01, 'a', 0x89, 0x00, 0x80, 0x01, 'b'}, uint8(1))
	f.Add([]byte{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, uint8(3))
	f.Add([]byte{0x82, 0x7e, 0x00, 0x05, 1, 2, 3, 4, 5}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		server := mode&1 == 0
		deflate := mode&2 != 0
		var src io.Reader = bytes.NewReader(data)
		if mode&4 != 0 {
			src = iotest.OneByteReader(src)
		}
		fc := &fakeConn{r: bytes.NewReader(nil)}
		c := newConn(fc, bufio.NewReaderSize(src, 64), false, server, "", deflate, deflateParams{peerContext: mode&8 != 0}, 1<<16)
		var buf []byte
		for i := 0; i < 1000; i++ {
			op, msg, err := c.AppendMessage(buf[:0])
			if err != nil {
				break
			}
			if op == OpText && !utf8.Valid(msg) {
				t.Fatalf("invalid UTF-8 returned: %q", msg)
			}
			if len(msg) > 1<<16 {
				t.Fatalf("message of %d bytes above the limit", len(msg))
			}
			buf = msg
		}
		// Every close frame we sent carries a code we may send.
		out := fc.written.Bytes()
		for len(out) > 0 {
			h, p, rest, ok, err := Split(out)
			if !ok || err != nil {
				t.Fatalf("we wrote a broken frame: % x", out)
			}
			if h.Masked == server {
				t.Fatalf("masking of our frame wrong (server=%v)", server)
			}
			if h.OpCode == OpClose {
				p = bytes.Clone(p)
				Mask(h.Mask, 0, p)
				if code, _, ok := ParseClosePayload(p); !ok || code == StatusNoStatus && len(p) > 0 {
					t.Fatalf("we sent a bad close payload % x", p)
				}
			}
			out = rest
		}
	})
}

// FuzzUpgrade feeds arbitrary bytes to the server handshake: it must never
// panic, must answer with a well-formed HTTP response, and must answer with
// the same status when the bytes arrive one at a time.
func FuzzUpgrade(f *testing.F) {
	f.Add([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nSec-WebSocket-Protocol: a, b\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Version: 8\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\nHost: x\nOrigin: http://y\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fc := &fakeConn{r: bytes.NewReader(data)}
		u := &Upgrader{Compression: true, Protocols: []string{"a", "b"}}
		c, err := u.Upgrade(fc, nil)
		if c != nil {
			c.CloseNow()
		}
		out := fc.written.Bytes()
		if len(out) == 0 {
			if err == nil {
				t.Fatal("upgraded without answering")
			}
			return
		}
		resp, rerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
		if rerr != nil {
			t.Fatalf("malformed response %q: %v", out, rerr)
		}
		if (resp.StatusCode == 101) != (err == nil) {
			t.Fatalf("status %d with error %v", resp.StatusCode, err)
		}
		slow := &fakeConn{r: iotest.OneByteReader(bytes.NewReader(data))}
		c, err2 := u.Upgrade(slow, nil)
		if c != nil {
			c.CloseNow()
		}
		// The status must agree; the reason may not (a byte at a time, a
		// head that cannot be HTTP is refused before its first line ends).
		resp2, rerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(slow.written.Bytes())), nil)
		if rerr != nil || resp2.StatusCode != resp.StatusCode || (err == nil) != (err2 == nil) {
			t.Fatalf("one byte at a time: answered %q (%v), all at once %q (%v)", slow.written.Bytes(), err2, out, err)
		}
	})
}

// FuzzHeadLen checks the fast path of headLen against the line scan.
func FuzzHeadLen(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nA: b\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\nA: b\n\r\n\r\n"))
	f.Add([]byte("\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gerr := headLen(b, 0)
		want, werr := headLenSlow(b)
		if got != want || gerr != werr {
			t.Fatalf("headLen %d %v, line scan %d %v", got, gerr, want, werr)
		}
	})
}

func headLenSlow(b []byte) (int, error) {
	i := 0
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
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

// FuzzScanRequest checks scanRequest, the one-pass head scan and parse of
// the server, against headLen followed by the line-by-line parse.
func FuzzScanRequest(f *testing.F) {
	f.Add([]byte("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://a\r\nSec-WebSocket-Protocol: x\r\nSec-WebSocket-Extensions: y\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\nA: b\n\r\n\r\n"))
	f.Add([]byte("\r\nGET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nbad line\r\nHost: a\r\n"))
	f.Add(bytes.Repeat([]byte("GET / HTTP/1.1\r\n"), 120))
	f.Add([]byte("GET / HTTP/1.1\r\nhosT: a\r\nORIGIN: b\r\nSEC-WEBSOCKET-KEY: k\r\nSec_WebSocket-Key: l\r\nSec-WebSocket-Ke{: m\r\nsec-websocket-version: 13\r\nUpgradE: x, WebSocket\r\nconnection: keep-alive,upgrade\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got, want request
		n, err := scanRequest(b, &got)
		wn, werr := headLen(b, maxHeadSize)
		if werr != nil {
			if n != 0 || err != werr {
				t.Fatalf("scanRequest %d %v, headLen %v", n, err, werr)
			}
			return
		}
		werr = parseRequestHead(b[:wn], &want)
		if n != wn || (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
			t.Fatalf("scanRequest %d %v, reference %d %v", n, err, wn, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("scanRequest %+v\nreference %+v", got, want)
		}
	})
}

// parseRequestHead is the reference for scanRequest: it parses a whole
// request head (found by headLen) line by line, as the server did before
// the two passes became one.
func parseRequestHead(head []byte, r *request) error {
	it := lineIter{b: head}
	first, _ := it.next()
	var ok bool
	r.method, r.target, r.proto, ok = splitRequestLine(first)
	if !ok {
		return errors.New("malformed request line")
	}
	lines := 0
	for {
		line, more := it.next()
		if !more || len(line) == 0 {
			return nil
		}
		if lines++; lines > maxHeadLines {
			return errors.New("too many header lines")
		}
		name, value, ok := splitHeaderLine(line)
		if !ok {
			return errors.New("malformed header line")
		}
		switch {
		case equalFold(name, "Host"):
			r.host = value
			r.nHost++
		case equalFold(name, "Upgrade"):
			r.upgrade = r.upgrade || hasToken(value, "websocket")
		case equalFold(name, "Connection"):
			r.connection = r.connection || hasToken(value, "upgrade")
		case equalFold(name, "Sec-WebSocket-Key"):
			r.key = value
			r.nKey++
		case equalFold(name, "Sec-WebSocket-Version"):
			r.version = value
			r.nVersion++
		case equalFold(name, "Origin"):
			r.origin = value
			r.nOrigin++
		case equalFold(name, "Sec-WebSocket-Protocol"):
			if r.nProtocols == maxListValues {
				return errors.New("too many Sec-WebSocket-Protocol lines")
			}
			r.protocols[r.nProtocols] = value
			r.nProtocols++
		case equalFold(name, "Sec-WebSocket-Extensions"):
			if r.nExtensions == maxListValues {
				return errors.New("too many Sec-WebSocket-Extensions lines")
			}
			r.extensions[r.nExtensions] = value
			r.nExtensions++
		}
	}
}

// FuzzValidKey checks validKey, which looks at the characters, against
// decoding the key.
func FuzzValidKey(f *testing.F) {
	f.Add([]byte("dGhlIHNhbXBsZSBub25jZQ=="))
	f.Add([]byte("dGhlIHNhbXBsZSBub25jZR=="))
	f.Add([]byte("dGhlIHNhbXBsZSBub25j\rQ=="))
	f.Add([]byte("dGhlIHNhbXBsZSBub25jZQ="))
	f.Fuzz(func(t *testing.T, key []byte) {
		want := false
		if len(key) == 24 {
			var out [18]byte
			n, err := base64.StdEncoding.Decode(out[:], key)
			want = err == nil && n == 16
		}
		if validKey(key) != want {
			t.Fatalf("validKey(%q) = %v, decoding says %v", key, !want, want)
		}
	})
}
