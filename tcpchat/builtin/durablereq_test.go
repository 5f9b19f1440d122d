package builtin

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// bindReference is what Event.Bind does with one target.
func bindReference(args []byte, req *DurableRequest) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(args, &raw); err != nil {
		return err
	}
	if len(raw) > 0 {
		return json.Unmarshal(raw[0], req)
	}
	return nil
}

var durableSeeds = []string{
	`[{"to":["consumer"],"event":"ev","args":[{"t":1,"seq":2,"p":"000"}]}]`,
	`[{"event":"news","args":["kept for bob"],"to":["bob","ann"]}]`,
	` [ { "rooms" : [ "lobby" ] , "event" : "e" } ] `,
	`[{"to":[],"rooms":[],"event":"e","args":[]}]`,
	`[{}]`,
	`[{"To":["x"],"event":"e"}]`,
	`[{"to":["a\"b"],"event":"e"}]`,
	`[{"event":"e","event":"f"}]`,
	`[{"event":"e","args":[{"a":"]}"},"\\"]}]`,
	`[{"event":"e"},2]`,
	`[{"to":null,"event":"e"}]`,
	`[{"event":"e","args":{"a":1}}]`,
	`[{"event":"é","to":["ü"]}]`,
	`[]`,
	`[1]`,
}

// The fast path takes only what it reads as encoding/json does (on valid
// JSON, which is all the server hands to handlers): same request, no error.
func FuzzBindDurable(f *testing.F) {
	for _, s := range durableSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !wire.ValidJSONText(b) {
			return
		}
		var fast DurableRequest
		if !fastDurable(b, &fast) {
			return
		}
		var ref DurableRequest
		if err := bindReference(b, &ref); err != nil {
			t.Fatalf("%s: the fast path took it, encoding/json refused it: %v", b, err)
		}
		if !reflect.DeepEqual(fast, ref) {
			t.Fatalf("%s: fast path %#v, encoding/json %#v", b, fast, ref)
		}
	})
}

// The request clients send takes the fast path, and falling back gives
// encoding/json's answer.
func TestBindDurable(t *testing.T) {
	var req DurableRequest
	if !fastDurable([]byte(durableSeeds[0]), &req) || req.Event != "ev" || len(req.To) != 1 || string(req.Args) != `[{"t":1,"seq":2,"p":"000"}]` {
		t.Fatalf("the common request did not take the fast path: %#v", req)
	}
	for _, s := range durableSeeds {
		var got, want DurableRequest
		err := bindDurable([]byte(s), &got, func(v ...any) error { return bindReference([]byte(s), v[0].(*DurableRequest)) })
		werr := bindReference([]byte(s), &want)
		if (err == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v (%v), want %#v (%v)", s, got, err, want, werr)
		}
	}
}

// BenchmarkBindDurable: the durable request as chat emit --durable sends it.
func BenchmarkBindDurable(b *testing.B) {
	args := []byte(durableSeeds[0])
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var req DurableRequest
			if !fastDurable(args, &req) {
				b.Fatal("slow path")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			var req DurableRequest
			if err := bindReference(args, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// durableAckJSON writes what json.Marshal writes for a stored emit's
// durableAck.
func TestDurableAckJSON(t *testing.T) {
	for _, res := range []tcpchat.DurableResult{
		{ID: "0123456789abcdef0123456789abcdef", Recipients: 3},
		{ID: "ffffffffffffffffffffffffffffffff", Recipients: 0},
		{ID: "00000000000000000000000000000001", Recipients: 1 << 20},
	} {
		want, err := json.Marshal(durableAck{ID: res.ID, Recipients: res.Recipients})
		if err != nil {
			t.Fatal(err)
		}
		if got := durableAckJSON(res); string(got) != string(want) {
			t.Errorf("durableAckJSON(%+v) = %s, want %s", res, got, want)
		}
	}
}
