package filter

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"

	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

// longOr joins n primitives made by f with "or".
func longOr(n int, f func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = f(i)
	}
	return strings.Join(parts, " or ")
}

func init() {
	// long programs: conditional jumps farther than 255 instructions
	agreeExprs = append(agreeExprs,
		longOr(60, func(i int) string { return fmt.Sprintf("host 10.0.%d.%d", i%3, i) }),
		longOr(40, func(i int) string { return fmt.Sprintf("port %d", 7000+i*3) })+" or icmp6",
		"tcp and ("+longOr(50, func(i int) string { return fmt.Sprintf("tcp[0:2] = %d", 30000+i*5) })+")",
	)
}

// errorCases are expressions that must not compile: where the error
// points and what it says. tcpdump must reject them too unless noTcpdump.
var errorCases = []struct {
	expr      string
	col       int
	msg       string
	noTcpdump bool // tcpdump accepts it (names we do not resolve)
}{
	{"tcp port", 9, "expected an address", false},
	{"host 10.0.0.1 and", 18, "expected a primitive", false},
	{"tcp prt 80", 5, `unexpected "prt"; expected and, or, or the end (did you mean "port"?)`, false},
	{"hots 10.0.0.1", 1, `unknown keyword "hots" (did you mean "host"?)`, false},
	{"port 70000", 6, "illegal port number", false},
	{"ip[0:3] = 1", 6, "data size must be 1, 2, or 4", false},
	{"(tcp or udp", 12, `expected ")"`, false},
	{"tcp or udp)", 11, "unexpected", false},
	{"net 10.1.2.3/8", 5, "non-network bits", false},
	{"host 10.0.0.0/8", 6, "networks only", false},
	{"ip6 host 10.0.0.1", 10, "'ip6' modifier", false},
	{"ip host ::1", 9, "'ip' modifier", false},
	{"udp port http", 10, "port 'http' is tcp", false},
	{"ip port 80", 9, "illegal qualifier of 'port'", false},
	{"ether host 10.0.0.1", 12, "illegal link layer address", false},
	{"host 01:02:03:04:05:06", 6, "non-Ethernet", false},
	{"tcp[tcpflags] & tcp-syn", 24, "expected a comparison", false},
	{"ip[0] / 0 = 1", 7, "division by zero", false},
	{"ip[0] % 0 = 1", 7, "modulus by zero", false},
	{"ip[0] % ip[0] = 1", 7, "modulus by zero", false},
	{"ip[0] / (0 + 5) = 1", 7, "division by zero", false},
	{"ip[0] >> 32 = 1", 7, "shift by more than 31 bits", false},
	{"ip[0] >> tcp[40] = 1", 7, "shift by more than 31 bits", false},
	{"ip[0] << (40 - 10) = 1", 7, "shift by more than 31 bits", false},
	{"foo[0] = 1", 1, "needs a qualifier", false},
	{"tcp[0] = bar", 10, "unknown name", false},
	{"port 80 $ 1", 9, "unexpected character", false},
	{"tcp and é", 9, "unexpected character 'é'", false},
	{"ether proto 0xe0", 13, "IPX/AppleTalk", true},
	{"net 10.0.0.0/33", 14, "mask length", false},
	{"ip6 net 2001:db8::1/32", 9, "non-network bits", false},
	{"len > 0x1ffffffff", 7, "does not fit in 32 bits", false},
	{"proto \\nosuchproto", 7, "unknown IP protocol", false},
	{"ether proto \\nosuch", 13, "unknown Ethernet protocol", false},
	{"port nosuchservice", 6, "unknown port", false},
	{"and tcp", 1, "needs a primitive on its left", false},
	{"host localhost", 6, "host names are not resolved", true},
	{"net loopback", 5, "network names are not resolved", true},
	{"vlan 5000", 1, "greater than maximum 4095", false},
	{"mpls 100", 1, "not supported", true},
	{"gateway 10.0.0.1", 1, "'gateway' is not supported", true},
}

func TestSyntaxErrors(t *testing.T) {
	t.Parallel()
	tcpdump := testdep.Require(t, "tcpdump", "apt-get install tcpdump")
	for _, tc := range errorCases {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := Compile(tc.expr, layers.LinkTypeEthernet, 0)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) = %v, want a *SyntaxError", tc.expr, err)
			}
			if se.Col != tc.col || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("Compile(%q): column %d %q, want column %d containing %q", tc.expr, se.Col, se.Msg, tc.col, tc.msg)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "filter: column ") || strings.Index(lines[2], "^") != tc.col+1 {
				t.Errorf("error text does not point at column %d:\n%s", tc.col, err)
			}
			if tc.noTcpdump {
				return
			}
			out, terr := exec.Command(tcpdump, "-d", "-r", "testdata/ether.pcap", "--", tc.expr).CombinedOutput()
			if terr == nil {
				t.Errorf("tcpdump accepts %q but we reject it:\n%s", tc.expr, out)
			}
		})
	}
}

func TestLinkTypes(t *testing.T) {
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6} {
		if _, err := Compile("tcp port 80", lt, 0); err != nil {
			t.Errorf("%v: %v", lt, err)
		}
	}
	if _, err := Compile("tcp", layers.LinkTypeIEEE802_11, 0); !errors.Is(err, ErrLinkType) {
		t.Errorf("802.11: err = %v, want ErrLinkType", err)
	}
}

// TestDumpLikeTcpdump compares Dump with tcpdump -d for programs where our
// code generator emits the same instructions as libpcap's optimizer.
func TestDumpLikeTcpdump(t *testing.T) {
	tcpdump := testdep.Require(t, "tcpdump", "apt-get install tcpdump")
	for _, expr := range []string{
		"ip", "arp", "ip proto 6", "ip[2:2] > 100", "len >= 100", "ether multicast", "ether broadcast",
		"tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn", "icmp[icmptype]==icmp-echo", "icmp6[icmp6type]=128",
		"ether host 01:02:03:04:05:06", "ether proto 0x800", "ip6 multicast", "ip multicast",
	} {
		prog, err := Compile(expr, layers.LinkTypeEthernet, 262144)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		out, err := exec.Command(tcpdump, "-d", "-r", "testdata/ether.pcap", "--", expr).Output()
		if err != nil {
			t.Fatalf("tcpdump -d %q: %v", expr, err)
		}
		if got := prog.Dump(); got != string(out) {
			t.Errorf("%q:\nours:\n%s\ntcpdump -d:\n%s", expr, got, out)
		}
	}
}

func TestDumpFormat(t *testing.T) {
	p := &Program{ins: []bpf.Instruction{
		bpf.LoadConstant{Dst: bpf.RegX, Val: 3},
		bpf.LoadScratch{Dst: bpf.RegX, N: 2},
		bpf.StoreScratch{Src: bpf.RegX, N: 1},
		bpf.LoadExtension{Num: bpf.ExtLen},
		bpf.ALUOpX{Op: bpf.ALUOpMod},
		bpf.NegateA{},
		bpf.TXA{},
		bpf.JumpIfX{Cond: bpf.JumpGreaterOrEqual, SkipTrue: 1},
		bpf.Jump{Skip: 1},
		bpf.RetA{},
		bpf.RetConstant{Val: 65535},
	}}
	want := "(000) ldx      #0x3\n(001) ldx      M[2]\n(002) stx      M[1]\n(003) ld       #pktlen\n" +
		"(004) mod      x\n(005) neg      \n(006) txa      \n(007) jge      x                jt 9\tjf 8\n" +
		"(008) ja       10\n(009) ret      a\n(010) ret      #65535\n"
	if got := p.Dump(); got != want {
		t.Errorf("Dump:\n%s\nwant:\n%s", got, want)
	}
}

// TestLongProgram checks conditional jumps beyond 255 instructions go
// through trampolines, and that oversized programs are refused.
func TestLongProgram(t *testing.T) {
	t.Parallel()
	expr := longOr(80, func(i int) string { return fmt.Sprintf("host 10.0.0.%d", i) })
	prog, err := Compile(expr, layers.LinkTypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog.Instructions()) < 300 {
		t.Fatalf("only %d instructions; the test needs a long program", len(prog.Instructions()))
	}
	if _, err := prog.RawInstructions(); err != nil {
		t.Fatal(err)
	}
	huge := longOr(900, func(i int) string { return fmt.Sprintf("host 10.%d.%d.%d", i/200, i%200, i%7) })
	if _, err := Compile(huge, layers.LinkTypeEthernet, 0); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("a program of 900 hosts: err = %v, want too long", err)
	}
}

func TestEmptyMatchesAll(t *testing.T) {
	for _, expr := range []string{"", "   "} {
		prog, err := Compile(expr, layers.LinkTypeEthernet, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(prog.Instructions()) != 1 || !prog.Match(nil) || !prog.Match([]byte{1}) {
			t.Errorf("%q: %s", expr, prog.Dump())
		}
	}
}

func TestMatchAllocs(t *testing.T) {
	prog, err := Compile("tcp port 7070 and tcp[tcpflags] & tcp-syn != 0 or udp[8:4] = 0x61626364", layers.LinkTypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	pkts, _, _ := readCapture(t, "testdata/ether.pcap")
	n := testing.AllocsPerRun(10, func() {
		for _, p := range pkts {
			prog.Match(p)
		}
	})
	if n != 0 {
		t.Errorf("Match allocates %.1f times per capture", n)
	}
}

// TestOptimizerKeepsResults compares every agreement expression compiled
// with and without the data-flow optimizer on the capture packets, on
// their truncations (loads out of bounds) and on random bytes.
func TestOptimizerKeepsResults(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	before, after := 0, 0
	for _, cf := range captureFiles {
		if cf.name == "sll.pcap" || cf.name == "raw.pcap" {
			continue // like sll2 and null but for offsets; keep the test quick
		}
		pkts, _, link := readCapture(t, filepath.Join("testdata", cf.name))
		var inputs [][]byte
		for i, p := range pkts {
			if len(pkts) > 60 && i%4 != 0 {
				continue // a sample of the big Ethernet capture
			}
			inputs = append(inputs, p, p[:len(p)/2], p[:min(len(p), 20+rng.IntN(40))])
			r := append([]byte(nil), p...)
			for i := 0; i < 4; i++ {
				r[rng.IntN(len(r))] = byte(rng.Uint32())
			}
			inputs = append(inputs, r)
		}
		for _, expr := range agreeExprs {
			opt, err1 := cachedCompile(expr, link)
			plain, err2 := compile(expr, link, 0, false)
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("%q: errors differ: %v / %v", expr, err1, err2)
			}
			if err1 != nil {
				continue
			}
			before += len(plain.Instructions())
			after += len(opt.Instructions())
			for _, in := range inputs {
				// The wire-length interpreter must agree with x/net/bpf's
				// VM when nothing was cut.
				if w := runWire(opt.raw, in, uint32(len(in))) > 0; w != opt.Match(in) {
					t.Fatalf("%q on %s: runWire %v, bpf.VM %v on % x\n%s", expr, cf.name, w, opt.Match(in), in, opt.Dump())
				}
				if opt.Match(in) != plain.Match(in) {
					t.Fatalf("%q on %s: optimized %v, plain %v on % x\noptimized:\n%s\nplain:\n%s",
						expr, cf.name, opt.Match(in), plain.Match(in), in, opt.Dump(), plain.Dump())
				}
			}
		}
	}
	t.Logf("instructions: %d without the data-flow optimizer, %d with it", before, after)
}

// TestMatchWireLength: on a packet the snapshot length cut, "len",
// "greater" and "less" see the length on the wire, loads stop at the
// captured bytes.
func TestMatchWireLength(t *testing.T) {
	pkts, _, link := readCapture(t, "testdata/ether.pcap")
	var p []byte
	for _, x := range pkts {
		if len(x) > 60 {
			p = x[:54]
			break
		}
	}
	if p == nil {
		t.Fatal("no packet longer than 60 bytes in testdata/ether.pcap")
	}
	for _, c := range []struct {
		expr      string
		cut, wire bool // result on the cut bytes alone, and with the wire length 1000
	}{
		{"len > 500", false, true},
		{"greater 500", false, true},
		{"less 100", true, false},
		{"len = 1000", false, true},
		{"ether[100] = 0", false, false}, // past the captured bytes: no match
		{"len = 1000 or ether[100] = 0", false, true},
	} {
		prog, err := Compile(c.expr, link, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := prog.Match(p); got != c.cut {
			t.Errorf("%q Match = %v, want %v", c.expr, got, c.cut)
		}
		if got := prog.MatchWire(p, 1000); got != c.wire {
			t.Errorf("%q MatchWire(len 1000) = %v, want %v", c.expr, got, c.wire)
		}
		if got := prog.MatchWire(p, len(p)); got != c.cut {
			t.Errorf("%q MatchWire(len %d) = %v, want %v", c.expr, len(p), got, c.cut)
		}
	}
}

// TestMatchConcurrent runs one program from several goroutines (under
// -race) and checks they all see the same results.
func TestMatchConcurrent(t *testing.T) {
	t.Parallel()
	prog, err := Compile("tcp port 7070 or udp or icmp6[0] = 128", layers.LinkTypeEthernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	pkts, _, _ := readCapture(t, "testdata/ether.pcap")
	want := 0
	for _, p := range pkts {
		if prog.Match(p) {
			want++
		}
	}
	results := make(chan int, 4)
	for g := 0; g < 4; g++ {
		go func() {
			n := 0
			for _, p := range pkts {
				if prog.Match(p) {
					n++
				}
			}
			results <- n
		}()
	}
	for g := 0; g < 4; g++ {
		if got := testkit.Recv(t, 30*time.Second, "a goroutine's count", results); got != want {
			t.Errorf("a goroutine matched %d packets, want %d", got, want)
		}
	}
}
