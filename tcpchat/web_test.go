package tcpchat_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// wireJSHarness runs after web/wire.js under Node: it decodes the packets
// Go encoded (stdin, JSON), tries their truncations, and encodes the
// packets the page sends, printing everything as JSON.
const wireJSHarness = `
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const hex = (u8) => Buffer.from(u8).toString("hex");
const bytes = (h) => new Uint8Array(Buffer.from(h, "hex")).buffer;
const out = { decoded: [], truncatedThrow: [], encoded: {} };
for (const h of input.decode) {
  try { out.decoded.push(decode(bytes(h))); } catch (e) { out.decoded.push({ error: e.message }); }
  // Every strict prefix that cuts a field must throw.
  out.truncatedThrow.push(input.cuts[h].every((n) => {
    try { decode(bytes(h.slice(0, 2 * n))); return false; } catch (e) { return true; }
  }));
}
out.encoded.handshake = hex(encodeHandshake("s3cret"));
out.encoded.connect = hex(encodeConnect("/chat", { name: "ann" }));
out.encoded.event = hex(encodeEvent("/chat", "message", ["hi"]));
out.encoded.eventAck = hex(encodeEvent("/chat", "join", ["lobby"], 4000000000));
out.encoded.pong = hex(encodePong());
process.stdout.write(JSON.stringify(out));
`

// TestWireJSAgreesWithGo runs the page's packet codec (web/wire.js) under
// Node: it must decode what tcpchat/wire encodes for every packet a server
// sends, refuse truncated packets, and encode what tcpchat/wire decodes.
func TestWireJSAgreesWithGo(t *testing.T) {
	t.Parallel()
	node := testdep.Require(t, "node", "apt-get install nodejs")
	src, err := os.ReadFile("web/wire.js")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "wire_test.js")
	if err := os.WriteFile(script, append(src, wireJSHarness...), 0o600); err != nil {
		t.Fatal(err)
	}

	// What a server sends, and what the page must read from it.
	type want = map[string]any
	cases := []struct {
		p    wire.Packet
		want want
		cuts []int // prefix lengths that cut a field
	}{
		{wire.Packet{Type: wire.TypeWelcome, Version: 1, ClientID: "c1", SessionID: "s7", PingInterval: 25000, PingTimeout: 20000, MaxFrame: 1 << 20},
			want{"type": 0x57, "flags": 0, "ns": "", "version": 1, "clientId": "c1", "sessionId": "s7", "pingInterval": 25000, "pingTimeout": 20000, "maxFrame": 1 << 20},
			[]int{0, 2, 4, 6, 12, 20, 21}},
		{wire.Packet{Type: wire.TypeConnect, Namespace: "/chat", SocketID: "k2"},
			want{"type": 0x43, "flags": 0, "ns": "/chat", "socketId": "k2"}, []int{1, 5, 8, 9}},
		{wire.Packet{Type: wire.TypeConnectError, Namespace: "/chat", Reason: "bad token"},
			want{"type": 0x58, "flags": 0, "ns": "/chat", "reason": "bad token"}, []int{2, 4}},
		{wire.Packet{Type: wire.TypeDisconnect, Namespace: "/chat", Reason: "bye ☺"},
			want{"type": 0x44, "flags": 0, "ns": "/chat", "reason": "bye ☺"}, []int{2, 7}},
		{wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: json.RawMessage(`[{"from":"tia","room":"r","text":"hi ☺"}]`)},
			want{"type": 0x45, "flags": 0, "ns": "/chat", "name": "message", "args": []any{want{"from": "tia", "room": "r", "text": "hi ☺"}}},
			[]int{8, 9, 12}},
		{wire.Packet{Type: wire.TypeEvent, Namespace: "/", Event: "question", HasAck: true, AckID: 3000000000, Args: json.RawMessage(`["name?",2]`)},
			want{"type": 0x45, "flags": 1, "ns": "/", "name": "question", "ackId": 3000000000, "args": []any{"name?", 2}},
			[]int{4, 10, 13, 15}},
		{wire.Packet{Type: wire.TypeEvent, Namespace: "/", Event: "empty"},
			want{"type": 0x45, "flags": 0, "ns": "/", "name": "empty", "args": []any{}}, []int{5}},
		{wire.Packet{Type: wire.TypeAck, Namespace: "/chat", AckID: 7, Args: json.RawMessage(`[{"delivered":2}]`)},
			want{"type": 0x41, "flags": 0, "ns": "/chat", "ackId": 7, "args": []any{want{"delivered": 2}}},
			[]int{8, 10}},
		{wire.Packet{Type: wire.TypePing},
			want{"type": 0x50, "flags": 0, "ns": ""}, []int{0, 1, 2}},
		{wire.Packet{Type: wire.TypeError, Code: wire.CodeRateLimited, Reason: "rate limit"},
			want{"type": 0x21, "flags": 0, "ns": "", "code": 3, "reason": "rate limit"}, []int{3, 4}},
	}
	in := struct {
		Decode []string         `json:"decode"`
		Cuts   map[string][]int `json:"cuts"`
	}{Cuts: map[string][]int{}}
	for _, tc := range cases {
		h := hex.EncodeToString(tc.p.AppendTo(nil))
		in.Decode = append(in.Decode, h)
		in.Cuts[h] = tc.cuts
	}
	stdin, _ := json.Marshal(in)

	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.Bytes())
	}
	var out struct {
		Decoded        []want            `json:"decoded"`
		TruncatedThrow []bool            `json:"truncatedThrow"`
		Encoded        map[string]string `json:"encoded"`
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatalf("node's output %q: %v", stdout, err)
	}
	for i, tc := range cases {
		wantJSON, _ := json.Marshal(tc.want)
		var w want
		json.Unmarshal(wantJSON, &w) // numbers as float64, like the output
		if i >= len(out.Decoded) || !reflect.DeepEqual(out.Decoded[i], w) {
			t.Errorf("%s: wire.js decoded %v, want %v", tc.p.Type, out.Decoded[min(i, len(out.Decoded)-1)], w)
		}
		if i >= len(out.TruncatedThrow) || !out.TruncatedThrow[i] {
			t.Errorf("%s: wire.js accepted a truncated packet (prefixes %v)", tc.p.Type, tc.cuts)
		}
	}

	// What the page sends, as tcpchat/wire reads it.
	for name, want := range map[string]wire.Packet{
		"handshake": {Type: wire.TypeHandshake, Version: wire.Version, Token: "s3cret"},
		"connect":   {Type: wire.TypeConnect, Namespace: "/chat", Args: json.RawMessage(`{"name":"ann"}`)},
		"event":     {Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: json.RawMessage(`["hi"]`)},
		"eventAck":  {Type: wire.TypeEvent, Namespace: "/chat", Event: "join", HasAck: true, AckID: 4000000000, Args: json.RawMessage(`["lobby"]`)},
		"pong":      {Type: wire.TypePong},
	} {
		b, err := hex.DecodeString(out.Encoded[name])
		if err != nil {
			t.Fatalf("%s: %q: %v", name, out.Encoded[name], err)
		}
		got, err := wire.Decode(b)
		if err != nil {
			t.Errorf("%s: tcpchat/wire refuses what wire.js encoded (%x): %v", name, b, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: wire.js encoded %+v, want %+v", name, got, want)
		}
	}
}
