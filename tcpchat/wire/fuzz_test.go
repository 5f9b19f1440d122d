package wire_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

func FuzzDecode(f *testing.F) {
	for _, tc := range examples {
		f.Add(tc.p.AppendTo(nil))
	}
	f.Add([]byte{})
	f.Add([]byte{'E', 0x01, 0, 0})
	f.Add([]byte("WDJO\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := wire.Decode(b)
		if err != nil {
			if !errors.Is(err, wire.ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		// A packet that decodes re-encodes to the same bytes.
		again := p.AppendTo(nil)
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n in % x\nout % x", b, again)
		}
	})
}
