package framing_test

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

// A Reader on a TCP connection with nothing buffered reads a frame that
// has arrived whole with one read system call (its header and payload
// together), not one for the header and one for the rest. Not parallel:
// it counts the whole process's reads.
func TestReaderOneReadPerArrival(t *testing.T) {
	w, rc := tcpPair(t)
	r := framing.NewReader(rc, 1<<20)
	frame := framing.AppendFrame(nil, bytes.Repeat([]byte("x"), 136))
	const frames = 200
	before := testkit.ReadCalls(t)
	for i := range frames {
		w.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := w.Write(frame); err != nil {
			t.Fatal(err)
		}
		rc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if p, err := r.ReadFrame(); err != nil || len(p) != 136 {
			t.Fatalf("frame %d: %d bytes, %v", i, len(p), err)
		}
	}
	// Loopback usually delivers before Write returns (one read a frame);
	// a frame that had not arrived yet costs one read more, that found
	// nothing. Reading the header first took two at least.
	if n := testkit.ReadCalls(t) - before; n > frames*3/2 {
		t.Fatalf("%d read calls for %d frames that arrived one at a time, want at most %d", n, frames, frames*3/2)
	}
}

// A stream that ends inside a frame is ErrTruncated over a socket too
// (TestReaderOverSocket and TestReaderOverSocketEOF check deadlines, the
// clean end and Close).
func TestReaderOverSocketTruncated(t *testing.T) {
	t.Parallel()
	client, server := tcpPair(t)
	r := framing.NewReader(server, 1<<20)
	client.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := client.Write([]byte{0, 0, 0, 9, 'a'}); err != nil {
		t.Fatal(err)
	}
	client.Close()
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.ReadFrame(); !errors.Is(err, framing.ErrTruncated) {
		t.Fatalf("the stream ended inside a frame: %v, want ErrTruncated", err)
	}
}

// A sender whose bursts fill more than the small buffer gets one read a
// burst: the reader remembers, between bursts, that it needs the large
// buffer, though it gives the buffer back while it waits. Not parallel:
// it counts the whole process's reads.
func TestReaderBurstsOneReadEach(t *testing.T) {
	w, rc := tcpPair(t)
	r := framing.NewReader(rc, 1<<20)
	var burst []byte
	const perBurst, bursts = 100, 50
	for range perBurst {
		burst = framing.AppendFrame(burst, bytes.Repeat([]byte("x"), 136)) // 14 KB a burst
	}
	read := func() {
		w.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := w.Write(burst); err != nil {
			t.Fatal(err)
		}
		rc.SetReadDeadline(time.Now().Add(10 * time.Second))
		for i := range perBurst {
			if p, err := r.ReadFrame(); err != nil || len(p) != 136 {
				t.Fatalf("frame %d: %d bytes, %v", i, len(p), err)
			}
		}
	}
	read() // the first burst finds the reader small
	before := testkit.ReadCalls(t)
	for range bursts {
		read()
	}
	if n := testkit.ReadCalls(t) - before; n > bursts*3/2 {
		t.Fatalf("%d read calls for %d bursts of 14 KB, want at most %d", n, bursts, bursts*3/2)
	}
}

// A Reader reading its socket by hand keeps a frame it has begun when a
// read deadline passes inside it, as the general path does
// (TestReadFrameResumesAfterDeadline): the bytes of the first read stay
// buffered, and the next ReadFrame goes on with the same frame. A server
// connection waits for a busy client's next bytes with a deadline before
// it parks, and its frames may arrive in more than one segment.
func TestRawReadFrameResumesAfterDeadline(t *testing.T) {
	frame := framing.AppendFrame(nil, []byte("E hello"))
	next := framing.AppendFrame(nil, []byte("E again"))
	for name, steps := range map[string][][]byte{
		"after the header":   {frame[:4], nil, slices.Concat(frame[4:], next)},
		"inside the header":  {frame[:2], nil, slices.Concat(frame[2:], next)},
		"inside the payload": {frame[:6], nil, slices.Concat(frame[6:], next)},
		"twice":              {frame[:1], nil, frame[1:5], nil, slices.Concat(frame[5:], next)},
	} {
		t.Run(name, func(t *testing.T) {
			w, rc := tcpPair(t)
			r := framing.NewReader(rc, 1<<20)
			sent := 0 // bytes of the first frame written so far
			for _, step := range steps {
				if step != nil {
					w.SetWriteDeadline(time.Now().Add(10 * time.Second))
					if _, err := w.Write(step); err != nil {
						t.Fatal(err)
					}
					sent += len(step)
					continue
				}
				// Read until the bytes sent are in the reader (loopback
				// has them when Write returns, nearly always), each read
				// ending at its deadline inside the frame.
				end := time.Now().Add(10 * time.Second)
				for {
					rc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
					p, err := r.ReadFrame()
					if !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatalf("%d bytes of a frame sent: ReadFrame = %q, %v; want the deadline", sent, p, err)
					}
					r.Release() // as a connection that parks between reads: keeps a begun frame
					if r.Buffered() == sent {
						break
					}
					if time.Now().After(end) {
						t.Fatalf("%d bytes sent, %d buffered after 10 s", sent, r.Buffered())
					}
				}
			}
			rc.SetReadDeadline(time.Now().Add(10 * time.Second))
			for _, want := range []string{"E hello", "E again"} {
				p, err := r.ReadFrame()
				if err != nil || string(p) != want {
					t.Fatalf("ReadFrame = %q, %v; want %q", p, err, want)
				}
			}
		})
	}
}
