package filter

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/wiredojo/wiredojo/internal/testdep"
)

// agreeExprs must select exactly the packets tcpdump selects on every test
// capture (or fail to compile exactly where tcpdump fails, e.g. Ethernet
// addresses on a cooked capture).
var agreeExprs = []string{
	"",
	"ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6", "sctp", "igmp",
	"host 10.0.0.1", "src host 10.0.0.1", "dst host 10.0.0.2",
	"host 10.0.0.1 or 10.0.0.2", "host 10.0.0.1 and 10.0.0.2", "src 10.0.0.1 and dst 10.0.0.2",
	"src or dst host 192.168.1.10", "src and dst host ::1", "ip host 10.0.0.1", "arp host 10.0.0.1",
	"rarp src host 192.168.1.10", "host 2001:db8::1", "ip6 src host 2001:db8::2", "dst host ff02::fb",
	"net 10.0.0.0/8", "net 10.0.0.0/24", "src net 192.168.0.0/16", "dst net 172.16.0.0 mask 255.240.0.0",
	"net 10.1", "host 10.0", "net 10", "net 2001:db8::/32", "ip6 net 2001:db8:1::/48", "dst net ff00::/8",
	"port 80", "port 53", "tcp port 7070", "udp port 53", "src port 7070", "dst port 40000 or 40001",
	"port 80 or 443 or 22", "tcp dst port 80 and not src host 10.0.0.5", "portrange 7070-7072",
	"tcp portrange 1-1023", "udp src portrange 5000-6000", "port domain", "port http or https", "sctp port 80",
	"src and dst port 5353", "udp port 80", "tcp src or dst port 22",
	"ip proto 6", "ip proto \\udp", "ip6 proto 58", "proto \\tcp", "ip6 proto \\udp", "proto 17", "ip proto 2",
	"ether proto 0x806", "ether proto \\ip6", "ether proto \\ip", "ether proto 0x42", "ether proto 0xfe", "ether proto 4",
	"ether proto 1500 or ether proto 0x42 and ether[14] = 0x42",
	"ether host 02:00:00:00:00:0a", "ether src 02:00:00:00:00:0b", "ether dst ff:ff:ff:ff:ff:ff",
	"ether src 2:0:0:0:0:a and ether dst 2:0:0:0:0:b",
	"ether broadcast", "ether multicast", "broadcast", "multicast", "ip multicast", "ip6 multicast", "ip broadcast",
	"len > 100", "len <= 60", "less 80", "greater 200", "len = 54 or len = 74",
	"tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
	"tcp[tcpflags] & (tcp-syn|tcp-ack) = (tcp-syn|tcp-ack)", "tcp[13] & 0x11 != 0",
	"tcp[tcpflags] & tcp-rst != 0 or tcp[tcpflags] & tcp-fin != 0", "tcp[tcpflags] == tcp-push|tcp-ack",
	"tcp[tcpflags] & (tcp-ece|tcp-cwr) != 0", "tcp[tcpflags] & tcp-urg != 0 and tcp[tcpflags] & tcp-fin != 0",
	"tcp[tcpflags] & tcp-ack = 0", "tcp[tcpflags] < 8", "tcp[tcpflags] >= 0xc0",
	"icmp[icmptype] == icmp-echo", "icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply",
	"icmp[icmpcode] = 3", "icmp[0] = icmp-timxceed", "icmp6[icmp6type] = icmp6-echo", "icmp6[0] = 135",
	"icmp6[icmp6type] == icmp6-echoreply",
	"ip[2:2] > 100", "ip[0] & 0xf > 5", "ip[6:2] & 0x1fff != 0", "ip[6] & 0x20 != 0", "ip6[6] = 17",
	"udp[4:2] - 8 > 20", "tcp[12] >> 4 > 5", "(tcp[12] & 0xf0) >> 2 = 20", "tcp[(tcp[12] >> 2):4] = 0x61626364",
	"ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) != 0", "udp[8:4] = 0x61626364",
	"ether[0] & 1 != 0", "link[12:2] = 0x800", "arp[6:2] = 1", "len - 14 >= 40 + 1 * 2 % 3",
	"ip[0] ^ ip[1] | ip[2] = 69", "ip[8] * 2 / 4 + 1 = 33", "-ip[8] = 0xffffffc0", "ip[8] % 7 = 1",
	"tcp[0:2] > 40000", "ip[1] = 0 and len >= 60", "udp[0:2] = udp[2:2]", "tcp[2:2] - tcp[0:2] < 100",
	"ip[16] >= 224 and ip[19] & 1 = 1", "tcp[tcp[12] >> 2] = 0x61", "ip6[40] = 17",
	"not tcp", "not (tcp or udp)", "!tcp && !udp || arp", "tcp or udp and not port 53",
	"not host 10.0.0.1 and not ip6", "(host 10.0.0.1 or host 10.0.0.2) and (port 7070 or icmp)",
	"host 10.0.0.1 and not 10.0.0.2", "port 7070 and (40000 or 40001)", "tcp and (port 80 or 443)",
	"ip and not ip6", "(ip[0]) & 0xf = 6", "tcp port 80 and tcp[tcpflags] & tcp-syn != 0",
	"ip[9] = 17 and ip[6:2] & 0x3fff != 0", "udp and ip6", "host 10.0.0.1 && port 53 || icmp",
	"not not ip", "! (ip6 or arp) and not icmp", "tcp port (80 or 443)", "host (10.0.0.1 or 10.0.0.53) and udp",
	"dst port 53 and not src net 10.0.0.0/30",
	"vlan", "vlan 100", "vlan and tcp port 80", "vlan 100 and tcp port 80", "vlan and vlan 3", "not vlan and tcp",
	"vlan 200 and udp", "vlan and host 10.0.0.1", "tcp port 80 or vlan and udp", "vlan and ip6", "vlan and arp",
	"vlan 100 and ether src 02:00:00:00:00:0a",
	"inbound", "outbound", "outbound and tcp", "inbound or icmp",
	"(host 10.0.0.1) or 10.0.0.2", "host 10.0.0.1 and (port 53) or 10.0.0.53", "tcp port 80 and not 443 or (22)",
	"host 10.0.0.1 and not (10.0.0.2 or 10.0.0.53)", "port 53 and (host 10.0.0.1 or 10.0.0.53) or 7070",
}

// tcpdumpRun is one tcpdump run: its pcap output, or its error text.
type tcpdumpRun struct {
	out    []byte
	errMsg string
}

// runTcpdump runs tcpdump with expr on the capture.
func runTcpdump(tcpdump, path, expr string) tcpdumpRun {
	args := []string{"-r", path, "-w", "-"}
	if expr != "" {
		args = append(args, "--", expr)
	}
	cmd := exec.Command(tcpdump, args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(stderr.String(), "expression rejects all packets") {
			return tcpdumpRun{}
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return tcpdumpRun{errMsg: msg}
	}
	return tcpdumpRun{out: out.Bytes()}
}

// runTcpdumpAll runs tcpdump for every expression, a few at a time (the
// runs mostly wait for the scheduler, not the CPU).
func runTcpdumpAll(tcpdump, path string, exprs []string) []tcpdumpRun {
	runs := make([]tcpdumpRun, len(exprs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				runs[i] = runTcpdump(tcpdump, path, exprs[i])
			}
		}()
	}
	for i := range exprs {
		next <- i
	}
	close(next)
	wg.Wait()
	return runs
}

// selected returns the indexes of the packets of a run (by timestamp), or
// tcpdump's error text.
func (r tcpdumpRun) selected(t *testing.T, path string, ts []time.Time) (map[int]bool, string) {
	t.Helper()
	if r.errMsg != "" {
		return nil, r.errMsg
	}
	set := map[int]bool{}
	if len(r.out) == 0 {
		return set, ""
	}
	byTime := map[time.Time]int{}
	for i, tm := range ts {
		byTime[tm] = i
	}
	_, got, _ := readPcap(t, bytes.NewReader(r.out), "tcpdump output")
	for _, tm := range got {
		i, ok := byTime[tm]
		if !ok {
			t.Fatalf("tcpdump returned a packet with timestamp %v that is not in %s", tm, path)
		}
		set[i] = true
	}
	return set, ""
}

// compiled caches Compile results shared by the tests over agreeExprs.
var compiled sync.Map

type compileResult struct {
	prog *Program
	err  error
}

// cachedCompile is Compile(expr, link, 0), computed once per test binary.
func cachedCompile(expr string, link layers.LinkType) (*Program, error) {
	key := fmt.Sprint(int(link), "\x00", expr)
	if r, ok := compiled.Load(key); ok {
		return r.(compileResult).prog, r.(compileResult).err
	}
	prog, err := Compile(expr, link, 0)
	compiled.Store(key, compileResult{prog, err})
	return prog, err
}

func setString(s map[int]bool) string {
	var xs []int
	for i := range s {
		xs = append(xs, i)
	}
	sort.Ints(xs)
	return fmt.Sprint(xs)
}

// TestAgreesWithTcpdump checks, for every expression and every test
// capture, that our program selects the same packets as tcpdump.
func TestAgreesWithTcpdump(t *testing.T) {
	tcpdump := testdep.Require(t, "tcpdump", "apt-get install tcpdump")
	if len(agreeExprs) < 50 {
		t.Fatalf("only %d expressions", len(agreeExprs))
	}
	for _, cf := range captureFiles {
		path := filepath.Join("testdata", cf.name)
		pkts, ts, link := readCapture(t, path)
		if link != cf.link {
			t.Fatalf("%s: link type %v, want %v", path, link, cf.link)
		}
		t.Run(cf.name, func(t *testing.T) {
			t.Parallel()
			matchedSome := 0
			runs := runTcpdumpAll(tcpdump, path, agreeExprs)
			for i, expr := range agreeExprs {
				want, tdErr := runs[i].selected(t, path, ts)
				prog, err := cachedCompile(expr, link)
				if tdErr != "" {
					if err == nil {
						t.Errorf("%q: tcpdump fails (%s) but we compile it", expr, tdErr)
					}
					continue
				}
				if err != nil {
					t.Errorf("%q: tcpdump compiles it but we fail: %v", expr, err)
					continue
				}
				got := map[int]bool{}
				for i, p := range pkts {
					if prog.Match(p) {
						got[i] = true
					}
				}
				if setString(got) != setString(want) {
					t.Errorf("%q on %s:\n ours    %s\n tcpdump %s\nprogram:\n%s", expr, cf.name, setString(got), setString(want), prog.Dump())
				}
				if len(want) > 0 && len(want) < len(pkts) {
					matchedSome++
				}
			}
			t.Logf("%s: %d packets, %d expressions, %d of them select some but not all packets", cf.name, len(pkts), len(agreeExprs), matchedSome)
		})
	}
}

// TestRandomExpressionsAgree builds random combinations of primitives
// (and/or/not, parentheses, carried-over qualifiers) with a fixed seed and
// checks them against tcpdump on two captures.
func TestRandomExpressionsAgree(t *testing.T) {
	t.Parallel()
	tcpdump := testdep.Require(t, "tcpdump", "apt-get install tcpdump")
	atoms := []string{
		"tcp", "udp", "icmp", "ip6", "arp", "host 10.0.0.1", "src net 10.0.0.0/16", "port 53", "tcp port 7070",
		"dst port 80", "portrange 5000-6000", "icmp6", "ip proto 1", "len > 90", "less 70",
		"tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0", "host 2001:db8::1",
		"udp[4:2] > 40", "ip[8] = 64", "ether multicast", "dst host 10.0.0.2", "src port 40000",
	}
	carry := []string{"10.0.0.2", "443", "7070", "10.0.0.53"}
	rng := rand.New(rand.NewPCG(6, 2))
	var gen func(depth int) string
	gen = func(depth int) string {
		if depth == 0 || rng.IntN(3) == 0 {
			a := atoms[rng.IntN(len(atoms))]
			if rng.IntN(6) == 0 {
				return "not " + a
			}
			return a
		}
		l, r := gen(depth-1), gen(depth-1)
		op := []string{"and", "or", "&&", "||"}[rng.IntN(4)]
		e := l + " " + op + " " + r
		if strings.HasPrefix(r, "host ") || strings.HasPrefix(r, "tcp port ") || strings.HasPrefix(r, "port ") {
			e += " or " + carry[rng.IntN(len(carry))] // a bare id taking r's qualifiers
		}
		switch rng.IntN(4) {
		case 0:
			return "(" + e + ")"
		case 1:
			return "!(" + e + ")"
		}
		return e
	}
	var exprs []string
	for len(exprs) < 40 {
		exprs = append(exprs, gen(3))
	}
	// on Ethernet, also "vlan", which moves the offsets of everything after it
	atoms = append(atoms, "vlan", "vlan 100", "vlan 3", "ether src 02:00:00:00:00:0a", "ether proto 0x42")
	var etherExprs []string
	for len(etherExprs) < 40 {
		etherExprs = append(etherExprs, gen(3))
	}
	t.Logf("for example: %s", etherExprs[0])
	for _, name := range []string{"ether.pcap", "null.pcap"} {
		exprs := exprs
		if name == "ether.pcap" {
			exprs = etherExprs
		}
		path := filepath.Join("testdata", name)
		pkts, ts, link := readCapture(t, path)
		compared := 0
		runs := runTcpdumpAll(tcpdump, path, exprs)
		for i, expr := range exprs {
			want, tdErr := runs[i].selected(t, path, ts)
			prog, err := Compile(expr, link, 0)
			if tdErr != "" || err != nil {
				if (tdErr != "") != (err != nil) {
					t.Errorf("%q on %s: tcpdump error %q, ours %v", expr, name, tdErr, err)
				}
				continue
			}
			compared++
			got := map[int]bool{}
			for i, p := range pkts {
				if prog.Match(p) {
					got[i] = true
				}
			}
			if setString(got) != setString(want) {
				t.Errorf("%q on %s:\n ours    %s\n tcpdump %s", expr, name, setString(got), setString(want))
			}
		}
		if compared < len(exprs)/2 {
			t.Errorf("%s: only %d of %d random expressions compiled", name, compared, len(exprs))
		}
	}
}

// TestRandomArithmeticAgrees builds random arithmetic relations (all
// operators, precedence, unary minus, nested and variable-index accesses)
// with a fixed seed and checks them against tcpdump.
func TestRandomArithmeticAgrees(t *testing.T) {
	t.Parallel()
	tcpdump := testdep.Require(t, "tcpdump", "apt-get install tcpdump")
	rng := rand.New(rand.NewPCG(3, 9))
	leaves := []string{"ip[0]", "ip[1]", "ip[2:2]", "ip[8]", "ip[9]", "tcp[13]", "tcp[0:2]", "udp[2:2]", "udp[4:2]",
		"ether[0]", "ether[12:2]", "len", "icmp[0]", "ip[16:4]", "ip6[6]", "tcp[tcp[12] >> 4]", "ip[ip[0] & 3]"}
	ops := []string{"+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"}
	var gen func(depth int) string
	gen = func(depth int) string {
		if depth == 0 || rng.IntN(3) == 0 {
			if rng.IntN(3) == 0 {
				return fmt.Sprint(1 + rng.IntN(70))
			}
			return leaves[rng.IntN(len(leaves))]
		}
		op := ops[rng.IntN(len(ops))]
		r := gen(depth - 1)
		if op == "/" || op == "%" {
			r = fmt.Sprint(1 + rng.IntN(9)) // no division by a packet value that may be 0... tcpdump and we both reject 0 anyway
		}
		e := gen(depth-1) + " " + op + " " + r
		switch rng.IntN(5) {
		case 0:
			return "(" + e + ")"
		case 1:
			return "-(" + e + ")"
		}
		return e
	}
	rel := []string{"=", "!=", "<", "<=", ">", ">="}
	var exprs []string
	for len(exprs) < 40 {
		exprs = append(exprs, gen(3)+" "+rel[rng.IntN(len(rel))]+" "+gen(1))
	}
	path := filepath.Join("testdata", "ether.pcap")
	pkts, ts, link := readCapture(t, path)
	runs := runTcpdumpAll(tcpdump, path, exprs)
	compared := 0
	for i, expr := range exprs {
		want, tdErr := runs[i].selected(t, path, ts)
		prog, err := Compile(expr, link, 0)
		if tdErr != "" || err != nil {
			if err != nil && tdErr == "" && strings.Contains(err.Error(), "by zero") {
				// a divisor that folds to 0: our error, tcpdump's run-time rejection
				t.Logf("%q: %v (tcpdump compiles it)", expr, err)
				continue
			}
			if err == nil && strings.Contains(tdErr, "shift by more than 31 bits") {
				// a computed shift amount above 31 that tcpdump's optimizer
				// folded: it refuses, we compile it (the result is 0, as in
				// libpcap's interpreter)
				t.Logf("%q: tcpdump: %s (we compile it)", expr, tdErr)
				continue
			}
			if (tdErr != "") != (err != nil) {
				t.Errorf("%q: tcpdump error %q, ours %v", expr, tdErr, err)
			}
			continue
		}
		compared++
		got := map[int]bool{}
		for i, p := range pkts {
			if prog.Match(p) {
				got[i] = true
			}
		}
		if setString(got) != setString(want) {
			t.Errorf("%q:\n ours    %s\n tcpdump %s\n%s", expr, setString(got), setString(want), prog.Dump())
		}
	}
	if compared < len(exprs)/2 {
		t.Errorf("only %d of %d random relations compiled", compared, len(exprs))
	}
	t.Logf("for example: %s", exprs[0])
}
