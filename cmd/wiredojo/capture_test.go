package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testdep"
)

var captureUpdate = flag.Bool("update", false, "rewrite the golden files of testdata/captures")

const captureDir = "../../testdata/captures"

// captureFiles are the committed captures and how tshark must be told about
// our non-standard ports.
var captureFiles = []struct {
	name   string
	decode []string // tshark -d options
}{
	{"chat-tcp.pcap", nil},
	{"chat-ws.pcap", []string{"tcp.port==7070,http"}},
	{"tls.pcap", []string{"tcp.port==7443,tls"}},
	{"udp-dns-icmp.pcap", nil},
	{"veth-arp-frag.pcap", nil},
	{"any-sll2.pcap", nil},
	{"any-sll.pcap", nil},
	{"raw-ip.pcap", nil},
	{"null-loopback.pcap", nil},
	{"multi-iface.pcapng", []string{"tcp.port==7070,http"}},
	{"tcp-expert.pcap", nil},
}

func captureRunCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := run(ctx, append([]string{"wiredojo", "--no-color"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func captureGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(captureDir, "golden", name)
	if *captureUpdate {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/wiredojo -run TestCaptureGolden -update)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs from the golden file at line %d:\n got: %s\nwant: %s", name, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: %d lines, golden has %d", name, len(gl), len(wl))
	}
}

func TestCaptureGolden(t *testing.T) {
	for _, f := range captureFiles {
		t.Run(f.name, func(t *testing.T) {
			file := filepath.Join(captureDir, f.name)
			for _, v := range []struct {
				suffix string
				args   []string
			}{
				{".json", []string{"--json"}},
				{".txt", nil},
			} {
				code, out, errs := captureRunCLI(t, append([]string{"capture", "read", file}, v.args...)...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errs)
				}
				captureGolden(t, f.name+v.suffix, out)
			}
		})
	}
	views := []struct {
		golden string
		args   []string
	}{
		{"chat-ws.pcap.v-osi.txt", []string{"-v", "chat-ws.pcap"}},
		{"chat-ws.pcap.v-tcpip.txt", []string{"--model", "tcpip", "chat-ws.pcap"}},
		{"veth-arp-frag.pcap.hex.txt", []string{"--hex", "veth-arp-frag.pcap"}},
		{"chat-tcp.pcap.stats.txt", []string{"--stats", "chat-tcp.pcap"}},
		{"chat-ws.pcap.follow0.txt", []string{"--follow", "0", "chat-ws.pcap"}},
		{"chat-tcp.pcap.follow0.txt", []string{"--follow", "0", "chat-tcp.pcap"}},
		{"tls.pcap.follow1.txt", []string{"--follow", "1", "tls.pcap"}},
	}
	for _, v := range views {
		t.Run(v.golden, func(t *testing.T) {
			args := append([]string{"capture", "read"}, v.args[:len(v.args)-1]...)
			args = append(args, filepath.Join(captureDir, v.args[len(v.args)-1]))
			code, out, errs := captureRunCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			captureGolden(t, v.golden, out)
		})
	}
}

// tsharkPacket is one packet of `tshark -T json`, flattened: every field
// name with its values in document order.
type tsharkPacket map[string][]string

func (p tsharkPacket) first(k string) string {
	if v := p[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// tsharkFlatten reads tshark's JSON array of packets without losing the
// order of repeated fields (several WebSocket frames or TLS records).
func tsharkFlatten(r io.Reader) ([]tsharkPacket, error) {
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil { // [
		return nil, err
	}
	var pkts []tsharkPacket
	for dec.More() {
		p := tsharkPacket{}
		if err := tsharkWalk(dec, "", p); err != nil {
			return nil, err
		}
		pkts = append(pkts, p)
	}
	return pkts, nil
}

func tsharkWalk(dec *json.Decoder, key string, p tsharkPacket) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				if err := tsharkWalk(dec, kt.(string), p); err != nil {
					return err
				}
			}
		} else {
			for dec.More() {
				if err := tsharkWalk(dec, key, p); err != nil {
					return err
				}
			}
		}
		_, err = dec.Token() // } or ]
		return err
	case string:
		if a, ok := tsharkAlias[key]; ok {
			key = a
		}
		p[key] = append(p[key], v)
	}
	return nil
}

// tsharkAlias merges fields that tshark names differently in some cases
// into one list, keeping their order: TLS 1.3 encrypted records carry
// opaque_type instead of content_type.
var tsharkAlias = map[string]string{"tls.record.opaque_type": "tls.record.content_type"}

// tsharkFragUnits reports whether this tshark shows ip.frag_offset in
// 8-byte units (before Wireshark 4.2) rather than bytes.
func tsharkFragUnits(t *testing.T, bin string) bool {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("tshark --version: %v", err)
	}
	var major, minor int
	line := strings.SplitN(string(out), "\n", 2)[0]
	if i := strings.Index(line, ") "); i >= 0 {
		fmt.Sscanf(line[i+2:], "%d.%d", &major, &minor)
	}
	return major < 4 || (major == 4 && minor < 2)
}

func tshark(t *testing.T, file string, decode []string) ([]tsharkPacket, bool) {
	t.Helper()
	bin := testdep.Require(t, "tshark", "apt-get install tshark")
	units := tsharkFragUnits(t, bin)
	args := []string{"-r", file, "-T", "json", "--no-duplicate-keys", "-o", "tcp.desegment_tcp_streams:TRUE"}
	for _, d := range decode {
		args = append(args, "-d", d)
	}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v: %s", args, err, stderr.String())
	}
	pkts, err := tsharkFlatten(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("reading tshark's JSON: %v", err)
	}
	return pkts, units
}

type ourLayer map[string]any

type ourPacket struct {
	No      int        `json:"no"`
	TS      string     `json:"ts"`
	WireLen int        `json:"wire_len"`
	CapLen  int        `json:"cap_len"`
	Layers  []ourLayer `json:"layers"`
	Notes   []string   `json:"notes"`
}

func num(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "1"
		}
		return "0"
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// hexOrDec reads tshark's "0x1a2b" or "42" as a number.
func hexOrDec(s string) string {
	if strings.HasPrefix(s, "0x") {
		v, err := strconv.ParseUint(s[2:], 16, 64)
		if err == nil {
			return strconv.FormatUint(v, 10)
		}
	}
	return s
}

var wsOpcodes = map[string]string{"continuation": "0", "text": "1", "binary": "2", "close": "8", "ping": "9", "pong": "10"}

// TestCaptureMatchesTshark decodes every committed capture with both tools
// and compares every field of the capture JSON (docs/ARCHITECTURE.md) that tshark has.
func TestCaptureMatchesTshark(t *testing.T) {
	for _, f := range captureFiles {
		t.Run(f.name, func(t *testing.T) {
			file := filepath.Join(captureDir, f.name)
			ref, fragUnits := tshark(t, file, f.decode)
			code, out, errs := captureRunCLI(t, "capture", "read", "--json", file)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var ours []ourPacket
			dec := json.NewDecoder(strings.NewReader(out))
			for dec.More() {
				var p ourPacket
				if err := dec.Decode(&p); err != nil {
					t.Fatal(err)
				}
				ours = append(ours, p)
			}
			if len(ours) != len(ref) {
				t.Fatalf("%d packets, tshark %d", len(ours), len(ref))
			}
			fields := 0
			for i := range ours {
				fields += captureComparePacket(t, &ours[i], ref[i], fragUnits)
			}
			t.Logf("%d packets, %d field values equal to tshark's", len(ours), fields)
		})
	}
}

func captureComparePacket(t *testing.T, o *ourPacket, r tsharkPacket, fragUnits bool) int {
	t.Helper()
	n := 0
	eq := func(what, ours, theirs string) {
		t.Helper()
		n++
		if ours != theirs {
			t.Errorf("packet %d: %s = %q, tshark %q", o.No, what, ours, theirs)
		}
	}
	eq("no", strconv.Itoa(o.No), r.first("frame.number"))
	eq("wire_len", strconv.Itoa(o.WireLen), r.first("frame.len"))
	eq("cap_len", strconv.Itoa(o.CapLen), r.first("frame.cap_len"))
	ts, err := time.Parse(time.RFC3339Nano, o.TS)
	if err != nil {
		t.Errorf("packet %d: ts %q: %v", o.No, o.TS, err)
	}
	eq("ts", fmt.Sprintf("%d.%09d", ts.Unix(), ts.Nanosecond()), r.first("frame.time_epoch"))
	protos := "," + strings.ReplaceAll(r.first("frame.protocols"), ":", ",") + ","
	// What an ICMP error quotes is not decoded by us: compare up to ICMP.
	for _, icmp := range []string{",icmp,", ",icmpv6,"} {
		if i := strings.Index(protos, icmp); i >= 0 {
			protos = protos[:i+len(icmp)]
		}
	}
	has := map[string]bool{}
	var ws, tlsCT, tlsHS [][2]string
	var wsFin, wsOp, wsMask, wsLen []string
	for _, l := range o.Layers {
		p := l["proto"].(string)
		has[p] = true
		g := func(k string) string { return num(l[k]) }
		switch p {
		case "Ethernet":
			eq("eth src", g("src"), r.first("eth.src"))
			eq("eth dst", g("dst"), r.first("eth.dst"))
		case "SLL":
			eq("sll pkttype", g("pkttype"), r.first("sll.pkttype"))
			eq("sll protocol", g("protocol"), hexOrDec(r.first("sll.etype")))
			if _, ok := l["ifindex"]; ok {
				eq("sll ifindex", g("ifindex"), r.first("sll.ifindex"))
			}
		case "Loopback":
			eq("null family", g("family"), r.first("null.family"))
		case "ARP":
			eq("arp op", g("op"), r.first("arp.opcode"))
			eq("arp src", g("src"), r.first("arp.src.proto_ipv4"))
			eq("arp dst", g("dst"), r.first("arp.dst.proto_ipv4"))
		case "IPv4":
			eq("ip src", g("src"), r.first("ip.src"))
			eq("ip dst", g("dst"), r.first("ip.dst"))
			eq("ip ttl", g("ttl"), r.first("ip.ttl"))
			eq("ip id", g("id"), hexOrDec(r.first("ip.id")))
			fo := r.first("ip.frag_offset")
			if fragUnits {
				v, _ := strconv.Atoi(fo)
				fo = strconv.Itoa(v * 8)
			}
			eq("ip frag_offset", g("frag_offset"), fo)
			eq("ip more_fragments", g("more_fragments"), r.first("ip.flags.mf"))
			eq("ip len", g("len"), r.first("ip.len"))
		case "IPv6":
			eq("ipv6 src", g("src"), r.first("ipv6.src"))
			eq("ipv6 dst", g("dst"), r.first("ipv6.dst"))
			eq("ipv6 hop_limit", g("hop_limit"), r.first("ipv6.hlim"))
			eq("ipv6 next_header", g("next_header"), r.first("ipv6.nxt"))
		case "ICMPv4":
			eq("icmp type", g("type"), r.first("icmp.type"))
			eq("icmp code", g("code"), r.first("icmp.code"))
		case "ICMPv6":
			eq("icmpv6 type", g("type"), r.first("icmpv6.type"))
			eq("icmpv6 code", g("code"), r.first("icmpv6.code"))
		case "TCP":
			eq("tcp src_port", g("src_port"), r.first("tcp.srcport"))
			eq("tcp dst_port", g("dst_port"), r.first("tcp.dstport"))
			eq("tcp seq", g("seq"), r.first("tcp.seq_raw"))
			eq("tcp ack", g("ack"), r.first("tcp.ack_raw"))
			eq("tcp window", g("window"), r.first("tcp.window_size_value"))
			eq("tcp payload_len", g("payload_len"), r.first("tcp.len"))
			bits, _ := strconv.ParseUint(strings.TrimPrefix(r.first("tcp.flags"), "0x"), 16, 16)
			var names []string
			for i, name := range []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"} {
				if bits&(1<<i) != 0 {
					names = append(names, name)
				}
			}
			var got []string
			for _, f := range l["flags"].([]any) {
				got = append(got, f.(string))
			}
			eq("tcp flags", strings.Join(got, ","), strings.Join(names, ","))
		case "UDP":
			eq("udp src_port", g("src_port"), r.first("udp.srcport"))
			eq("udp dst_port", g("dst_port"), r.first("udp.dstport"))
			eq("udp len", g("len"), r.first("udp.length"))
			ulen, _ := strconv.Atoi(r.first("udp.length"))
			eq("udp payload_len", g("payload_len"), strconv.Itoa(ulen-8))
		case "HTTP":
			if _, ok := l["method"]; ok {
				eq("http method", g("method"), r.first("http.request.method"))
				eq("http uri", g("uri"), r.first("http.request.uri"))
			} else {
				eq("http status", g("status"), r.first("http.response.code"))
			}
		case "WebSocket":
			wsFin = append(wsFin, g("fin"))
			wsOp = append(wsOp, wsOpcodes[g("opcode")])
			wsMask = append(wsMask, g("masked"))
			wsLen = append(wsLen, g("payload_len"))
		case "TLS":
			tlsCT = append(tlsCT, [2]string{g("content_type")})
			if _, ok := l["handshake_type"]; ok {
				tlsHS = append(tlsHS, [2]string{g("handshake_type")})
			}
		case "DNS":
			eq("dns id", g("id"), hexOrDec(r.first("dns.id")))
		}
	}
	_ = ws
	join := func(a [][2]string) string {
		var s []string
		for _, x := range a {
			s = append(s, x[0])
		}
		return strings.Join(s, ",")
	}
	eq("websocket fin", strings.Join(wsFin, ","), strings.Join(r["websocket.fin"], ","))
	eq("websocket opcode", strings.Join(wsOp, ","), strings.Join(r["websocket.opcode"], ","))
	eq("websocket masked", strings.Join(wsMask, ","), strings.Join(r["websocket.mask"], ","))
	// tshark's payload_length is the 7-bit field; 126 and 127 announce the
	// extended lengths, listed in their own fields.
	var theirLen []string
	e16, e64 := r["websocket.payload_length_ext_16"], r["websocket.payload_length_ext_64"]
	for _, v := range r["websocket.payload_length"] {
		switch {
		case v == "126" && len(e16) > 0:
			v, e16 = e16[0], e16[1:]
		case v == "127" && len(e64) > 0:
			v, e64 = e64[0], e64[1:]
		}
		theirLen = append(theirLen, v)
	}
	eq("websocket payload_len", strings.Join(wsLen, ","), strings.Join(theirLen, ","))
	eq("tls content_type", join(tlsCT), strings.Join(r["tls.record.content_type"], ","))
	eq("tls handshake_type", join(tlsHS), strings.Join(r["tls.handshake.type"], ","))
	// Expert notes: the same as tshark's TCP analysis.
	var theirNotes []string
	for _, n := range []struct{ field, note string }{
		{"tcp.analysis.retransmission", "retransmission"},
		{"tcp.analysis.duplicate_ack", "duplicate ACK"},
		{"tcp.analysis.out_of_order", "out-of-order"},
		{"tcp.analysis.zero_window", "zero window"},
		{"tcp.analysis.lost_segment", "previous segment not captured"},
		{"tcp.analysis.keep_alive", "keep-alive"},
	} {
		if _, ok := r[n.field]; ok {
			theirNotes = append(theirNotes, n.note)
		}
	}
	if r.first("tcp.flags.reset") == "1" {
		theirNotes = append(theirNotes, "reset")
	}
	ourNotes := append([]string(nil), o.Notes...)
	sort.Strings(ourNotes)
	sort.Strings(theirNotes)
	eq("notes", strings.Join(ourNotes, ","), strings.Join(theirNotes, ","))
	// Every protocol tshark found is one we found, and the reverse.
	for ours, theirs := range map[string]string{"Ethernet": "eth", "SLL": "sll", "Loopback": "null", "ARP": "arp",
		"IPv4": "ip", "IPv6": "ipv6", "ICMPv4": "icmp", "ICMPv6": "icmpv6", "TCP": "tcp", "UDP": "udp", "DNS": "dns", "HTTP": "http"} {
		if ours == "HTTP" && has["WebSocket"] {
			continue // tshark lists http on every WebSocket packet of an upgraded stream
		}
		eq("has "+ours, strconv.FormatBool(has[ours]), strconv.FormatBool(strings.Contains(protos, ","+theirs+",")))
	}
	return n
}

// TestCaptureBadInput: damaged files give an error naming the file and the
// offset, exit status 1, no panic, and the packets before it are printed.
func TestCaptureBadInput(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(captureDir, "chat-tcp.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	// Offsets of the first records of the good file.
	var offs []int
	for o := 24; o+16 <= len(good) && len(offs) < 4; {
		offs = append(offs, o)
		o += 16 + int(binary.LittleEndian.Uint32(good[o+8:]))
	}
	absurd := append([]byte(nil), good[:offs[3]]...)
	absurd = append(absurd, good[offs[3]:offs[3]+16]...)
	binary.LittleEndian.PutUint32(absurd[len(absurd)-8:], 0x7fffffff)
	unknownLink := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(unknownLink[20:], 147)
	ngTrunc, err := os.ReadFile(filepath.Join(captureDir, "multi-iface.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		data    []byte
		printed int    // packets printed before the error
		want    string // in the error
	}{
		{"empty", nil, 0, "at byte offset 0: empty file"},
		{"not-a-capture", []byte("GET / HTTP/1.1\r\n\r\n"), 0, "at byte offset 0: not a pcap or pcapng file"},
		{"short-header", good[:10], 0, "at byte offset 10"},
		{"truncated-record", good[:offs[3]+20], 3, fmt.Sprintf("at byte offset %d: record of", offs[3])},
		{"truncated-record-header", good[:offs[2]+5], 2, fmt.Sprintf("at byte offset %d: record header", offs[2])},
		{"absurd-length", absurd, 3, fmt.Sprintf("at byte offset %d: record length is absurd", offs[3])},
		{"unknown-link-type", unknownLink, 0, "at byte offset 20: unsupported link type 147"},
		{"pcapng-truncated", ngTrunc[:len(ngTrunc)-7], -1, "truncated"},
		{"pcapng-absurd-block-length", captureWith(ngTrunc, 4, 0x7ffffff0), 0, "at byte offset 4: record length is absurd"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(dir, c.name+".pcap")
			if err := os.WriteFile(file, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errs := captureRunCLI(t, "capture", "read", file)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr %q", code, errs)
			}
			if !strings.Contains(errs, file) || !strings.Contains(errs, c.want) {
				t.Fatalf("error %q does not name the file and %q", errs, c.want)
			}
			lines := strings.Count(out, "\n")
			if c.printed >= 0 && lines != c.printed {
				t.Fatalf("%d packets printed before the error, want %d:\n%s", lines, c.printed, out)
			}
			if c.printed < 0 && lines == 0 {
				t.Fatalf("nothing printed before the error")
			}
		})
	}
}

// captureWith returns a copy of b with a little-endian uint32 v at off.
func captureWith(b []byte, off int, v uint32) []byte {
	c := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(c[off:], v)
	return c
}

func TestCaptureUsage(t *testing.T) {
	for _, args := range [][]string{
		{"capture", "read"},
		{"capture", "read", "--model", "bogus", "x.pcap"},
		{"capture", "read", "--json", "-v", "x.pcap"},
		{"capture", "live"},
	} {
		if code, _, errs := captureRunCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errs)
		}
	}
	if code, _, errs := captureRunCLI(t, "capture", "read", filepath.Join(t.TempDir(), "missing.pcap")); code != 1 || !strings.Contains(errs, "missing.pcap") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
}

// TestCaptureFilterMatchesTcpdump: for a table of expressions over the
// committed captures, `capture read --filter` keeps exactly the packets
// tcpdump keeps (compared by timestamp: tcpdump numbers only what it prints).
func TestCaptureFilterMatchesTcpdump(t *testing.T) {
	bin := testdep.Require(t, "tcpdump", "apt-get install tcpdump")
	exprs := []string{
		"tcp", "udp", "icmp", "arp", "ip", "ip6", "icmp6",
		"tcp port 7070", "port 53", "udp port 9999", "src port 7070", "dst port 7070",
		"host 127.0.0.1", "host 10.77.0.2", "src host 10.77.0.1", "net 10.77.0.0/24",
		"portrange 7000-7500", "tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0",
		"tcp[tcpflags] & tcp-push != 0 and dst port 7070", "len > 100", "less 80", "greater 200",
		"not tcp", "tcp and not port 7070", "(udp or icmp) and host 127.0.0.1", "ether host 00:00:00:00:00:00",
	}
	files := []string{"chat-tcp.pcap", "chat-ws.pcap", "udp-dns-icmp.pcap", "veth-arp-frag.pcap", "any-sll2.pcap", "any-sll.pcap", "raw-ip.pcap", "null-loopback.pcap", "tls.pcap"}
	checked := 0
	for _, f := range files {
		file := filepath.Join(captureDir, f)
		for _, e := range exprs {
			var stderr bytes.Buffer
			cmd := exec.Command(bin, "-tt", "-nn", "-r", file, e)
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil && strings.Contains(stderr.String(), "rejects all packets") {
				out, err = nil, nil
			}
			if err != nil {
				// tcpdump refuses some primitives on some link types (ether
				// on raw IP): then so must we.
				if code, _, _ := captureRunCLI(t, "capture", "read", "--filter", e, file); code == 0 {
					t.Errorf("%s %q: tcpdump refused (%s) but we accepted", f, e, strings.TrimSpace(stderr.String()))
				}
				continue
			}
			var want []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if fs := strings.Fields(line); len(fs) > 0 {
					want = append(want, fs[0])
				}
			}
			code, got, errs := captureRunCLI(t, "capture", "read", "--json", "--no-reassembly", "--filter", e, file)
			if code != 0 {
				t.Errorf("%s %q: exit %d: %s", f, e, code, errs)
				continue
			}
			var have []string
			for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
				var p struct {
					TS string `json:"ts"`
				}
				if line == "" {
					continue
				}
				if err := json.Unmarshal([]byte(line), &p); err != nil {
					t.Fatal(err)
				}
				ts, err := time.Parse(time.RFC3339Nano, p.TS)
				if err != nil {
					t.Fatal(err)
				}
				have = append(have, fmt.Sprintf("%d.%06d", ts.Unix(), ts.Nanosecond()/1000))
			}
			if strings.Join(have, ",") != strings.Join(want, ",") {
				t.Errorf("%s %q: we keep packets [%s], tcpdump [%s]", f, e, strings.Join(have, ","), strings.Join(want, ","))
			}
			checked++
		}
	}
	t.Logf("%d expression × file pairs agree with tcpdump", checked)
}

// TestCaptureLiveNoPrivilege: without CAP_NET_RAW, live capture says what to
// do and exits 1. The test runs itself again (TestCaptureLiveChild) with
// CAP_NET_RAW removed from the bounding set, which a root process cannot
// get back.
func TestCaptureLiveNoPrivilege(t *testing.T) {
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		setpriv := testdep.Require(t, "setpriv", "apt-get install util-linux")
		cmd = exec.Command(setpriv, "--bounding-set", "-net_raw", os.Args[0], "-test.run=^TestCaptureLiveChild$", "-test.v")
	} else {
		cmd = exec.Command(os.Args[0], "-test.run=^TestCaptureLiveChild$", "-test.v")
	}
	cmd.Env = append(os.Environ(), "WIREDOJO_CAPTURE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestCaptureLiveChild") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestCaptureLiveChild(t *testing.T) {
	if os.Getenv("WIREDOJO_CAPTURE_CHILD") != "1" {
		t.Skip("run by TestCaptureLiveNoPrivilege")
	}
	code, _, errs := captureRunCLI(t, "capture", "live", "--iface", "lo", "--count", "1")
	want := "wiredojo: permission denied opening lo: live capture needs root or CAP_NET_RAW; try sudo or read a file\n"
	if code != 1 || errs != want {
		t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errs, want)
	}
}
