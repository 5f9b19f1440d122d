package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

var update = flag.Bool("update", false, "print the hex dumps for docs/PROTOCOL.md to stdout")

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range examples {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.p.Validate(); err != nil {
				t.Fatal(err)
			}
			b := tc.p.AppendTo(nil)
			if b[0] != byte(tc.p.Type) {
				t.Fatalf("first byte 0x%02x, want the type 0x%02x", b[0], byte(tc.p.Type))
			}
			got, err := wire.Decode(b)
			if err != nil {
				t.Fatalf("Decode(% x): %v", b, err)
			}
			if !reflect.DeepEqual(got, tc.p) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tc.p)
			}
			// Every strict prefix is rejected or decodes to something that
			// re-encodes to that prefix (types ending in free text or JSON).
			for i := 0; i < len(b); i++ {
				p, err := wire.Decode(b[:i])
				if err == nil && !bytes.Equal(p.AppendTo(nil), b[:i]) {
					t.Fatalf("prefix %d decodes to a different packet", i)
				}
			}
		})
	}
}

func randString(r *rand.Rand, max int) string {
	b := make([]byte, r.IntN(max+1))
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return string(b)
}

func TestRandomRoundTrips(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		base := examples[r.IntN(len(examples))].p
		p := wire.Packet{Type: base.Type}
		p.Namespace = randString(r, 20)
		switch p.Type {
		case wire.TypeHandshake:
			p.Version, p.ClientID, p.SessionID, p.ResumeOffset, p.Token = uint8(r.Uint32()), randString(r, 30), randString(r, 30), r.Uint64(), randString(r, 300)
		case wire.TypeWelcome:
			p.Version, p.ClientID, p.SessionID = uint8(r.Uint32()), randString(r, 30), randString(r, 30)
			p.PingInterval, p.PingTimeout, p.MaxFrame, p.Resumed = r.Uint32(), r.Uint32(), r.Uint32(), r.IntN(2) == 0
		case wire.TypeConnect:
			p.SocketID = randString(r, 30)
			if r.IntN(2) == 0 {
				p.Args = json.RawMessage(fmt.Sprintf(`{"n":%d}`, r.IntN(1000)))
			}
		case wire.TypeConnectError, wire.TypeDisconnect:
			p.Reason = randString(r, 40)
		case wire.TypeEvent, wire.TypeQueued:
			p.Event = randString(r, 40)
			p.HasAck = r.IntN(2) == 0
			if p.HasAck {
				p.AckID = r.Uint32()
			}
			if r.IntN(3) > 0 {
				p.Args = json.RawMessage(fmt.Sprintf(`[%d,"x"]`, r.IntN(1000)))
			}
			if p.Type == wire.TypeQueued {
				p.MessageID, p.Offset = randString(r, 30), r.Uint64()
			}
		case wire.TypeAck:
			p.AckID = r.Uint32()
			p.Args = json.RawMessage(`[]`)
		case wire.TypePing, wire.TypePong:
			p.Namespace = ""
		case wire.TypeError:
			p.Code, p.Reason = uint16(r.Uint32()), randString(r, 40)
		case wire.TypeGetAll:
			p.Offset = r.Uint64()
		case wire.TypeReceived:
			p.MessageID, p.Offset = randString(r, 30), r.Uint64()
		}
		got, err := wire.Decode(p.AppendTo(nil))
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []byte
		off  int
	}{
		{"empty", nil, -1},
		{"unknown type", []byte{'Z', 0, 0}, 0},
		{"unknown flags", []byte{'E', 0x80, 0}, 1},
		{"ack flag on ping", []byte{'P', wire.FlagAck, 0}, 1},
		{"resumed flag on event", []byte{'E', wire.FlagResumed, 0, 0}, 1},
		{"redelivered flag on event", []byte{'E', wire.FlagRedelivered, 0, 0}, 1},
		{"no namespace length", []byte{'E', 0}, 2},
		{"namespace too short", []byte{'E', 0, 5, '/'}, 3},
		{"event without name", []byte{'E', 0, 0}, 3},
		{"args not an array", append([]byte{'E', 0, 0, 1, 'x'}, `{"a":1}`...), 5},
		{"args not json", append([]byte{'E', 0, 0, 1, 'x'}, `[1,`...), 5},
		{"args not an array either", append([]byte{'A', 0, 0, 0, 0, 0, 1}, `"x"`...), 7},
		{"ack id truncated", []byte{'A', 0, 0, 0, 0}, 3},
		{"ping with trailing bytes", []byte{'P', 0, 0, 1}, 3},
		{"handshake truncated token", []byte{'H', 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 'a'}, 16},
		{"connect data not json", append([]byte{'C', 0, 0, 0}, `{`...), 4},
		{"welcome short", []byte{'W', 0, 0, 1, 0, 0, 0, 0, 0, 1}, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := wire.Decode(tc.in)
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
			if !strings.HasPrefix(err.Error(), "wire: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			var de *wire.DecodeError
			if tc.off >= 0 && (!errors.As(err, &de) || de.Offset != tc.off) {
				t.Fatalf("got %v, want a DecodeError at byte %d", err, tc.off)
			}
		})
	}
}

func TestTypeString(t *testing.T) {
	t.Parallel()
	if s := wire.TypeEvent.String(); s != "event" {
		t.Fatalf("TypeEvent = %q", s)
	}
	if s := wire.Type(0x01).String(); s != "type(0x01)" {
		t.Fatalf("unknown = %q", s)
	}
	seen := map[string]bool{}
	for _, tc := range examples {
		seen[tc.p.Type.String()] = true
	}
	if len(seen) != 13 {
		t.Fatalf("examples cover %d types, want all 13", len(seen))
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("n", 256)
	for _, p := range []wire.Packet{
		{Type: 0},
		{Type: wire.TypeEvent, Namespace: long},
		{Type: wire.TypeEvent, Event: long},
		{Type: wire.TypeHandshake, Token: strings.Repeat("t", 70000)},
	} {
		if p.Validate() == nil {
			t.Fatalf("Validate(%.40v) = nil", p)
		}
		if _, err := wire.Decode(p.AppendTo(nil)); err != nil && p.Type != 0 {
			t.Fatalf("cut fields must still decode: %v", err)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	p := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", HasAck: true, AckID: 9, Args: json.RawMessage(`["hello, world"]`)}
	buf := make([]byte, 0, 256)
	b := p.AppendTo(buf)
	var v wire.View
	if n := testing.AllocsPerRun(1000, func() { b = p.AppendTo(buf[:0]) }); n != 0 {
		t.Fatalf("AppendTo allocates %.1f times", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if err := wire.Parse(b, &v); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Parse allocates %.1f times", n)
	}
}

// dump renders a payload the way docs/PROTOCOL.md shows it: the 4-byte
// frame header first, 16 bytes a line with offsets and ASCII.
func dump(payload []byte) string {
	frame := append([]byte{byte(len(payload) >> 24), byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload))}, payload...)
	return testkit.HexDump(frame)
}

// TestProtocolDocDumps keeps docs/PROTOCOL.md true: every hex dump in it is
// produced by this encoder. Run with -update to print them.
func TestProtocolDocDumps(t *testing.T) {
	t.Parallel()
	if *update {
		for _, tc := range examples {
			fmt.Printf("%s\n```\n%s```\n\n", tc.name, dump(tc.p.AppendTo(nil)))
		}
		return
	}
	doc, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Fatalf("%v (the protocol document must exist)", err)
	}
	for _, tc := range examples {
		if !bytes.Contains(doc, []byte(dump(tc.p.AppendTo(nil)))) {
			t.Errorf("docs/PROTOCOL.md lacks the current hex dump of %s; run `cd tcpchat/wire && go test -run Dumps -args -update`", tc.name)
		}
	}
}

func TestRedeliveredRoundTrip(t *testing.T) {
	p := wire.Packet{Type: wire.TypeQueued, Namespace: "/", Event: "e", MessageID: "m1", Offset: 7, Redelivered: true, Args: []byte("[1]")}
	got, err := wire.Decode(p.AppendTo(nil))
	if err != nil || !got.Redelivered || got.Offset != 7 || got.MessageID != "m1" {
		t.Fatalf("decode %+v, %v", got, err)
	}
	// Only a queued event carries the flag.
	e := wire.Packet{Type: wire.TypeEvent, Event: "e", Redelivered: true}
	if got, err := wire.Decode(e.AppendTo(nil)); err != nil || got.Redelivered {
		t.Fatalf("event %+v, %v", got, err)
	}
}
