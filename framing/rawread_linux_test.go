package framing_test

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing"
)

// readCalls returns the process's read system calls so far (syscr of
// /proc/self/io).
func readCalls(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no syscr in /proc/self/io: %q", b)
	return 0
}

// A Reader on a TCP connection with nothing buffered reads a frame that
// has arrived whole with one read system call (its header and payload
// together), not one for the header and one for the rest. Not parallel:
// it counts the whole process's reads.
func TestReaderOneReadPerArrival(t *testing.T) {
	w, rc := tcpPair(t)
	r := framing.NewReader(rc, 1<<20)
	frame := framing.AppendFrame(nil, bytes.Repeat([]byte("x"), 136))
	const frames = 200
	before := readCalls(t)
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
	if n := readCalls(t) - before; n > frames*3/2 {
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
