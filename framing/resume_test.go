package framing_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/wiredojo/wiredojo/framing"
)

// stepReader returns its steps one Read at a time: bytes, or an error
// (a read deadline that passed) for a step that is nil.
type stepReader struct{ steps [][]byte }

func (s *stepReader) Read(p []byte) (int, error) {
	if len(s.steps) == 0 {
		return 0, errors.New("no more steps")
	}
	b := s.steps[0]
	if b == nil {
		s.steps = s.steps[1:]
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(p, b)
	if n == len(b) {
		s.steps = s.steps[1:]
	} else {
		s.steps[0] = b[n:]
	}
	return n, nil
}

// A read deadline that passes inside a frame (in its header, or between
// the header and the payload) loses nothing: the next ReadFrame goes on
// with the same frame. A server's reader waits with deadlines, and a
// frame's bytes may arrive in more than one segment.
func TestReadFrameResumesAfterDeadline(t *testing.T) {
	frame := framing.AppendFrame(nil, []byte("E hello"))
	next := framing.AppendFrame(nil, []byte("E again"))
	for name, steps := range map[string][][]byte{
		"after the header":   {frame[:4], nil, frame[4:], next},
		"inside the header":  {frame[:2], nil, frame[2:], next},
		"inside the payload": {frame[:6], nil, frame[6:], next},
		"twice":              {frame[:1], nil, frame[1:5], nil, frame[5:], next},
	} {
		t.Run(name, func(t *testing.T) {
			r := framing.NewReader(&stepReader{steps: steps}, 0)
			var got [][]byte
			for len(got) < 2 {
				p, err := r.ReadFrame()
				if errors.Is(err, os.ErrDeadlineExceeded) {
					r.Release() // as a connection that parks between reads
					continue
				}
				if err != nil {
					t.Fatalf("after %q: %v", got, err)
				}
				got = append(got, bytes.Clone(p))
			}
			if string(got[0]) != "E hello" || string(got[1]) != "E again" {
				t.Fatalf("frames %q, want [E hello E again]", got)
			}
		})
	}
}
