package analysis

import (
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"

	"github.com/wiredojo/wiredojo/capture"
)

type convKey struct {
	proto capture.Proto
	a, b  netip.AddrPort
}

type conv struct {
	key            convKey
	stream         int
	pktsAB, pktsBA int
	bytesAB        int
	bytesBA        int
	order          int
}

type endpoint struct {
	addr           capture.Addr
	txPkts, rxPkts int
	txBytes        int
	rxBytes        int
}

type phsNode struct {
	name     string
	frames   int
	bytes    int
	children []*phsNode
}

func (n *phsNode) child(name string) *phsNode {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	c := &phsNode{name: name}
	n.children = append(n.children, c)
	return c
}

// Stats accumulates conversations, endpoints and the protocol hierarchy.
// Add every packet, then Write. Not safe for concurrent use.
type Stats struct {
	packets, bytes int
	convs          map[convKey]*conv
	eps            map[capture.Addr]*endpoint
	root           phsNode
}

// NewStats returns empty statistics.
func NewStats() *Stats {
	return &Stats{convs: make(map[convKey]*conv), eps: make(map[capture.Addr]*endpoint)}
}

// Add counts one packet.
func (s *Stats) Add(p *capture.Packet) {
	s.packets++
	s.bytes += p.WireLen
	node := &s.root
	var seen [32]bool // protocols already on this packet's chain
	var ip *capture.Layer
	for i := range p.Layers {
		l := &p.Layers[i]
		if int(l.Proto) < len(seen) && !seen[l.Proto] {
			seen[l.Proto] = true
			node = node.child(l.Proto.String())
			node.frames++
			node.bytes += p.WireLen
		}
		switch l.Proto {
		case capture.ProtoIPv4, capture.ProtoIPv6:
			ip = l
			s.conv(capture.ProtoIPv4, netip.AddrPortFrom(l.SrcIP, 0), netip.AddrPortFrom(l.DstIP, 0), -1, p.WireLen)
			s.endpoint(l.SrcIP, true, p.WireLen)
			s.endpoint(l.DstIP, false, p.WireLen)
		case capture.ProtoTCP, capture.ProtoUDP:
			if ip != nil {
				st := -1
				if l.Proto == capture.ProtoTCP {
					st = l.Stream
				}
				s.conv(l.Proto, netip.AddrPortFrom(ip.SrcIP, l.SrcPort), netip.AddrPortFrom(ip.DstIP, l.DstPort), st, p.WireLen)
			}
		}
	}
}

func (s *Stats) conv(proto capture.Proto, src, dst netip.AddrPort, stream, n int) {
	k := convKey{proto, src, dst}
	ab := true
	if c := s.convs[k]; c == nil {
		if c2 := s.convs[convKey{proto, dst, src}]; c2 != nil {
			k, ab = c2.key, false
		}
	}
	c := s.convs[k]
	if c == nil {
		c = &conv{key: k, stream: stream, order: len(s.convs)}
		s.convs[k] = c
	}
	if ab {
		c.pktsAB++
		c.bytesAB += n
	} else {
		c.pktsBA++
		c.bytesBA += n
	}
}

func (s *Stats) endpoint(a capture.Addr, tx bool, n int) {
	e := s.eps[a]
	if e == nil {
		e = &endpoint{addr: a}
		s.eps[a] = e
	}
	if tx {
		e.txPkts++
		e.txBytes += n
	} else {
		e.rxPkts++
		e.rxBytes += n
	}
}

// Write prints the statistics as three tables.
func (s *Stats) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d packets, %d bytes\n\nProtocol hierarchy (frames, bytes)\n", s.packets, s.bytes)
	var walk func(n *phsNode, depth int)
	walk = func(n *phsNode, depth int) {
		for _, c := range n.children {
			name := strings.Repeat("  ", depth) + c.name
			pct := 0.0
			if s.packets > 0 {
				pct = 100 * float64(c.frames) / float64(s.packets)
			}
			fmt.Fprintf(&b, "  %-32s %8d %10d  %5.1f%%\n", name, c.frames, c.bytes, pct)
			walk(c, depth+1)
		}
	}
	walk(&s.root, 0)

	convs := make([]*conv, 0, len(s.convs))
	for _, c := range s.convs {
		convs = append(convs, c)
	}
	sort.Slice(convs, func(i, j int) bool {
		if convs[i].key.proto != convs[j].key.proto {
			return convs[i].key.proto < convs[j].key.proto
		}
		return convs[i].order < convs[j].order
	})
	b.WriteString("\nConversations\n")
	fmt.Fprintf(&b, "  %-5s %-6s %-44s %8s %10s %8s %10s\n", "proto", "stream", "A <-> B", "pkts A>B", "bytes A>B", "pkts B>A", "bytes B>A")
	for _, c := range convs {
		name := "IP"
		ends := c.key.a.Addr().String() + " <-> " + c.key.b.Addr().String()
		if c.key.proto != capture.ProtoIPv4 {
			name = c.key.proto.String()
			ends = c.key.a.String() + " <-> " + c.key.b.String()
		}
		st := "-"
		if c.stream >= 0 {
			st = fmt.Sprint(c.stream)
		}
		fmt.Fprintf(&b, "  %-5s %-6s %-44s %8d %10d %8d %10d\n", name, st, ends, c.pktsAB, c.bytesAB, c.pktsBA, c.bytesBA)
	}

	eps := make([]*endpoint, 0, len(s.eps))
	for _, e := range s.eps {
		eps = append(eps, e)
	}
	sort.Slice(eps, func(i, j int) bool { return eps[i].addr.Less(eps[j].addr) })
	b.WriteString("\nEndpoints (IP)\n")
	fmt.Fprintf(&b, "  %-40s %8s %10s %8s %10s\n", "address", "tx pkts", "tx bytes", "rx pkts", "rx bytes")
	for _, e := range eps {
		fmt.Fprintf(&b, "  %-40s %8d %10d %8d %10d\n", e.addr, e.txPkts, e.txBytes, e.rxPkts, e.rxBytes)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
