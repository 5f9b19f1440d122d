package socketio_test

import (
	"errors"
	"testing"

	"github.com/wiredojo/wiredojo/socketio"
)

// FuzzDecode decodes arbitrary packet texts: every error is ErrMalformed,
// and a packet that decodes re-encodes to a text that decodes to the same
// packet (the text may differ: "0/," is written "0").
func FuzzDecode(f *testing.F) {
	for _, tc := range examples {
		f.Add([]byte(tc.text))
	}
	f.Add([]byte("0/random"))
	f.Add([]byte(`2abc["a"]`))
	f.Add([]byte(`2["\u0063onnect"]`))
	f.Add([]byte(`511-["a"]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := socketio.Decode(b)
		// DecodeRouting refuses the same texts but for an EVENT's or
		// ACK's JSON, and decodes what Decode decodes alike.
		var r socketio.Packet
		rerr := socketio.DecodeRouting(b, &r)
		if rerr != nil && !errors.Is(rerr, socketio.ErrMalformed) {
			t.Fatalf("DecodeRouting: error %v does not match ErrMalformed", rerr)
		}
		if err == nil && (rerr != nil || !equal(p, r)) {
			t.Fatalf("%q: Decode %+v, DecodeRouting %+v, %v", b, p, r, rerr)
		}
		if err != nil && rerr == nil && r.Type != socketio.Event && r.Type != socketio.Ack {
			t.Fatalf("%q: Decode refused it (%v), DecodeRouting took a %s", b, err, r.Type)
		}
		if err != nil {
			if !errors.Is(err, socketio.ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		again := p.AppendTo(nil)
		q, err := socketio.Decode(again)
		if err != nil {
			t.Fatalf("re-encoded %q as %q: %v", b, again, err)
		}
		if !equal(p, q) {
			t.Fatalf("%q: %+v, after re-encoding as %q: %+v", b, p, again, q)
		}
	})
}
