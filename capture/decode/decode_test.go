package decode

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

var (
	cliIP = net.IPv4(10, 0, 0, 1).To4()
	srvIP = net.IPv4(10, 0, 0, 2).To4()
)

const cliPort, srvPort = 40000, 7070

// seg builds an Ethernet/IPv4/TCP packet. fromClient picks the direction.
func seg(t testing.TB, fromClient bool, seq, ack uint32, flags string, win uint16, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cliIP, DstIP: srvIP}
	tcp := &layers.TCP{SrcPort: cliPort, DstPort: srvPort, Seq: seq, Ack: ack, Window: win}
	if !fromClient {
		ip.SrcIP, ip.DstIP = srvIP, cliIP
		tcp.SrcPort, tcp.DstPort = srvPort, cliPort
	}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		case 'P':
			tcp.PSH = true
		}
	}
	tcp.SetNetworkLayerForChecksum(ip)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func wsFrame(op ws.OpCode, masked bool, payload []byte) []byte {
	h := ws.Header{Fin: true, OpCode: op, Masked: masked, Mask: [4]byte{1, 2, 3, 4}}
	return ws.AppendFrame(nil, h, payload)
}

func protos(p *capture.Packet) []capture.Proto {
	var out []capture.Proto
	for _, l := range p.Layers {
		out = append(out, l.Proto)
	}
	return out
}

func hasNote(p *capture.Packet, n capture.Note) bool {
	for _, x := range p.Notes {
		if x == n {
			return true
		}
	}
	return false
}

func count(p *capture.Packet, proto capture.Proto) int {
	n := 0
	for _, l := range p.Layers {
		if l.Proto == proto {
			n++
		}
	}
	return n
}

// TestTCPStream: an upgrade, WebSocket frames out of order, a
// retransmission, duplicate ACKs, a zero window and a reset, each noted on
// its packet, and the application PDUs on the packet that completes them.
func TestTCPStream(t *testing.T) {
	req := []byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	resp := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
	ev := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: []byte(`["hi"]`)}
	frames := append(wsFrame(ws.OpBinary, true, ev.AppendTo(nil)), wsFrame(ws.OpText, true, []byte("hello"))...)
	c0, s0 := uint32(1000), uint32(5000)
	c1 := c0 + 1 + uint32(len(req)) // client seq after the request
	s1 := s0 + 1 + uint32(len(resp))
	half := 7
	type step struct {
		data  []byte
		notes []capture.Note
		app   []capture.Proto // application layers expected
	}
	steps := []step{
		{seg(t, true, c0, 0, "S", 65535, nil), nil, nil},
		{seg(t, false, s0, c0+1, "SA", 65535, nil), nil, nil},
		{seg(t, true, c0+1, s0+1, "A", 512, nil), nil, nil},
		{seg(t, true, c0+1, s0+1, "PA", 512, req), nil, []capture.Proto{capture.ProtoHTTP}},
		{seg(t, false, s0+1, c1, "PA", 512, resp), nil, []capture.Proto{capture.ProtoHTTP}},
		// the second part of the frames first: a hole
		{seg(t, true, c1+uint32(half), s1, "PA", 512, frames[half:]), []capture.Note{capture.NoteLostSegment}, nil},
		// then the first part: it fills the hole, both frames complete here
		{seg(t, true, c1, s1, "PA", 512, frames[:half]), []capture.Note{capture.NoteOutOfOrder},
			[]capture.Proto{capture.ProtoWebSocket, capture.ProtoEvent, capture.ProtoWebSocket}},
		// sent again: a retransmission, decoded nothing new
		{seg(t, true, c1, s1, "PA", 512, frames[:half]), []capture.Note{capture.NoteRetransmission}, nil},
		{seg(t, false, s1, c1+uint32(len(frames)), "A", 512, nil), nil, nil},
		{seg(t, false, s1, c1+uint32(len(frames)), "A", 512, nil), []capture.Note{capture.NoteDupAck}, nil},
		{seg(t, false, s1, c1+uint32(len(frames)), "A", 0, nil), []capture.Note{capture.NoteZeroWindow}, nil},
		{seg(t, true, c1+uint32(len(frames)), 0, "R", 0, nil), []capture.Note{capture.NoteReset}, nil},
	}
	d := New(Options{})
	var p capture.Packet
	for i, s := range steps {
		d.Decode(s.data, layers.LinkTypeEthernet, &p)
		if p.Err != "" {
			t.Fatalf("packet %d: %s", i+1, p.Err)
		}
		for _, n := range s.notes {
			if !hasNote(&p, n) {
				t.Errorf("packet %d: notes %v, want %v", i+1, p.Notes, n)
			}
		}
		if len(s.notes) == 0 && len(p.Notes) > 0 {
			t.Errorf("packet %d: unexpected notes %v", i+1, p.Notes)
		}
		got := protos(&p)[3:]
		if len(got) != len(s.app) {
			t.Fatalf("packet %d: application layers %v, want %v", i+1, got, s.app)
		}
		for j := range got {
			if got[j] != s.app[j] {
				t.Fatalf("packet %d: application layers %v, want %v", i+1, got, s.app)
			}
		}
		tcp := p.Find(capture.ProtoTCP)
		if tcp.Stream != 0 {
			t.Errorf("packet %d: stream %d", i+1, tcp.Stream)
		}
		if i == 6 {
			if rel := tcp.RelSeq; rel != 1+uint32(len(req)) {
				t.Errorf("relative seq %d, want %d", rel, 1+len(req))
			}
			w := p.Find(capture.ProtoWebSocket)
			if !w.Masked || w.Opcode != 2 || !w.Fin {
				t.Errorf("websocket layer %+v", w)
			}
			e := p.Find(capture.ProtoEvent)
			if e.Namespace != "/chat" || e.Name != "message" || string(e.Payload) != `["hi"]` {
				t.Errorf("event layer: ns %q name %q args %q", e.Namespace, e.Name, e.Payload)
			}
			last := p.Layers[len(p.Layers)-1]
			if string(last.Payload) != "hello" {
				t.Errorf("text frame payload %q, want it unmasked: hello", last.Payload)
			}
			// The frames' bytes in this packet are inside its TCP payload.
			if w.Start < tcp.Start || last.End > len(p.Data) || w.End <= w.Start {
				t.Errorf("spans: ws [%d,%d) tcp [%d,%d) packet %d", w.Start, w.End, tcp.Start, tcp.End, len(p.Data))
			}
		}
	}
}

// TestIPv4Fragments: the datagram's UDP layer appears on the fragment
// that completes it, whatever the order of arrival.
func TestIPv4Fragments(t *testing.T) {
	payload := make([]byte, 3000)
	udp := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:], 5000)
	binary.BigEndian.PutUint16(udp[2:], 53)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], payload)
	frag := func(off int, data []byte, more bool) []byte {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: cliIP, DstIP: srvIP, Id: 77, FragOffset: uint16(off / 8)}
		if more {
			ip.Flags = layers.IPv4MoreFragments
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ip, gopacket.Payload(data)); err != nil {
			t.Fatal(err)
		}
		return append([]byte(nil), buf.Bytes()...)
	}
	f1, f2, f3 := frag(0, udp[:1480], true), frag(1480, udp[1480:2960], true), frag(2960, udp[2960:], false)
	for _, order := range [][]int{{0, 1, 2}, {2, 0, 1}, {1, 2, 0}} {
		d := New(Options{})
		var p capture.Packet
		fr := [][]byte{f1, f2, f3}
		for i, k := range order {
			d.Decode(fr[k], layers.LinkTypeRaw, &p)
			u := p.Find(capture.ProtoUDP)
			if (u != nil) != (i == 2) {
				t.Fatalf("order %v: UDP on arrival %d: %v", order, i+1, u != nil)
			}
			if u != nil && (u.Len != len(udp) || u.PayloadLen != len(payload)) {
				t.Fatalf("reassembled UDP len %d payload %d", u.Len, u.PayloadLen)
			}
			ip := p.Find(capture.ProtoIPv4)
			if int(ip.FragOffset) != []int{0, 1480, 2960}[k] {
				t.Fatalf("frag_offset %d", ip.FragOffset)
			}
		}
	}
}

// TestBadPackets: truncated or garbage bytes never panic.
func TestBadPackets(t *testing.T) {
	good := seg(t, true, 1, 1, "PA", 10, []byte("GET / HTTP/1.1\r\n\r\n"))
	d := New(Options{})
	var p capture.Packet
	for n := 0; n <= len(good); n++ {
		for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeNull, layers.LinkTypeRaw} {
			d.Decode(good[:n], lt, &p)
		}
	}
}

// wsStream returns client packets of one connection carrying WebSocket
// frames with event packets, after its handshake; rewind shifts them
// forward in sequence space so they can be decoded again as new data.
type wsStream struct {
	setup [][]byte
	data  [][]byte
	span  uint32
}

func newWSStream(t testing.TB, n int) *wsStream {
	req := []byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	resp := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	s := &wsStream{setup: [][]byte{
		seg(t, true, 0, 0, "S", 65535, nil),
		seg(t, false, 0, 1, "SA", 65535, nil),
		seg(t, true, 1, 1, "PA", 512, req),
		seg(t, false, 1, 1+uint32(len(req)), "PA", 512, resp),
	}}
	seq := 1 + uint32(len(req))
	ev := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: []byte(`["hello, room"]`)}
	f := wsFrame(ws.OpBinary, true, ev.AppendTo(nil))
	for i := 0; i < n; i++ {
		s.data = append(s.data, seg(t, true, seq, 1+uint32(len(resp)), "PA", 512, f))
		seq += uint32(len(f))
	}
	s.span = seq - (1 + uint32(len(req)))
	return s
}

func (s *wsStream) rewind() {
	for _, p := range s.data {
		o := 14 + 20 + 4
		binary.BigEndian.PutUint32(p[o:], binary.BigEndian.Uint32(p[o:])+s.span)
	}
}

// TestDecodeAllocs: decoding link to application layers, with reassembly,
// allocates nothing per packet once warm.
func TestDecodeAllocs(t *testing.T) {
	s := newWSStream(t, 64)
	d := New(Options{})
	var p capture.Packet
	for _, b := range s.setup {
		d.Decode(b, layers.LinkTypeEthernet, &p)
	}
	for _, b := range s.data {
		d.Decode(b, layers.LinkTypeEthernet, &p)
	}
	if count(&p, capture.ProtoEvent) != 1 {
		t.Fatalf("layers %v, want the WebSocket frame's event", protos(&p))
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		if i == len(s.data) {
			s.rewind()
			i = 0
		}
		d.Decode(s.data[i], layers.LinkTypeEthernet, &p)
		i++
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per packet, want 0", allocs)
	}
}

func BenchmarkDecode(b *testing.B) {
	b.Run("websocket-events", func(b *testing.B) {
		s := newWSStream(b, 1024)
		d := New(Options{})
		var p capture.Packet
		for _, x := range s.setup {
			d.Decode(x, layers.LinkTypeEthernet, &p)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			k := i % len(s.data)
			if k == 0 && i > 0 {
				s.rewind()
			}
			d.Decode(s.data[k], layers.LinkTypeEthernet, &p)
		}
	})
	b.Run("no-reassembly", func(b *testing.B) {
		s := newWSStream(b, 1024)
		d := New(Options{NoReassembly: true})
		var p capture.Packet
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			d.Decode(s.data[i%len(s.data)], layers.LinkTypeEthernet, &p)
		}
	})
}

// FuzzDecode: any bytes as a packet of any supported link type, decoded in
// a sequence by one decoder (so streams and fragments carry state), never
// panic, and every layer's span lies inside the packet.
func FuzzDecode(f *testing.F) {
	f.Add(seg(f, true, 1, 0, "S", 100, nil), seg(f, true, 2, 0, "PA", 100, []byte("GET / HTTP/1.1\r\n\r\n")), uint8(0))
	s := newWSStream(f, 2)
	f.Add(s.setup[2], s.data[0], uint8(0))
	f.Add([]byte{0x45, 0, 0, 28, 0, 1, 0x20, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 53, 0, 53, 0, 8, 0, 0}, []byte{0x60}, uint8(4))
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2, layers.LinkTypeNull, layers.LinkTypeRaw, layers.LinkTypeLoop}
	f.Fuzz(func(t *testing.T, a, b []byte, link uint8) {
		lt := links[int(link)%len(links)]
		d := New(Options{OnStream: func(int, int, []byte) {}})
		var p capture.Packet
		for _, data := range [][]byte{a, b, a, b} {
			d.Decode(data, lt, &p)
			for _, l := range p.Layers {
				if l.Start < 0 || l.End < l.Start || l.End > len(data) {
					t.Fatalf("%v span [%d,%d) outside a %d-byte packet", l.Proto, l.Start, l.End, len(data))
				}
			}
		}
	})
}

// TestLostBytes: when the hole never fills, the queue's limit declares the
// bytes lost, the queued ones are delivered in order, and the application
// decoder stops (it cannot find its place again).
func TestLostBytes(t *testing.T) {
	var got []byte
	d := New(Options{OnStream: func(_, _ int, b []byte) { got = append(got, b...) }})
	var p capture.Packet
	d.Decode(seg(t, true, 0, 0, "S", 100, nil), layers.LinkTypeEthernet, &p)
	d.Decode(seg(t, true, 1, 0, "PA", 100, []byte("GET / HTTP/1.1\r\n")), layers.LinkTypeEthernet, &p)
	seq := uint32(1 + 16 + 100) // 100 bytes never arrive
	for i := 0; i <= maxOOOSegments; i++ {
		d.Decode(seg(t, true, seq, 0, "PA", 100, []byte{'a' + byte(i%26)}), layers.LinkTypeEthernet, &p)
		seq++
	}
	if want := 16 + maxOOOSegments + 1; len(got) != want {
		t.Fatalf("%d bytes delivered, want %d (the request line and every queued byte)", len(got), want)
	}
	if got[16] != 'a' || got[len(got)-1] != 'a'+byte(maxOOOSegments%26) {
		t.Fatalf("queued bytes out of order: %q", got[16:])
	}
}
