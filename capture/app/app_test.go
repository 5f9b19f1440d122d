package app

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
	"github.com/wiredojo/wiredojo/udpcast"
)

// feed plays a two-direction conversation, the client's bytes in chunks
// then the server's, the way capture/decode does (unconsumed bytes are kept
// and passed again), and returns one line per PDU.
func feed(t testing.TB, client, server [][]byte) []string {
	return feedWith(t, client, server, describe)
}

// feedWith is feed with desc for the line of each layer; layers for which
// it returns "" are left out.
func feedWith(t testing.TB, client, server [][]byte, desc func(*capture.Layer) string) []string {
	var a, b Dir
	Pair(&a, &b)
	var out []string
	var pkt capture.Packet
	run := func(d *Dir, chunks [][]byte) {
		var buf []byte
		for _, c := range chunks {
			pkt.Reset()
			buf = append(buf, c...)
			n := d.Feed(buf, &pkt)
			if n < 0 || n > len(buf) {
				t.Fatalf("Feed consumed %d of %d bytes", n, len(buf))
			}
			buf = append(buf[:0], buf[n:]...)
			for i := range pkt.Layers {
				l := &pkt.Layers[i]
				if l.Start < 0 || l.End < l.Start {
					t.Fatalf("bad span [%d,%d)", l.Start, l.End)
				}
				if line := desc(l); line != "" {
					out = append(out, line)
				}
			}
		}
	}
	run(&a, client)
	run(&b, server)
	return out
}

func describe(l *capture.Layer) string {
	return fmt.Sprintf("%v %s %s %d %s fin=%v op=%d masked=%v len=%d payload=%q ct=%d hs=%d ns=%s name=%s kind=%s",
		l.Proto, l.Method, l.URI, l.Status, l.Reason, l.Fin, l.Opcode, l.Masked, l.PayloadLen, l.Payload,
		l.ContentType, l.HandshakeType, l.Namespace, l.Name, l.Kind)
}

func split(b []byte, size int) [][]byte {
	var out [][]byte
	for len(b) > size {
		out = append(out, b[:size])
		b = b[size:]
	}
	return append(out, b)
}

func upgradeConversation() (client, server []byte) {
	ev := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: []byte(`["hi"]`)}
	client = []byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	h := ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: [4]byte{9, 8, 7, 6}}
	client = ws.AppendFrame(client, h, ev.AppendTo(nil))
	h.OpCode, h.Fin = ws.OpText, false
	client = ws.AppendFrame(client, h, []byte("frag-"))
	h.OpCode, h.Fin = ws.OpContinuation, true
	client = ws.AppendFrame(client, h, []byte("ment"))
	server = []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
	server = ws.AppendFrame(server, ws.Header{Fin: true, OpCode: ws.OpText}, []byte("hello"))
	server = ws.AppendFrame(server, ws.Header{Fin: true, OpCode: ws.OpClose}, []byte{3, 232})
	return client, server
}

// TestSplitsAgree: every way of cutting the same stream into segments gives
// the same PDUs (several per segment, one split across many).
func TestSplitsAgree(t *testing.T) {
	convs := map[string][2][]byte{}
	c, s := upgradeConversation()
	convs["websocket"] = [2][]byte{c, s}
	chat := append([]byte(nil), wire.Preamble...)
	for _, p := range []wire.Packet{
		{Type: wire.TypeHandshake, Version: 1, ClientID: "c1"},
		{Type: wire.TypeEvent, Namespace: "/chat", Event: "join", Args: []byte(`["lobby"]`), HasAck: true, AckID: 3},
	} {
		chat = framing.AppendFrame(chat, p.AppendTo(nil))
	}
	reply := framing.AppendFrame(nil, (&wire.Packet{Type: wire.TypeAck, Namespace: "/chat", AckID: 3}).AppendTo(nil))
	convs["chat"] = [2][]byte{chat, reply}
	tlsC := []byte{22, 3, 1, 0, 4, 1, 0, 0, 0, 20, 3, 3, 0, 1, 1, 22, 3, 3, 0, 3, 9, 9, 9, 23, 3, 3, 0, 2, 7, 7}
	tlsS := []byte{22, 3, 3, 0, 4, 2, 0, 0, 0, 22, 3, 3, 0, 4, 11, 0, 0, 0}
	convs["tls"] = [2][]byte{tlsC, tlsS}
	httpC := []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloHEAD / HTTP/1.1\r\n\r\n")
	httpS := []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")
	convs["http"] = [2][]byte{httpC, httpS}
	want := map[string]int{"websocket": 8, "chat": 6, "tls": 6, "http": 6}
	for name, cv := range convs {
		t.Run(name, func(t *testing.T) {
			whole := feed(t, [][]byte{cv[0]}, [][]byte{cv[1]})
			if len(whole) != want[name] {
				t.Fatalf("%d PDUs, want %d:\n%s", len(whole), want[name], strings.Join(whole, "\n"))
			}
			for size := 1; size < 40; size++ {
				got := feed(t, split(cv[0], size), split(cv[1], size))
				if strings.Join(got, "\n") != strings.Join(whole, "\n") {
					t.Fatalf("segments of %d bytes:\n%s\nwhole:\n%s", size, strings.Join(got, "\n"), strings.Join(whole, "\n"))
				}
			}
		})
	}
}

func TestUDP(t *testing.T) {
	var p capture.Packet
	d := udpcast.Header{RunID: 1, Seq: 42, SentNS: 7}.AppendTo(nil)
	if !UDP(append(d, "payload"...), &p, 42) {
		t.Fatal("not recognised")
	}
	l := p.Layers[0]
	if l.Number != 42 || l.TimeNanos != 7 || l.PayloadLen != 7 || l.Start != 42 {
		t.Fatalf("%+v", l)
	}
	if UDP([]byte("not ours"), &p, 0) {
		t.Fatal("garbage recognised")
	}
}

// FuzzStream: any bytes, cut anywhere, never panic, and whole or cut the
// PDUs are the same.
func FuzzStream(f *testing.F) {
	c, s := upgradeConversation()
	f.Add(c, s, uint8(3))
	f.Add(append(append([]byte(nil), wire.Preamble...), 0, 0, 0, 2, 'P', 0), []byte{0, 0, 0, 1, 'O'}, uint8(1))
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0}, []byte{21, 3, 3, 0, 2, 2, 40}, uint8(2))
	f.Add([]byte("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"), []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), uint8(5))
	f.Fuzz(func(t *testing.T, client, server []byte, size uint8) {
		n := int(size%64) + 1
		whole := feed(t, [][]byte{client}, [][]byte{server})
		cut := feed(t, split(client, n), split(server, n))
		if !bytes.Equal([]byte(strings.Join(whole, "\n")), []byte(strings.Join(cut, "\n"))) {
			t.Fatalf("cut in %d-byte pieces:\n%s\nwhole:\n%s", n, strings.Join(cut, "\n"), strings.Join(whole, "\n"))
		}
	})
}

// FuzzUDP: any datagram, never a panic.
func FuzzUDP(f *testing.F) {
	f.Add(udpcast.Header{Seq: 1}.AppendTo(nil))
	f.Add([]byte("WDUP\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p capture.Packet
		UDP(b, &p, 0)
	})
}
