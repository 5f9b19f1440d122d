package engineio_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/wiredojo/wiredojo/socketio/engineio"
)

// FuzzPayload decodes arbitrary polling bodies: every error is ErrMalformed,
// and a body that decodes re-encodes to bytes that decode to the same
// packets (base64 may be written differently, so the bytes may differ).
func FuzzPayload(f *testing.F) {
	for _, tc := range textExamples {
		f.Add([]byte(tc.text))
	}
	f.Add([]byte("4test1\x1e4test2\x1e4test3"))
	f.Add([]byte("4hello\x1ebAQIDBA=="))
	f.Add([]byte("4a\x1e"))
	f.Add([]byte("bAQ"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var ps []engineio.Packet
		for rest := body; len(rest) > 0; {
			var p engineio.Packet
			var err error
			p, rest, err = engineio.NextPacket(rest)
			if err != nil {
				if !errors.Is(err, engineio.ErrMalformed) {
					t.Fatalf("error %v does not match ErrMalformed", err)
				}
				return
			}
			ps = append(ps, p)
		}
		again := engineio.AppendPayload(nil, ps...)
		i := 0
		for rest := again; len(rest) > 0; i++ {
			var p engineio.Packet
			var err error
			p, rest, err = engineio.NextPacket(rest)
			if err != nil {
				t.Fatalf("re-encoded body %q: %v", again, err)
			}
			if p.Type != ps[i].Type || p.Binary != ps[i].Binary || !bytes.Equal(p.Data, ps[i].Data) {
				t.Fatalf("packet %d: %+v after re-encoding, was %+v", i, p, ps[i])
			}
		}
		if i != len(ps) {
			t.Fatalf("%d packets after re-encoding, was %d", i, len(ps))
		}
	})
}
