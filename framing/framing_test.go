package framing_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"testing"
	"testing/iotest"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

func randomPayloads(rng *rand.Rand, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		size := rng.IntN(64)
		switch rng.IntN(8) {
		case 0:
			size = 0
		case 1:
			size = 4000 + rng.IntN(200) // around the pooled buffer size
		case 2:
			size = 5000 + rng.IntN(70000) // needs a bigger buffer
		}
		p := make([]byte, size)
		for j := range p {
			p[j] = byte(rng.IntN(256))
		}
		out[i] = p
	}
	return out
}

func TestRoundTripPartialReads(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	payloads := randomPayloads(rng, 300)
	var stream bytes.Buffer
	w := framing.NewWriter(&stream)
	for i, p := range payloads {
		w.Queue(p)
		if i%7 == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one-byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data-err": iotest.DataErrReader,
	}
	for name, wrap := range readers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := framing.NewReader(wrap(bytes.NewReader(stream.Bytes())), 1<<20)
			for i, want := range payloads {
				got, err := r.ReadFrame()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("frame %d: got %d bytes, want %d", i, len(got), len(want))
				}
			}
			if _, err := r.ReadFrame(); err != io.EOF {
				t.Fatalf("after last frame: got %v, want io.EOF", err)
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input []byte
		max   int
		want  error
	}{
		{"empty stream", nil, 10, io.EOF},
		{"partial header", []byte{0, 0}, 10, framing.ErrTruncated},
		{"partial payload", []byte{0, 0, 0, 5, 'a', 'b'}, 10, framing.ErrTruncated},
		{"too large", []byte{0, 0, 0, 11}, 10, framing.ErrFrameTooLarge},
		{"huge", []byte{0xff, 0xff, 0xff, 0xff}, 1 << 20, framing.ErrFrameTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := framing.NewReader(iotest.OneByteReader(bytes.NewReader(tc.input)), tc.max)
			_, err := r.ReadFrame()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// The truncation error also matches io.ErrUnexpectedEOF.
	if !errors.Is(framing.ErrTruncated, io.ErrUnexpectedEOF) {
		t.Fatal("ErrTruncated does not wrap io.ErrUnexpectedEOF")
	}
	var tl *framing.TooLargeError
	r := framing.NewReader(bytes.NewReader([]byte{0, 1, 0, 0}), 100)
	if _, err := r.ReadFrame(); !errors.As(err, &tl) || tl.Len != 65536 || tl.Max != 100 {
		t.Fatalf("got %v, want TooLargeError{65536, 100}", err)
	}
}

func TestTooLargeAfterBufferedFrame(t *testing.T) {
	t.Parallel()
	in := framing.AppendFrame(nil, []byte("ok"))
	in = append(in, 0, 0, 1, 0) // 256 > 100
	r := framing.NewReader(bytes.NewReader(in), 100)
	if p, err := r.ReadFrame(); err != nil || string(p) != "ok" {
		t.Fatalf("first frame: %q %v", p, err)
	}
	if _, err := r.ReadFrame(); !errors.Is(err, framing.ErrFrameTooLarge) {
		t.Fatalf("second frame: got %v, want ErrFrameTooLarge", err)
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	b := framing.AppendFrame(nil, []byte("abc"))
	b = framing.AppendFrame(b, nil)
	p, rest, ok, err := framing.Split(b, 0)
	if !ok || err != nil || string(p) != "abc" || len(rest) != 4 {
		t.Fatalf("first: %q %d %v %v", p, len(rest), ok, err)
	}
	p, rest, ok, err = framing.Split(rest, 0)
	if !ok || err != nil || len(p) != 0 || len(rest) != 0 {
		t.Fatalf("second: %q %d %v %v", p, len(rest), ok, err)
	}
	if _, _, ok, err := framing.Split(b[:5], 0); ok || err != nil {
		t.Fatalf("partial: ok=%v err=%v", ok, err)
	}
	if _, _, _, err := framing.Split(b, 2); !errors.Is(err, framing.ErrFrameTooLarge) {
		t.Fatalf("limit: %v", err)
	}
}

type countingWriter struct {
	writes int
	bytes.Buffer
}

func (c *countingWriter) Write(p []byte) (int, error) { c.writes++; return c.Buffer.Write(p) }

func TestWriterBatchesSmallFrames(t *testing.T) {
	t.Parallel()
	var cw countingWriter
	w := framing.NewWriter(&cw)
	for i := 0; i < 10; i++ {
		w.Queue([]byte("0123456789"))
	}
	if w.Queued() != 10 {
		t.Fatalf("Queued = %d", w.Queued())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if cw.writes != 1 || cw.Len() != 140 {
		t.Fatalf("writes=%d bytes=%d, want 1 write of 140 bytes", cw.writes, cw.Len())
	}
	if w.Queued() != 0 {
		t.Fatal("batch not emptied")
	}
}

func TestWriterOverTCP(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	big := bytes.Repeat([]byte("x"), 100_000)
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		w := framing.NewWriter(c)
		w.Queue([]byte("small"))
		w.Queue(big)
		w.Queue([]byte("tail"))
		done <- w.Flush()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := framing.NewReader(c, 1<<20)
	for _, want := range [][]byte{[]byte("small"), big, []byte("tail")} {
		got, err := r.ReadFrame()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got %d bytes, err %v; want %d bytes", len(got), err, len(want))
		}
	}
	if err := testkit.Recv(t, 30*time.Second, "the writer to finish", done); err != nil {
		t.Fatal(err)
	}
}

// loopReader replays the same bytes for ever, to measure steady state.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func TestReaderSteadyStateAllocs(t *testing.T) {
	src := &loopReader{data: framing.AppendFrame(nil, make([]byte, 128))}
	r := framing.NewReader(src, 1<<20)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ReadFrame allocates %.1f per frame, want 0", allocs)
	}
	w := framing.NewWriter(io.Discard)
	small, large := make([]byte, 128), make([]byte, 8192)
	allocs = testing.AllocsPerRun(1000, func() {
		w.Queue(small)
		w.Queue(large)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Writer allocates %.1f per batch, want 0", allocs)
	}
}

func BenchmarkReadFrame(b *testing.B) {
	for _, size := range []int{16, 128, 4096, 65536} {
		b.Run(byteSize(size), func(b *testing.B) {
			var stream []byte
			for len(stream) < 1<<20 {
				stream = framing.AppendFrame(stream, make([]byte, size))
			}
			r := framing.NewReader(&loopReader{data: stream}, 1<<20)
			b.SetBytes(int64(size + framing.HeaderLen))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ReadFrame(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriterBatch(b *testing.B) {
	for _, size := range []int{16, 128, 4096, 65536} {
		b.Run(byteSize(size), func(b *testing.B) {
			w := framing.NewWriter(io.Discard)
			p := make([]byte, size)
			b.SetBytes(int64(16 * (size + framing.HeaderLen)))
			b.ReportAllocs()
			for b.Loop() {
				for range 16 {
					w.Queue(p)
				}
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func byteSize(n int) string {
	switch {
	case n >= 1024:
		return itoa(n/1024) + "KiB"
	default:
		return itoa(n) + "B"
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// sizeReader records the size of the buffer each Read is given.
type sizeReader struct {
	src   io.Reader
	sizes []int
}

func (s *sizeReader) Read(p []byte) (int, error) {
	s.sizes = append(s.sizes, len(p))
	return s.src.Read(p)
}

// A reader whose reads keep filling its small buffer (a fast sender) moves
// to the large buffer class, so one read takes up to 64 KiB instead of 4;
// once it has drained everything and released its buffer, it starts small
// again.
func TestReaderGrowsForAFastSender(t *testing.T) {
	var stream []byte
	const frames = 10000
	for range frames {
		stream = framing.AppendFrame(stream, make([]byte, 136))
	}
	src := &sizeReader{src: bytes.NewReader(stream)}
	r := framing.NewReader(src, 1<<20)
	for i := range frames {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if max := len(stream)/(32<<10) + 4; len(src.sizes) > max {
		t.Fatalf("%d reads for %d bytes, want at most %d (64 KiB a read once busy); sizes %v", len(src.sizes), len(stream), max, src.sizes[:8])
	}
	r.Release()
	src.src = bytes.NewReader(framing.AppendFrame(nil, []byte("x")))
	src.sizes = src.sizes[:0]
	if _, err := r.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if biggest := slices.Max(src.sizes); biggest > 4<<10 {
		t.Fatalf("after going idle the reader read into %d bytes, want the small class (4 KiB)", biggest)
	}
}
