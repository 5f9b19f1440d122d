package framing_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/wiredojo/wiredojo/framing"
)

// FuzzReader feeds arbitrary bytes to the Reader one byte at a time and
// checks that it agrees with Split, never panics and never returns a frame
// above the limit.
func FuzzReader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 'a', 'b', 'c'}, uint16(16))
	f.Add([]byte{0, 0, 0, 0}, uint16(1))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1}, uint16(100))
	f.Add([]byte{0, 0}, uint16(8))
	f.Fuzz(func(t *testing.T, data []byte, max16 uint16) {
		max := int(max16) + 1
		r := framing.NewReader(iotest.OneByteReader(bytes.NewReader(data)), max)
		rest := data
		for {
			got, err := r.ReadFrame()
			want, next, ok, serr := framing.Split(rest, max)
			if serr != nil {
				if !errors.Is(err, framing.ErrFrameTooLarge) {
					t.Fatalf("Split says too large, Reader says %v", err)
				}
				return
			}
			if !ok {
				if len(rest) == 0 && err != io.EOF {
					t.Fatalf("at end: %v", err)
				}
				if len(rest) > 0 && !errors.Is(err, framing.ErrTruncated) {
					t.Fatalf("truncated input: %v", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, want) || len(got) > max {
				t.Fatalf("frame mismatch: %q vs %q (%v)", got, want, err)
			}
			rest = next
		}
	})
}
