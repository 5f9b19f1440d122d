package framing

import (
	"io"
	"net"
)

// copyLimit is the payload size up to which Queue copies a payload into the
// writer's own buffer; larger payloads are sent from the caller's slice.
const copyLimit = 1024

type piece struct {
	ext  []byte // a caller's payload, or nil for own[a:b]
	a, b int
}

// Writer queues frames and sends them with one write on Flush: on a net.Conn
// that is a single writev (net.Buffers). Small payloads are copied into the
// writer's buffer; large ones are referenced and must not change until Flush
// returns.
//
// A Writer is not safe for concurrent use: one goroutine owns a connection's
// writes.
type Writer struct {
	dst    io.Writer
	own    []byte
	pieces []piece
	bufs   net.Buffers // rebuilt on each Flush, backing array reused
	out    net.Buffers // consumed by WriteTo
	frames int
}

// NewWriter returns a Writer that sends to dst.
func NewWriter(dst io.Writer) *Writer { return &Writer{dst: dst} }

// Reset drops queued frames and makes w write to dst.
func (w *Writer) Reset(dst io.Writer) {
	w.dst = dst
	w.reset()
}

func (w *Writer) reset() {
	w.own = w.own[:0]
	w.pieces = w.pieces[:0]
	w.frames = 0
}

// Queued returns the number of frames queued since the last Flush.
func (w *Writer) Queued() int { return w.frames }

// Queue adds a frame carrying payload to the batch.
func (w *Writer) Queue(payload []byte) {
	a := len(w.own)
	w.own = append(w.own, 0, 0, 0, 0)
	PutHeader(w.own[a:], len(payload))
	if len(payload) <= copyLimit {
		w.own = append(w.own, payload...)
		w.addOwn(a, len(w.own))
	} else {
		w.addOwn(a, len(w.own))
		w.pieces = append(w.pieces, piece{ext: payload})
	}
	w.frames++
}

// addOwn records own[a:b], merging it with the previous piece when they are
// adjacent in the buffer.
func (w *Writer) addOwn(a, b int) {
	if n := len(w.pieces); n > 0 && w.pieces[n-1].ext == nil && w.pieces[n-1].b == a {
		w.pieces[n-1].b = b
		return
	}
	w.pieces = append(w.pieces, piece{a: a, b: b})
}

// Flush sends every queued frame in one write and empties the batch, even on
// error.
func (w *Writer) Flush() error {
	if len(w.pieces) == 0 {
		return nil
	}
	defer w.reset()
	if len(w.pieces) == 1 && w.pieces[0].ext == nil {
		_, err := w.dst.Write(w.own[w.pieces[0].a:w.pieces[0].b])
		return err
	}
	w.bufs = w.bufs[:0]
	for _, p := range w.pieces {
		if p.ext != nil {
			w.bufs = append(w.bufs, p.ext)
		} else {
			w.bufs = append(w.bufs, w.own[p.a:p.b])
		}
	}
	w.out = w.bufs
	_, err := w.out.WriteTo(w.dst)
	clear(w.bufs) // drop references to callers' payloads
	return err
}

// WriteFrame queues one frame and flushes.
func (w *Writer) WriteFrame(payload []byte) error {
	w.Queue(payload)
	return w.Flush()
}
