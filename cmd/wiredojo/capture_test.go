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
	"regexp"
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
	{"truncated.pcap", nil},
	{"frag6.pcap", nil},
	{"tcp-options.pcap", nil},
	{"dns.pcap", nil},
	{"ws-deflate.pcap", []string{"tcp.port==7070,http"}},
	{"icmp-errors.pcap", nil},
	{"sio-capture.pcap", []string{"tcp.port==7070,http"}},
	{"sio-binary.pcap", []string{"tcp.port==37491,http"}}, // node's socket.io on a free port
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
		{"tcp-options.pcap.S.txt", []string{"-S", "tcp-options.pcap"}},
		{"tcp-options.pcap.v-osi.txt", []string{"-v", "tcp-options.pcap"}},
		{"ws-deflate.pcap.v-osi.txt", []string{"-v", "ws-deflate.pcap"}},
		{"dns.pcap.v-tcpip.txt", []string{"--model", "tcpip", "dns.pcap"}},
		{"sio-capture.pcap.v-osi.txt", []string{"-v", "sio-capture.pcap"}},
		{"sio-capture.pcap.follow2.txt", []string{"--follow", "2", "sio-capture.pcap"}},
		{"sio-binary.pcap.follow9.txt", []string{"--follow", "9", "sio-binary.pcap"}},
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
	No        int        `json:"no"`
	TS        string     `json:"ts"`
	WireLen   int        `json:"wire_len"`
	CapLen    int        `json:"cap_len"`
	Layers    []ourLayer `json:"layers"`
	Notes     []string   `json:"notes"`
	Truncated bool       `json:"truncated"`
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
			var cmp captureCmp
			for i := range ours {
				captureComparePacket(t, &cmp, &ours[i], ref[i], fragUnits)
			}
			// The agreement: equal field values over compared ones (1.000
			// is every field of every packet).
			t.Logf("%d packets, %d of %d field values equal to tshark's: agreement %.3f", len(ours), cmp.equal, cmp.total, float64(cmp.equal)/float64(max(cmp.total, 1)))
		})
	}
}

// captureCmp counts compared and equal field values, and keeps what the
// comparison of one packet needs from earlier ones.
type captureCmp struct {
	total, equal int
	// WebSocket messages whose first frame was compressed, by direction
	// (source port): tshark 4.0 does not inflate them once reassembled.
	zmsg map[string]bool
}

func captureComparePacket(t *testing.T, cmp *captureCmp, o *ourPacket, r tsharkPacket, fragUnits bool) {
	t.Helper()
	eq := func(what, ours, theirs string) {
		t.Helper()
		cmp.total++
		if ours != theirs {
			t.Errorf("packet %d: %s = %q, tshark %q", o.No, what, ours, theirs)
			return
		}
		cmp.equal++
	}
	// tshark marks a packet "size limited during capture" when a protocol
	// it decodes runs past the captured bytes; we mark every packet whose
	// IP datagram was cut (tshark's data dissector does not complain).
	capLen, _ := strconv.Atoi(r.first("frame.cap_len"))
	wireLen, _ := strconv.Atoi(r.first("frame.len"))
	cut := len(r["_ws.short"]) > 0 || (capLen < wireLen && !strings.Contains(r.first("frame.protocols"), "http"))
	eq("truncated", strconv.FormatBool(o.Truncated), strconv.FormatBool(cut))
	eq("no", strconv.Itoa(o.No), r.first("frame.number"))
	// Fields of protocols inside an ICMP error belong to the quoted
	// datagram: compared through orig_* below.
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
	var tlsCT, tlsHS [][2]string
	var wsFin, wsOp, wsMask, wsLen, wsKey, wsPMC, wsCode, wsReason, wsText []string
	var dnsID, dnsQName, dnsQType, dnsResp, dnsRcode, dnsAns, dnsRType, dnsRName, dnsTTL []string
	dnsData := map[string][]string{}
	var srcPort string
	wsSkipText := false
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
			eq("ipv6 payload_len", g("payload_len"), r.first("ipv6.plen"))
			if _, ok := l["frag_id"]; ok {
				eq("ipv6 frag_id", g("frag_id"), hexOrDec(r.first("ipv6.fraghdr.ident")))
				fo := r.first("ipv6.fraghdr.offset")
				if fragUnits {
					v, _ := strconv.Atoi(fo)
					fo = strconv.Itoa(v * 8)
				}
				eq("ipv6 frag_offset", g("frag_offset"), fo)
				eq("ipv6 more_fragments", g("more_fragments"), r.first("ipv6.fraghdr.more"))
			}
		case "ICMPv4", "ICMPv6":
			pre, ip := "icmp", "ip"
			if p == "ICMPv6" {
				pre, ip = "icmpv6", "ipv6"
			}
			eq(pre+" type", g("type"), r.first(pre+".type"))
			eq(pre+" code", g("code"), r.first(pre+".code"))
			if _, ok := l["id"]; ok {
				if p == "ICMPv4" {
					eq("icmp id", g("id"), hexOrDec(r.first("icmp.ident")))
					eq("icmp seq", g("seq"), r.first("icmp.seq"))
				} else {
					eq("icmpv6 id", g("id"), hexOrDec(r.first("icmpv6.echo.identifier")))
					eq("icmpv6 seq", g("seq"), hexOrDec(r.first("icmpv6.echo.sequence_number")))
				}
			}
			if _, ok := l["mtu"]; ok {
				eq(pre+" mtu", g("mtu"), r.first(pre+".mtu"))
			}
			if _, ok := l["target"]; ok {
				want := r.first("icmpv6.nd.ns.target_address") + r.first("icmpv6.nd.na.target_address")
				eq("icmpv6 target", g("target"), want)
			}
			if _, ok := l["orig_dst"]; ok {
				// The quoted datagram: tshark lists its fields after the
				// outer packet's.
				second := func(k string) string {
					if v := r[k]; len(v) > 1 {
						return v[1]
					}
					return ""
				}
				eq(pre+" orig_dst", g("orig_dst"), second(ip+".dst"))
				if p == "ICMPv4" {
					eq("icmp orig_proto", g("orig_proto"), second("ip.proto"))
				} else {
					eq("icmpv6 orig_proto", g("orig_proto"), second("ipv6.nxt"))
				}
				if _, ok := l["orig_dst_port"]; ok {
					eq(pre+" orig_dst_port", g("orig_dst_port"), r.first("udp.dstport")+r.first("tcp.dstport"))
				}
			}
		case "TCP":
			eq("tcp src_port", g("src_port"), r.first("tcp.srcport"))
			eq("tcp dst_port", g("dst_port"), r.first("tcp.dstport"))
			eq("tcp seq", g("seq"), r.first("tcp.seq_raw"))
			eq("tcp ack", g("ack"), r.first("tcp.ack_raw"))
			eq("tcp window", g("window"), r.first("tcp.window_size_value"))
			eq("tcp window_size", g("window_size"), r.first("tcp.window_size"))
			eq("tcp payload_len", g("payload_len"), r.first("tcp.len"))
			srcPort = g("src_port")
			captureCompareOptions(eq, l, r)
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
			if _, ok := l["mask"]; ok {
				wsKey = append(wsKey, g("mask"))
			}
			wsPMC = append(wsPMC, num(l["compressed"] == true))
			if _, ok := l["close_code"]; ok {
				wsCode = append(wsCode, g("close_code"))
				wsReason = append(wsReason, g("close_reason"))
			}
			if cmp.zmsg == nil {
				cmp.zmsg = map[string]bool{}
			}
			op := g("opcode")
			if op == "text" || op == "binary" {
				cmp.zmsg[srcPort] = l["compressed"] == true && l["fin"] != true
			}
			if op == "continuation" && cmp.zmsg[srcPort] && l["fin"] == true {
				wsSkipText = true // tshark 4.0 shows the compressed bytes
			}
			if m, ok := l["message"]; ok && (op == "text" || op == "continuation") {
				wsText = append(wsText, m.(string))
			}
		case "TLS":
			tlsCT = append(tlsCT, [2]string{g("content_type")})
			if _, ok := l["handshake_type"]; ok {
				tlsHS = append(tlsHS, [2]string{g("handshake_type")})
			}
		case "DNS":
			dnsID = append(dnsID, hexOrDec(g("id")))
			dnsQName = append(dnsQName, g("name"))
			dnsQType = append(dnsQType, captureDNSTypes[g("qtype")])
			dnsResp = append(dnsResp, g("response"))
			dnsAns = append(dnsAns, g("answers"))
			if l["response"] == true {
				dnsRcode = append(dnsRcode, g("rcode"))
			}
			recs, _ := l["records"].([]any)
			for _, x := range recs {
				rec := x.(map[string]any)
				typ := rec["type"].(string)
				dnsRType = append(dnsRType, captureDNSTypes[typ])
				dnsRName = append(dnsRName, rec["name"].(string))
				dnsTTL = append(dnsTTL, num(rec["ttl"]))
				dnsData[typ] = append(dnsData[typ], rec["data"].(string))
			}
		}
	}
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
	eq("websocket masking_key", strings.Join(wsKey, ","), strings.Join(r["websocket.masking_key"], ","))
	// tshark has pmc only where permessage-deflate was negotiated.
	theirPMC := r["websocket.pmc"]
	if len(theirPMC) == 0 {
		for range wsPMC {
			theirPMC = append(theirPMC, "0")
		}
	}
	eq("websocket pmc", strings.Join(wsPMC, ","), strings.Join(theirPMC, ","))
	eq("websocket close code", strings.Join(wsCode, ","), strings.Join(r["websocket.payload.close.status_code"], ","))
	eq("websocket close reason", strings.Join(wsReason, ","), strings.Join(r["websocket.payload.close.reason"], ","))
	if !wsSkipText {
		eq("websocket text", strings.Join(wsText, "|"), strings.Join(r["websocket.payload.text"], "|"))
	}
	eq("dns id", strings.Join(dnsID, ","), captureHexList(r["dns.id"]))
	eq("dns qry name", strings.Join(dnsQName, ","), strings.Join(r["dns.qry.name"], ","))
	eq("dns qry type", strings.Join(dnsQType, ","), strings.Join(r["dns.qry.type"], ","))
	eq("dns response", strings.Join(dnsResp, ","), strings.Join(r["dns.flags.response"], ","))
	eq("dns answers", strings.Join(dnsAns, ","), strings.Join(r["dns.count.answers"], ","))
	eq("dns rcode", strings.Join(dnsRcode, ","), strings.Join(r["dns.flags.rcode"], ","))
	eq("dns record types", strings.Join(dnsRType, ","), strings.Join(r["dns.resp.type"], ","))
	eq("dns record names", strings.Join(dnsRName, ","), strings.Join(r["dns.resp.name"], ","))
	eq("dns record ttls", strings.Join(dnsTTL, ","), strings.Join(r["dns.resp.ttl"], ","))
	for typ, field := range map[string]string{"A": "dns.a", "AAAA": "dns.aaaa", "CNAME": "dns.cname", "NS": "dns.ns", "PTR": "dns.ptr.domain_name"} {
		eq("dns "+typ, strings.Join(dnsData[typ], ","), strings.Join(r[field], ","))
	}
	var mx, soa, txt []string
	for i := range r["dns.mx.mail_exchange"] {
		mx = append(mx, r["dns.mx.preference"][i]+" "+r["dns.mx.mail_exchange"][i])
	}
	for i := range r["dns.soa.mname"] {
		soa = append(soa, strings.Join([]string{r["dns.soa.mname"][i], r["dns.soa.rname"][i], r["dns.soa.serial_number"][i],
			r["dns.soa.refresh_interval"][i], r["dns.soa.retry_interval"][i], r["dns.soa.expire_limit"][i], r["dns.soa.minimum_ttl"][i]}, " "))
	}
	if len(r["dns.txt"]) > 0 {
		var q []string
		for _, s := range r["dns.txt"] {
			q = append(q, strconv.Quote(s))
		}
		txt = append(txt, strings.Join(q, " "))
	}
	eq("dns MX", strings.Join(dnsData["MX"], ","), strings.Join(mx, ","))
	eq("dns SOA", strings.Join(dnsData["SOA"], ","), strings.Join(soa, ","))
	eq("dns TXT", strings.Join(dnsData["TXT"], ","), strings.Join(txt, ","))
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
}

// captureHexList reads a list of tshark's hex numbers as decimal.
func captureHexList(v []string) string {
	var out []string
	for _, s := range v {
		out = append(out, hexOrDec(s))
	}
	return strings.Join(out, ",")
}

// captureDNSTypes maps our DNS type names to tshark's numbers.
var captureDNSTypes = map[string]string{"A": "1", "NS": "2", "CNAME": "5", "SOA": "6", "PTR": "12", "MX": "15", "TXT": "16", "AAAA": "28"}

// captureCompareOptions compares our TCP options with tshark's.
func captureCompareOptions(eq func(what, ours, theirs string), l ourLayer, r tsharkPacket) {
	var mss, ws, sackOK, tsval, tsecr, le, re, tfoReq, cookie []string
	ackRaw, _ := strconv.ParseUint(r.first("tcp.ack_raw"), 10, 32)
	ackRel, _ := strconv.ParseUint(r.first("tcp.ack"), 10, 32)
	base := uint32(ackRaw) - uint32(ackRel)
	opts, _ := l["options"].([]any)
	for _, x := range opts {
		o := x.(map[string]any)
		switch o["name"] {
		case "mss":
			mss = append(mss, num(o["value"]))
		case "wscale":
			ws = append(ws, num(o["value"]))
		case "sackOK":
			sackOK = append(sackOK, "1")
		case "TS":
			tsval = append(tsval, num(o["val"]))
			tsecr = append(tsecr, num(o["ecr"]))
		case "sack":
			for _, b := range o["blocks"].([]any) {
				e := b.([]any)
				le = append(le, strconv.FormatUint(uint64(uint32(e[0].(float64))-base), 10))
				re = append(re, strconv.FormatUint(uint64(uint32(e[1].(float64))-base), 10))
			}
		case "tfo":
			if c, ok := o["cookie"].(string); ok {
				var parts []string
				for i := 0; i+2 <= len(c); i += 2 {
					parts = append(parts, c[i:i+2])
				}
				cookie = append(cookie, strings.Join(parts, ":"))
			} else {
				tfoReq = append(tfoReq, "1")
			}
		}
	}
	var theirSackOK, theirTFOReq []string
	for range r["tcp.options.sack_perm"] {
		theirSackOK = append(theirSackOK, "1")
	}
	for range r["tcp.options.tfo.request"] {
		theirTFOReq = append(theirTFOReq, "1")
	}
	eq("tcp mss", strings.Join(mss, ","), strings.Join(r["tcp.options.mss_val"], ","))
	eq("tcp wscale", strings.Join(ws, ","), strings.Join(r["tcp.options.wscale.shift"], ","))
	eq("tcp sackOK", strings.Join(sackOK, ","), strings.Join(theirSackOK, ","))
	eq("tcp TS val", strings.Join(tsval, ","), strings.Join(r["tcp.options.timestamp.tsval"], ","))
	eq("tcp TS ecr", strings.Join(tsecr, ","), strings.Join(r["tcp.options.timestamp.tsecr"], ","))
	eq("tcp sack le", strings.Join(le, ","), strings.Join(r["tcp.options.sack_le"], ","))
	eq("tcp sack re", strings.Join(re, ","), strings.Join(r["tcp.options.sack_re"], ","))
	eq("tcp tfo request", strings.Join(tfoReq, ","), strings.Join(theirTFOReq, ","))
	eq("tcp tfo cookie", strings.Join(cookie, ","), strings.Join(r["tcp.options.tfo.cookie"], ","))
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
		"len >= 150", "greater 600", "less 120", "len = 66", "tcp and len > 200",
		"not tcp", "tcp and not port 7070", "(udp or icmp) and host 127.0.0.1", "ether host 00:00:00:00:00:00",
	}
	// truncated.pcap: the length primitives see the length on the wire.
	files := []string{"chat-tcp.pcap", "chat-ws.pcap", "udp-dns-icmp.pcap", "veth-arp-frag.pcap", "any-sll2.pcap", "any-sll.pcap", "raw-ip.pcap", "null-loopback.pcap", "tls.pcap",
		"truncated.pcap", "frag6.pcap", "icmp-errors.pcap"}
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
	want := "wiredojo: permission denied opening lo: live capture needs root or CAP_NET_RAW; run it inside `wiredojo sandbox --` (after `wiredojo sandbox start`), with sudo, or read a file\n"
	if code != 1 || errs != want {
		t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errs, want)
	}
}

// captureLineFields pulls out of one packet's text (our one-line view, or
// tcpdump -nn -v's lines for the packet joined) the fields both print:
// time, endpoints and, after them, TCP's flags, seq, ack, win, options and
// length, UDP's length, the ICMP description (without its length, which
// tcpdump -v leaves out for some types) and IPv6 fragment headers.
func captureLineFields(text string) map[string]string {
	f := map[string]string{}
	if sp := strings.IndexByte(text, ' '); sp > 0 {
		f["time"] = text[:sp]
	}
	// Endpoints: the first "A > B: " after the IP header (tcpdump -v puts
	// the header in parentheses before it).
	ep := regexp.MustCompile(`(?:^|[\s)])([0-9a-f.:]+) > ([0-9a-f.:]+): `)
	m := ep.FindStringSubmatchIndex(text)
	if m == nil {
		return f
	}
	// Addresses, and ports where they are printed (tcpdump prints them on
	// the first fragment of a datagram, we on the one that completes it).
	port := regexp.MustCompile(`^(.*[0-9a-f])\.(\d+)$`)
	src, dst := text[m[2]:m[3]], text[m[4]:m[5]]
	ps, pd := port.FindStringSubmatch(src), port.FindStringSubmatch(dst)
	if ps != nil && pd != nil && (strings.Count(src, ".") == 4 || strings.Contains(src, ":")) {
		src, dst = ps[1], pd[1]
		f["ports"] = ps[2] + " > " + pd[2]
	}
	f["hosts"] = src + " > " + dst
	rest := text[m[1]:]
	// Ours goes on with " | application" and " [notes]"; tcpdump -v with
	// an ICMP error's quoted datagram on the next lines.
	if i := strings.Index(rest, " | "); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	rest = regexp.MustCompile(` \[(packet size|retransmission|duplicate|out-of-order|zero window|reset|previous|keep-alive)[^\]]*\]`).ReplaceAllString(rest, "")
	rest = regexp.MustCompile(`\[(icmp6|udp) sum ok\] |cksum 0x[0-9a-f]+ \([^)]*\), `).ReplaceAllString(rest, "")
	if m := regexp.MustCompile(`^frag \(0x[0-9a-f]+:\d+\|\d+\)`).FindString(rest); m != "" {
		f["frag6"] = m
		return f
	}
	switch {
	case strings.HasPrefix(rest, "Flags ["):
		for _, k := range []struct{ name, re string }{
			{"flags", `^Flags \[([^\]]*)\]`}, {"seq", `, seq ([0-9:]+)`}, {"ack", `, ack (\d+)`},
			{"win", `, win (\d+)`}, {"options", `, options \[([^\]]*)\]`}, {"length", `, length (\d+)`},
		} {
			if m := regexp.MustCompile(k.re).FindStringSubmatch(rest); m != nil {
				f["tcp "+k.name] = m[1]
			} else {
				f["tcp "+k.name] = "-"
			}
		}
	case strings.HasPrefix(rest, "UDP, length "):
		f["udp length"] = strings.TrimPrefix(rest, "UDP, length ")
	case strings.HasPrefix(rest, "ICMP"):
		if i := strings.Index(rest, ", length "); i >= 0 {
			rest = rest[:i]
		}
		f["icmp"] = rest
	}
	return f
}

// TestCaptureLineMatchesTcpdump: our one-line view and `tcpdump -nn -v`
// print the same time, endpoints, TCP flags, sequence numbers (absolute on
// SYNs, relative after), window, options (tcpdump's notation) and length,
// UDP length, ICMP and ICMPv6 descriptions and IPv6 fragment headers, on
// every packet of every capture where both print them.
func TestCaptureLineMatchesTcpdump(t *testing.T) {
	bin := testdep.Require(t, "tcpdump", "apt-get install tcpdump")
	stamp := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{6} `)
	total := 0
	for _, cf := range captureFiles {
		if cf.name == "multi-iface.pcapng" {
			continue // tcpdump reads one link type per file; this one has two
		}
		t.Run(cf.name, func(t *testing.T) {
			file := filepath.Join(captureDir, cf.name)
			out, err := exec.Command(bin, "-nn", "-v", "-r", file).Output()
			if err != nil {
				t.Fatalf("tcpdump: %v", err)
			}
			var theirs []string
			for _, line := range strings.Split(string(out), "\n") {
				switch {
				case stamp.MatchString(line):
					theirs = append(theirs, line)
				case line != "" && len(theirs) > 0:
					theirs[len(theirs)-1] += "\n" + line
				}
			}
			// tcpdump -v: the IP header line, then the transport on the
			// next line; join them.
			for i, p := range theirs {
				theirs[i] = regexp.MustCompile(`\)\n\s+`).ReplaceAllString(p, ") ")
			}
			code, ours, errs := captureRunCLI(t, "capture", "read", file)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			lines := strings.Split(strings.TrimSuffix(ours, "\n"), "\n")
			if len(lines) != len(theirs) {
				t.Fatalf("%d lines, tcpdump %d packets", len(lines), len(theirs))
			}
			compared := 0
			for i := range lines {
				o, r := captureLineFields(lines[i]), captureLineFields(theirs[i])
				for k, v := range o {
					if w, ok := r[k]; ok {
						compared++
						if v != w {
							t.Errorf("packet %d: %s %q, tcpdump %q\n ours:    %s\n tcpdump: %s", i+1, k, v, w, lines[i], theirs[i])
						}
					}
				}
			}
			total += compared
			t.Logf("%d packets, %d fields equal to tcpdump -nn -v's", len(lines), compared)
		})
	}
	t.Logf("%d fields compared", total)
}

// TestCaptureReadProgress: reading a large file through readProgress shows
// the bytes read against the file's size, and the reader passes every byte.
func TestCaptureReadProgress(t *testing.T) {
	data := bytes.Repeat([]byte{7}, 3<<20)
	var b bytes.Buffer
	r, finish := readProgress(bytes.NewReader(data), &b, int64(len(data)))
	got, err := io.ReadAll(r)
	finish()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes (%v), want %d", len(got), err, len(data))
	}
	for _, want := range []string{"reading", "3.1/3.1 MB", "100%"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("progress lacks %q: %q", want, b.String())
		}
	}
}
