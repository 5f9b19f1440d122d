package filter

import (
	"errors"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

var fuzzLinks = []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
	layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6}

// FuzzCompile: no expression makes Compile panic; an error is a
// *SyntaxError pointing inside the expression; whatever compiles is a valid
// program that runs on any packet.
func FuzzCompile(f *testing.F) {
	pkts, _, _ := readCapture(f, "testdata/ether.pcap")
	for i, e := range agreeExprs {
		if len(e) < 200 {
			f.Add(e, uint8(i), pkts[i%len(pkts)])
		}
	}
	for i, c := range errorCases {
		f.Add(c.expr, uint8(i), []byte{})
	}
	f.Add("tcp[tcp[tcp[0]]:4] ^ -len % 3 << 2 >= ip6[1:2] / 7", uint8(0), []byte{0x45})
	f.Add("host fe80::1 or ::ffff:1.2.3.4 or 0:1:2:3:4:5", uint8(1), []byte{})
	f.Fuzz(func(t *testing.T, expr string, link uint8, pkt []byte) {
		if len(expr) > 4000 {
			return
		}
		lt := fuzzLinks[int(link)%len(fuzzLinks)]
		prog, err := Compile(expr, lt, 0)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q): %v is not a *SyntaxError", expr, err)
			}
			if se.Col < 1 || se.Col > len(expr)+1 {
				t.Fatalf("Compile(%q): column %d outside the expression", expr, se.Col)
			}
			_ = se.Error()
			return
		}
		if _, err := bpf.NewVM(prog.Instructions()); err != nil {
			t.Fatalf("Compile(%q): invalid program: %v", expr, err)
		}
		if len(prog.Instructions()) > maxInstructions {
			t.Fatalf("Compile(%q): %d instructions", expr, len(prog.Instructions()))
		}
		raw, err := prog.RawInstructions()
		if err != nil || len(raw) != len(prog.Instructions()) {
			t.Fatalf("Compile(%q): RawInstructions: %v", expr, err)
		}
		_ = prog.Dump()
		plain, err := compile(expr, lt, 0, false)
		if err != nil {
			t.Fatalf("Compile(%q) without the optimizer: %v", expr, err)
		}
		for _, p := range append([][]byte{pkt}, pkts[:8]...) {
			if prog.Match(p) != plain.Match(p) {
				t.Fatalf("Compile(%q): optimized and plain programs disagree on % x\n%s\n%s", expr, p, prog.Dump(), plain.Dump())
			}
		}
	})
}
