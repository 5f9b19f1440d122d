package socketio_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/wiredojo/wiredojo/socketio"
)

// The examples of the Socket.IO v5 protocol description and of its test
// suite, as the text of one Engine.IO message.
var examples = []struct {
	name string
	text string
	p    socketio.Packet
}{
	{"connect main", "0", socketio.Packet{Type: socketio.Connect, Namespace: "/"}},
	{"connect main with auth", `0{"token":"123"}`, socketio.Packet{Type: socketio.Connect, Namespace: "/", Data: []byte(`{"token":"123"}`)}},
	{"connect custom", "0/admin,", socketio.Packet{Type: socketio.Connect, Namespace: "/admin"}},
	{"connect custom with auth", `0/admin,{"token":"abc"}`, socketio.Packet{Type: socketio.Connect, Namespace: "/admin", Data: []byte(`{"token":"abc"}`)}},
	{"connect answer", `0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`, socketio.Packet{Type: socketio.Connect, Namespace: "/admin", Data: []byte(`{"sid":"oSO0OpakMV_3jnilAAAA"}`)}},
	{"connect answer with pid", `0{"sid":"a","pid":"b"}`, socketio.Packet{Type: socketio.Connect, Namespace: "/", Data: []byte(`{"sid":"a","pid":"b"}`)}},
	{"disconnect", "1/admin,", socketio.Packet{Type: socketio.Disconnect, Namespace: "/admin"}},
	{"disconnect main", "1", socketio.Packet{Type: socketio.Disconnect, Namespace: "/"}},
	{"event", `2["foo"]`, socketio.Packet{Type: socketio.Event, Namespace: "/", Data: []byte(`["foo"]`)}},
	{"event with args", `2["message",1,"2",{"3":[true]}]`, socketio.Packet{Type: socketio.Event, Namespace: "/", Data: []byte(`["message",1,"2",{"3":[true]}]`)}},
	{"event in namespace", `2/admin,["bar"]`, socketio.Packet{Type: socketio.Event, Namespace: "/admin", Data: []byte(`["bar"]`)}},
	{"event with ack", `2/admin,456["project:delete",123]`, socketio.Packet{Type: socketio.Event, Namespace: "/admin", ID: 456, HasID: true, Data: []byte(`["project:delete",123]`)}},
	{"event with numeric name", `212[1,2]`, socketio.Packet{Type: socketio.Event, Namespace: "/", ID: 12, HasID: true, Data: []byte(`[1,2]`)}},
	{"ack", `3/admin,456[]`, socketio.Packet{Type: socketio.Ack, Namespace: "/admin", ID: 456, HasID: true, Data: []byte(`[]`)}},
	{"ack main", `3456[1,"2",{"3":[false]}]`, socketio.Packet{Type: socketio.Ack, Namespace: "/", ID: 456, HasID: true, Data: []byte(`[1,"2",{"3":[false]}]`)}},
	{"connect error", `4/admin,{"message":"Not authorized"}`, socketio.Packet{Type: socketio.ConnectError, Namespace: "/admin", Data: []byte(`{"message":"Not authorized"}`)}},
	{"connect error invalid namespace", `4/random,{"message":"Invalid namespace"}`, socketio.Packet{Type: socketio.ConnectError, Namespace: "/random", Data: []byte(`{"message":"Invalid namespace"}`)}},
	{"connect error string", `4"nope"`, socketio.Packet{Type: socketio.ConnectError, Namespace: "/", Data: []byte(`"nope"`)}},
	{"binary event", `51-["baz",{"_placeholder":true,"num":0}]`, socketio.Packet{Type: socketio.BinaryEvent, Namespace: "/", Attachments: 1, Data: []byte(`["baz",{"_placeholder":true,"num":0}]`)}},
	{"binary event two", `52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, socketio.Packet{Type: socketio.BinaryEvent, Namespace: "/", Attachments: 2, Data: []byte(`["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}},
	{"binary event with ack", `52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, socketio.Packet{Type: socketio.BinaryEvent, Namespace: "/", Attachments: 2, ID: 789, HasID: true, Data: []byte(`["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)}},
	{"binary ack", `61-/admin,456[{"_placeholder":true,"num":0}]`, socketio.Packet{Type: socketio.BinaryAck, Namespace: "/admin", Attachments: 1, ID: 456, HasID: true, Data: []byte(`[{"_placeholder":true,"num":0}]`)}},
	{"binary event no attachment", `50-["x"]`, socketio.Packet{Type: socketio.BinaryEvent, Namespace: "/", Data: []byte(`["x"]`)}},
}

func equal(a, b socketio.Packet) bool {
	return a.Type == b.Type && a.Namespace == b.Namespace && a.Attachments == b.Attachments &&
		a.ID == b.ID && a.HasID == b.HasID && bytes.Equal(a.Data, b.Data)
}

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range examples {
		t.Run(tc.name, func(t *testing.T) {
			p, err := socketio.Decode([]byte(tc.text))
			if err != nil {
				t.Fatalf("Decode(%q): %v", tc.text, err)
			}
			if !equal(p, tc.p) {
				t.Fatalf("Decode(%q) = %+v, want %+v", tc.text, p, tc.p)
			}
			if got := tc.p.AppendTo(nil); string(got) != tc.text {
				t.Fatalf("AppendTo = %q, want %q", got, tc.text)
			}
		})
	}
}

// Texts the reference decodes although it would not write them so.
func TestDecodeLenient(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		text string
		p    socketio.Packet
	}{
		{"0/random", socketio.Packet{Type: socketio.Connect, Namespace: "/random"}},
		{"1/custom", socketio.Packet{Type: socketio.Disconnect, Namespace: "/custom"}},
		{"0/,", socketio.Packet{Type: socketio.Connect, Namespace: "/"}},
		{`2[ "a" ]`, socketio.Packet{Type: socketio.Event, Namespace: "/", Data: []byte(`[ "a" ]`)}},
	} {
		p, err := socketio.Decode([]byte(tc.text))
		if err != nil || !equal(p, tc.p) {
			t.Errorf("Decode(%q) = %+v, %v; want %+v", tc.text, p, err, tc.p)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for _, text := range []string{
		"",                       // empty
		"abc",                    // unknown type
		"7",                      // unknown type
		"2{}",                    // event payload not an array
		"2[]",                    // event without a name
		"2[{}]",                  // event name not a string or number
		`2abc["a"]`,              // invalid ack id: not JSON
		`2["connect"]`,           // reserved event
		`2["disconnecting",1]`,   // reserved event
		`2["\u0063onnect"]`,      // reserved event, escaped
		`2["a"`,                  // not JSON
		"0[]",                    // CONNECT payload not an object
		`0"x"`,                   // CONNECT payload not an object
		"1{}",                    // DISCONNECT with payload
		"4[]",                    // CONNECT_ERROR payload neither object nor string
		"4",                      // CONNECT_ERROR without payload
		"3{}",                    // ACK not an array
		"3",                      // ACK without payload
		`5["a"]`,                 // no attachment count
		`5-["a"]`,                // empty attachment count
		`51["a"]`,                // no dash
		`511-["a"]`,              // more than MaxAttachments
		`5x-["a"]`,               // not a number
		`29007199254740992["a"]`, // ack id beyond 2^53-1
	} {
		p, err := socketio.Decode([]byte(text))
		if !errors.Is(err, socketio.ErrMalformed) {
			t.Errorf("Decode(%q) = %+v, %v; want ErrMalformed", text, p, err)
		}
	}
}

// TestDecodeRouting checks that DecodeRouting leaves the JSON of EVENT
// and ACK payloads to its caller, and still refuses what DecodeInto
// refuses for their shape and for every other packet.
func TestDecodeRouting(t *testing.T) {
	t.Parallel()
	for _, text := range []string{`2["a",{]`, `2/chat,7["a",x]`, `3/chat,7[}`} {
		var p socketio.Packet
		if err := socketio.DecodeRouting([]byte(text), &p); err != nil {
			t.Errorf("DecodeRouting(%q): %v, want the payload left to the caller", text, err)
		}
		if err := socketio.DecodeInto([]byte(text), &p); !errors.Is(err, socketio.ErrMalformed) {
			t.Errorf("DecodeInto(%q): %v, want ErrMalformed", text, err)
		}
	}
	for _, text := range []string{"2{}", "2[]", `2["connect"]`, `2["\u0063onnect",1]`, "3{}", `0{"a":}`, `51-["a",{]`, `61-[}`} {
		var p socketio.Packet
		if err := socketio.DecodeRouting([]byte(text), &p); !errors.Is(err, socketio.ErrMalformed) {
			t.Errorf("DecodeRouting(%q) = %+v, %v; want ErrMalformed", text, p, err)
		}
	}
}

func TestEventName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		data, name string
		ok         bool
	}{
		{`["message",1]`, "message", true},
		{` [ "a\"b" ]`, `a"b`, true},
		{`[1]`, "", false},
		{`{}`, "", false},
		{`["unterminated`, "", false},
	} {
		name, ok := socketio.EventName([]byte(tc.data))
		if name != tc.name || ok != tc.ok {
			t.Errorf("EventName(%s) = %q, %v; want %q, %v", tc.data, name, ok, tc.name, tc.ok)
		}
	}
}

func TestTypeString(t *testing.T) {
	t.Parallel()
	if socketio.BinaryAck.String() != "BINARY_ACK" || socketio.Type(8).String() != "TYPE(8)" {
		t.Fatalf("Type.String: %s %s", socketio.BinaryAck, socketio.Type(8))
	}
}

func BenchmarkDecode(b *testing.B) {
	text := []byte(`2/chat,3["message",{"text":"hi"}]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := socketio.Decode(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMain(b *testing.B) {
	text := []byte(`23["message",{"text":"hi"}]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := socketio.Decode(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendTo(b *testing.B) {
	p := socketio.Packet{Type: socketio.Event, Namespace: "/chat", ID: 3, HasID: true, Data: []byte(`["message",{"text":"hi"}]`)}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = p.AppendTo(buf[:0])
	}
}
