package analysis

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/capture/render"
)

type chunk struct {
	dir  int
	data []byte
}

type message struct {
	no   int
	dir  int
	text string
}

// Follow collects one TCP stream: its reassembled bytes (OnStream) and the
// application messages of its packets (Add).
type Follow struct {
	stream   int
	ends     [2]netip.AddrPort
	seen     bool
	chunks   []chunk
	messages []message
	bytes    [2]int
}

// NewFollow follows TCP stream n (0-based, as tshark's tcp.stream).
func NewFollow(n int) *Follow { return &Follow{stream: n} }

// OnStream is decode.Options.OnStream.
func (f *Follow) OnStream(stream, dir int, b []byte) {
	if stream != f.stream {
		return
	}
	f.bytes[dir] += len(b)
	if n := len(f.chunks); n > 0 && f.chunks[n-1].dir == dir {
		f.chunks[n-1].data = append(f.chunks[n-1].data, b...)
		return
	}
	f.chunks = append(f.chunks, chunk{dir: dir, data: append([]byte(nil), b...)})
}

// Add looks at a decoded packet for the stream's endpoints and messages.
func (f *Follow) Add(p *capture.Packet) {
	var ip, tcp *capture.Layer
	for i := range p.Layers {
		l := &p.Layers[i]
		switch l.Proto {
		case capture.ProtoIPv4, capture.ProtoIPv6:
			ip = l
		case capture.ProtoTCP:
			tcp = l
		}
	}
	if ip == nil || tcp == nil || tcp.Stream != f.stream {
		return
	}
	src := netip.AddrPortFrom(ip.SrcIP, tcp.SrcPort)
	if !f.seen {
		f.seen = true
		f.ends[0], f.ends[1] = src, netip.AddrPortFrom(ip.DstIP, tcp.DstPort)
	}
	dir := 0
	if src != f.ends[0] {
		dir = 1
	}
	for i := range p.Layers {
		l := &p.Layers[i]
		next := capture.ProtoUnknown
		if i+1 < len(p.Layers) {
			next = p.Layers[i+1].Proto
		}
		switch l.Proto {
		case capture.ProtoEvent, capture.ProtoHTTP, capture.ProtoTLS, capture.ProtoSocketIO:
			f.messages = append(f.messages, message{no: p.No, dir: dir, text: string(render.AppendSummary(nil, l))})
		case capture.ProtoWebSocket, capture.ProtoEngineIO:
			// A WebSocket frame carrying an event or an Engine.IO packet is
			// shown as what it carries; an Engine.IO MESSAGE carrying a
			// Socket.IO packet as that packet.
			if next == capture.ProtoEvent || next == capture.ProtoEngineIO || next == capture.ProtoSocketIO {
				continue
			}
			f.messages = append(f.messages, message{no: p.No, dir: dir, text: string(render.AppendSummary(nil, l))})
		}
	}
}

// ErrNoStream is returned by Follow.Write when the capture holds no TCP
// stream of the requested number.
var ErrNoStream = errors.New("analysis: no TCP stream")

// Write prints the stream: its messages when it carried HTTP, WebSocket,
// TLS, Engine.IO/Socket.IO or chat traffic, otherwise its bytes (printable ASCII, dots for the
// rest), each direction's turn in order.
func (f *Follow) Write(w io.Writer) error {
	if !f.seen {
		return fmt.Errorf("%w %d in this capture (streams are numbered from 0)", ErrNoStream, f.stream)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "=== TCP stream %d: %s <-> %s (%d bytes >, %d bytes <)\n", f.stream, f.ends[0], f.ends[1], f.bytes[0], f.bytes[1])
	arrow := [2]string{">", "<"}
	if len(f.messages) > 0 {
		for _, m := range f.messages {
			fmt.Fprintf(&b, "#%-6d %s %s %s\n", m.no, f.ends[m.dir], arrow[m.dir], m.text)
		}
	} else {
		for _, c := range f.chunks {
			fmt.Fprintf(&b, "%s %s %d bytes\n", arrow[c.dir], f.ends[c.dir], len(c.data))
			for _, x := range c.data {
				if x == '\n' || x == '\t' || (x >= 0x20 && x < 0x7f) {
					b.WriteByte(x)
				} else {
					b.WriteByte('.')
				}
			}
			if len(c.data) > 0 && c.data[len(c.data)-1] != '\n' {
				b.WriteByte('\n')
			}
		}
	}
	b.WriteString("===\n")
	_, err := io.WriteString(w, b.String())
	return err
}
