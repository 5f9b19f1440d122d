package filter

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// BenchmarkMatch runs filters over the Ethernet test capture; ns/op is per
// packet.
func BenchmarkMatch(b *testing.B) {
	pkts, _, _ := readCapture(b, "testdata/ether.pcap")
	for _, bc := range []struct{ name, expr string }{
		{"empty", ""},
		{"tcp", "tcp"},
		{"host", "host 10.0.0.1"},
		{"tcp-port", "tcp port 7070"},
		{"syn-flag", "tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn"},
		{"mixed", "(host 10.0.0.1 or net 192.168.0.0/16) and (tcp port 80 or udp portrange 5000-6000) or icmp6"},
		{"payload", "ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) != 0"},
	} {
		prog, err := Compile(bc.expr, layers.LinkTypeEthernet, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			matched := 0
			for i := 0; b.Loop(); i++ {
				if prog.Match(pkts[i%len(pkts)]) {
					matched++
				}
			}
			b.ReportMetric(float64(matched)/float64(b.N), "matched/op")
		})
	}
}

// BenchmarkCompile measures compiling a typical expression.
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("tcp port 7070 and tcp[tcpflags] & tcp-syn != 0 or host 2001:db8::1", layers.LinkTypeEthernet, 0); err != nil {
			b.Fatal(err)
		}
	}
}
