package app

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/framing/ws"
)

// deflateStream compresses messages as a permessage-deflate sender does:
// one DEFLATE stream, flushed per message, the 00 00 ff ff cut; a new
// stream per message without context takeover.
func deflateStream(t *testing.T, takeover bool, msgs ...string) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	var w *flate.Writer
	var out [][]byte
	for _, m := range msgs {
		if w == nil || !takeover {
			buf.Reset()
			var err error
			if w, err = flate.NewWriter(&buf, flate.BestCompression); err != nil {
				t.Fatal(err)
			}
		}
		start := buf.Len()
		w.Write([]byte(m))
		w.Flush()
		out = append(out, bytes.TrimSuffix(append([]byte(nil), buf.Bytes()[start:]...), []byte{0, 0, 0xff, 0xff}))
	}
	return out
}

// TestWebSocketDeflate: after a 101 that accepts permessage-deflate, each
// direction inflates its messages, keeping its window between messages
// when the response allows (the second message is mostly a back-reference
// into the first), starting afresh when it does not.
func TestWebSocketDeflate(t *testing.T) {
	for _, c := range []struct {
		ext      string
		takeover bool
	}{
		{"permessage-deflate", true},
		{"permessage-deflate; server_no_context_takeover; client_no_context_takeover", false},
	} {
		var cli, srv Dir
		Pair(&cli, &srv)
		var pkt capture.Packet
		cli.Feed([]byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"), &pkt)
		srv.Feed([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Extensions: "+c.ext+"\r\n\r\n"), &pkt)
		msgs := []string{"hello hello hello, compressed", "hello hello hello, compressed"}
		z := deflateStream(t, c.takeover, msgs...)
		if c.takeover && len(z[1]) >= len(z[0]) {
			t.Fatalf("the second message should use the first as its dictionary: %d vs %d bytes", len(z[1]), len(z[0]))
		}
		for i, m := range z {
			pkt.Reset()
			f := ws.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: [4]byte{9, 8, 7, 6}}, m)
			f[0] |= 0x40 // RSV1: compressed
			if n := cli.Feed(f, &pkt); n != len(f) {
				t.Fatalf("%s: message %d: consumed %d of %d", c.ext, i, n, len(f))
			}
			l := pkt.Find(capture.ProtoWebSocket)
			if l == nil || !l.Compressed || string(l.Message) != msgs[i] || l.MaskKey != [4]byte{9, 8, 7, 6} {
				t.Fatalf("%s: message %d: got %+v", c.ext, i, l)
			}
		}
	}
}

// TestWebSocketClose: the close code and reason of a close frame.
func TestWebSocketClose(t *testing.T) {
	d := Dir{kind: KindWebSocket}
	var pkt capture.Packet
	d.Feed(ws.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpClose}, append([]byte{0x03, 0xeb}, "text only"...)), &pkt)
	l := pkt.Find(capture.ProtoWebSocket)
	if l == nil || l.Status != 1003 || l.Reason != "text only" {
		t.Fatalf("close frame: %+v", l)
	}
}

// TestDNSOverTCP: messages behind a 2-byte length, two in one chunk and
// one split over two chunks.
func TestDNSOverTCP(t *testing.T) {
	var stream []byte
	for _, id := range []uint16{1, 2, 3} {
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: true, RCode: dnsmessage.RCodeNameError})
		b.StartQuestions()
		b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName("x.test."), Type: dnsmessage.TypeMX, Class: dnsmessage.ClassINET})
		m, _ := b.Finish()
		stream = append(binary.BigEndian.AppendUint16(stream, uint16(len(m))), m...)
	}
	var d Dir
	d.ExpectDNS()
	var ids []uint16
	cut := len(stream) - 5
	var buf []byte
	for _, chunk := range [][]byte{stream[:cut], stream[cut:]} {
		var pkt capture.Packet
		buf = append(buf, chunk...)
		n := d.Feed(buf, &pkt)
		buf = append(buf[:0], buf[n:]...)
		for _, l := range pkt.Layers {
			if l.Proto != capture.ProtoDNS || l.Name != "x.test" || l.Kind != "MX" || l.Code != 3 {
				t.Fatalf("layer %+v", l)
			}
			ids = append(ids, l.ID)
		}
	}
	if len(ids) != 3 || ids[0] != 1 || ids[2] != 3 {
		t.Fatalf("DNS ids %v, want 1 2 3", ids)
	}
}

// TestCutSegment: the captured start of a cut HTTP segment gives its
// request line; the direction then starts afresh.
func TestCutSegment(t *testing.T) {
	var d Dir
	var pkt capture.Packet
	d.Cut([]byte("GET /index.html HTTP/1.1\r\nHost: wired"), &pkt)
	l := pkt.Find(capture.ProtoHTTP)
	if l == nil || l.Method != "GET" || l.URI != "/index.html" {
		t.Fatalf("cut request: %+v", l)
	}
	pkt.Reset()
	d.Cut([]byte("HTTP/1.1 404 Not Found\r\nContent-Le"), &pkt)
	if l := pkt.Find(capture.ProtoHTTP); l == nil || l.Status != 404 || l.Reason != "Not Found" {
		t.Fatalf("cut response: %+v", l)
	}
}
