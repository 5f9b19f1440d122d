package engineio_test

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"

	"github.com/wiredojo/wiredojo/socketio/engineio"
)

// The examples of the Engine.IO v4 protocol description, text form.
var textExamples = []struct {
	name string
	text string
	p    engineio.Packet
}{
	{"open", `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
		engineio.Packet{Type: engineio.Open, Data: []byte(`{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)}},
	{"close", "1", engineio.Packet{Type: engineio.Close}},
	{"ping", "2", engineio.Packet{Type: engineio.Ping}},
	{"pong", "3", engineio.Packet{Type: engineio.Pong}},
	{"probe", "2probe", engineio.Packet{Type: engineio.Ping, Data: []byte("probe")}},
	{"probe answer", "3probe", engineio.Packet{Type: engineio.Pong, Data: []byte("probe")}},
	{"message", "4hello", engineio.Packet{Type: engineio.Message, Data: []byte("hello")}},
	{"socket.io event", `42["message","hi"]`, engineio.Packet{Type: engineio.Message, Data: []byte(`2["message","hi"]`)}},
	{"upgrade", "5", engineio.Packet{Type: engineio.Upgrade}},
	{"noop", "6", engineio.Packet{Type: engineio.Noop}},
	{"binary", "bAQIDBA==", engineio.Packet{Type: engineio.Message, Binary: true, Data: []byte{1, 2, 3, 4}}},
	{"empty binary", "b", engineio.Packet{Type: engineio.Message, Binary: true, Data: []byte{}}},
}

func equal(a, b engineio.Packet) bool {
	return a.Type == b.Type && a.Binary == b.Binary && bytes.Equal(a.Data, b.Data)
}

func TestDecodeText(t *testing.T) {
	t.Parallel()
	for _, tc := range textExamples {
		t.Run(tc.name, func(t *testing.T) {
			p, err := engineio.DecodeText([]byte(tc.text))
			if err != nil {
				t.Fatalf("DecodeText(%q): %v", tc.text, err)
			}
			if !equal(p, tc.p) {
				t.Fatalf("DecodeText(%q) = %+v, want %+v", tc.text, p, tc.p)
			}
			if got := engineio.AppendText(nil, tc.p); string(got) != tc.text {
				t.Fatalf("AppendText = %q, want %q", got, tc.text)
			}
		})
	}
}

func TestDecodeTextErrors(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"", "7", "abc", "x4", "b!!!!", "bAQID=BA", " 4"} {
		_, err := engineio.DecodeText([]byte(text))
		if !errors.Is(err, engineio.ErrMalformed) {
			t.Errorf("DecodeText(%q) error %v, want ErrMalformed", text, err)
		}
		var de *engineio.DecodeError
		if err != nil && !errors.As(err, &de) {
			t.Errorf("DecodeText(%q) error %T, want *DecodeError", text, err)
		}
	}
}

func TestDecodeBinary(t *testing.T) {
	t.Parallel()
	p := engineio.DecodeBinary([]byte{1, 2, 3})
	if !equal(p, engineio.Packet{Type: engineio.Message, Binary: true, Data: []byte{1, 2, 3}}) {
		t.Fatalf("DecodeBinary = %+v", p)
	}
}

// The polling payloads of the protocol description and of its test suite.
func TestPayload(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		ps   []engineio.Packet
	}{
		{"4hello", []engineio.Packet{{Type: engineio.Message, Data: []byte("hello")}}},
		{"4test1\x1e4test2\x1e4test3", []engineio.Packet{
			{Type: engineio.Message, Data: []byte("test1")},
			{Type: engineio.Message, Data: []byte("test2")},
			{Type: engineio.Message, Data: []byte("test3")}}},
		{"4hello\x1ebAQIDBA==", []engineio.Packet{
			{Type: engineio.Message, Data: []byte("hello")},
			{Type: engineio.Message, Binary: true, Data: []byte{1, 2, 3, 4}}}},
		{"2\x1e6", []engineio.Packet{{Type: engineio.Ping}, {Type: engineio.Noop}}},
	} {
		if got := engineio.AppendPayload(nil, tc.ps...); string(got) != tc.body {
			t.Errorf("AppendPayload = %q, want %q", got, tc.body)
		}
		var got []engineio.Packet
		for rest := []byte(tc.body); len(rest) > 0; {
			var p engineio.Packet
			var err error
			p, rest, err = engineio.NextPacket(rest)
			if err != nil {
				t.Fatalf("NextPacket in %q: %v", tc.body, err)
			}
			got = append(got, p)
		}
		if len(got) != len(tc.ps) {
			t.Fatalf("%q: %d packets, want %d", tc.body, len(got), len(tc.ps))
		}
		for i := range got {
			if !equal(got[i], tc.ps[i]) {
				t.Errorf("%q packet %d = %+v, want %+v", tc.body, i, got[i], tc.ps[i])
			}
		}
	}
}

func TestPayloadErrors(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", "4a\x1e", "\x1e4a", "4a\x1e\x1e4b", "4a\x1eabc"} {
		var err error
		for rest := []byte(body); err == nil; {
			_, rest, err = engineio.NextPacket(rest)
			if len(rest) == 0 {
				break
			}
		}
		if !errors.Is(err, engineio.ErrMalformed) {
			t.Errorf("body %q: error %v, want ErrMalformed", body, err)
		}
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	h := engineio.Handshake{SID: "abc", PingInterval: 300, PingTimeout: 200, MaxPayload: 1000000}
	p := engineio.OpenPacket(h)
	want := `0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`
	if got := engineio.AppendText(nil, p); string(got) != want {
		t.Fatalf("open packet %s, want %s", got, want)
	}
	back, err := engineio.ParseHandshake(p)
	if err != nil || back.SID != "abc" || back.PingTimeout != 200 {
		t.Fatalf("ParseHandshake = %+v, %v", back, err)
	}
	for _, bad := range []engineio.Packet{{Type: engineio.Message}, {Type: engineio.Open, Data: []byte("{")}, {Type: engineio.Open, Data: []byte("{}")}} {
		if _, err := engineio.ParseHandshake(bad); !errors.Is(err, engineio.ErrMalformed) {
			t.Errorf("ParseHandshake(%+v) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestTypeString(t *testing.T) {
	t.Parallel()
	if engineio.Upgrade.String() != "UPGRADE" || engineio.Type(9).String() != "TYPE(9)" {
		t.Fatalf("Type.String: %s %s", engineio.Upgrade, engineio.Type(9))
	}
}

// Partial reads must not matter to a body read whole: read one byte at a
// time, the body still decodes to the same packets.
func TestPayloadOneByteReader(t *testing.T) {
	t.Parallel()
	body := "4hello\x1ebAQIDBA==\x1e2probe"
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(iotest.OneByteReader(bytes.NewReader([]byte(body)))); err != nil {
		t.Fatal(err)
	}
	n := 0
	for rest := buf.Bytes(); len(rest) > 0; n++ {
		var err error
		if _, rest, err = engineio.NextPacket(rest); err != nil {
			t.Fatal(err)
		}
	}
	if n != 3 {
		t.Fatalf("%d packets, want 3", n)
	}
}

func BenchmarkDecodeText(b *testing.B) {
	msg := []byte(`42["message",{"text":"hi"}]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := engineio.DecodeText(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendText(b *testing.B) {
	p := engineio.Packet{Type: engineio.Message, Data: []byte(`2["message",{"text":"hi"}]`)}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = engineio.AppendText(buf[:0], p)
	}
}

// TestAppendTextEncoded checks that an encoded packet's text is its Data,
// in a WebSocket message and in a polling body alike.
func TestAppendTextEncoded(t *testing.T) {
	p := engineio.Packet{Type: engineio.Message, Data: []byte(`42["ev",1]`), Encoded: true}
	if got := string(engineio.AppendText(nil, p)); got != `42["ev",1]` {
		t.Errorf("AppendText = %q, want %q", got, `42["ev",1]`)
	}
	got := engineio.AppendPayload(nil, p, engineio.Packet{Type: engineio.Message, Data: []byte(`2["ev",2]`)})
	if want := "42[\"ev\",1]\x1e42[\"ev\",2]"; string(got) != want {
		t.Errorf("AppendPayload = %q, want %q", got, want)
	}
}
