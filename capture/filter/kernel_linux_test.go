//go:build linux

package filter

import (
	"net"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/ipv4"
)

// TestKernelAcceptsPrograms attaches every program of the agreement table
// (Ethernet) to a UDP socket with SO_ATTACH_FILTER: the kernel's classic
// BPF checker must accept what RawInstructions produces. No privileges
// are needed for this.
func TestKernelAcceptsPrograms(t *testing.T) {
	t.Parallel()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc := ipv4.NewPacketConn(c)
	n := 0
	for _, cf := range captureFiles {
		if cf.link != layers.LinkTypeEthernet && cf.link != layers.LinkTypeLinuxSLL2 {
			continue // the kernel sees Ethernet; SLL2 for the other offsets
		}
		for _, expr := range agreeExprs {
			prog, err := cachedCompile(expr, cf.link)
			if err != nil {
				continue
			}
			raw, err := prog.RawInstructions()
			if err != nil {
				t.Fatalf("%q: %v", expr, err)
			}
			if err := pc.SetBPF(raw); err != nil {
				t.Fatalf("%q (%s): the kernel refuses the program: %v\n%s", expr, cf.name, err, prog.Dump())
			}
			n++
		}
	}
	t.Logf("the kernel accepted %d programs", n)
}
