package ws

import (
	"bytes"
	"testing"
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
