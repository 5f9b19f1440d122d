package framing

import (
	"errors"
	"io"
	"sync"
)

// Read buffers come from two pooled size classes; frames up to
// smallBufSize-HeaderLen bytes use the small class, up to
// largeBufSize-HeaderLen the large one, and bigger frames get a buffer of
// their own that is dropped when the reader goes idle.
const (
	smallBufSize = 4 << 10
	largeBufSize = 64<<10 + smallBufSize
)

var (
	smallPool = sync.Pool{New: func() any { b := make([]byte, smallBufSize); return &b }}
	largePool = sync.Pool{New: func() any { b := make([]byte, largeBufSize); return &b }}
)

// getBuf returns a buffer of at least n bytes (len == cap) and the pointer
// to hand back to putBuf.
func getBuf(n int) *[]byte {
	switch {
	case n <= smallBufSize:
		return smallPool.Get().(*[]byte)
	case n <= largeBufSize:
		return largePool.Get().(*[]byte)
	}
	b := make([]byte, n)
	return &b
}

func putBuf(p *[]byte) {
	switch cap(*p) {
	case smallBufSize:
		smallPool.Put(p)
	case largeBufSize:
		largePool.Put(p)
	}
}

// Reader reads frames from an underlying io.Reader.
//
// A Reader is not safe for concurrent use: one goroutine owns a connection's
// reads. While it waits for the next frame with nothing buffered it holds no
// buffer at all (only the 4 header bytes): its buffer goes back to a shared
// pool, so idle connections cost little memory.
type Reader struct {
	src  io.Reader
	max  int
	bufp *[]byte // pooled buffer, nil while idle
	buf  []byte  // *bufp
	r, w int     // unread bytes are buf[r:w]
	hdr  [HeaderLen]byte
	nhdr uint8 // bytes of hdr read so far, while nothing is buffered (a byte beside hdr: the Reader of every idle server connection fits 128 bytes)
	// busy: a read filled the small buffer to its end, so the peer sends
	// faster than one small buffer a read; the next time the buffer must
	// make room it moves to the large class, and the reads that follow take
	// up to 64 KiB each. A raw read (below) sets it by what it got, so it
	// outlives the reader's idle moments between a fast sender's bursts;
	// otherwise it ends when the reader waits for a header.
	busy bool
	// raw is set when src is a socket whose reads can be done by hand
	// (rawread_unix.go): with nothing buffered, ReadFrame then reads the
	// header and what follows it in one read, into a buffer it borrows
	// only once the socket has bytes, instead of reading the 4 header
	// bytes first (a read system call more per read batch).
	raw rawSource
}

// NewReader returns a Reader that refuses frames longer than max bytes
// (max <= 0 means DefaultMaxFrame).
func NewReader(src io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	r := &Reader{src: src, max: max}
	r.raw.set(src)
	return r
}

// Max returns the reader's payload limit.
func (r *Reader) Max() int { return r.max }

// Buffered returns the number of bytes read from the source but not yet
// returned as frames.
func (r *Reader) Buffered() int { return r.w - r.r }

// Reset makes r read from src, dropping anything buffered.
func (r *Reader) Reset(src io.Reader) {
	r.src = src
	r.nhdr = 0
	r.raw.set(src)
	r.Release()
}

// Release returns the reader's buffer to the pool when nothing is buffered.
// The slice returned by the last ReadFrame must not be used afterwards.
func (r *Reader) Release() {
	if r.r != r.w {
		return
	}
	if r.bufp != nil {
		putBuf(r.bufp)
		r.bufp, r.buf = nil, nil
	}
	r.r, r.w = 0, 0
}

// ReadFrame returns the payload of the next frame. The slice is valid until
// the next call to ReadFrame, Reset or Release.
//
// Errors: io.EOF when the stream ends cleanly between frames; ErrTruncated
// (which wraps io.ErrUnexpectedEOF) when it ends inside one; a *TooLargeError
// (errors.Is ErrFrameTooLarge) when the header announces more than the limit;
// otherwise the source's error.
func (r *Reader) ReadFrame() ([]byte, error) {
	if r.r == r.w {
		// Nothing buffered: give the buffer back and wait holding nothing.
		r.Release()
		if r.raw.ok() {
			if err := r.readRaw(); err != nil {
				return nil, err
			}
			return r.ReadFrame()
		}
		r.busy = false
		if err := r.readHeader(); err != nil {
			return nil, err
		}
		n, err := r.check(r.hdr[:])
		if err != nil {
			return nil, err
		}
		// The frame continues in a buffer, header included, so that an
		// error (a read deadline) before its end loses nothing: the next
		// ReadFrame goes on with it from what is buffered.
		r.bufp = getBuf(HeaderLen + n)
		r.buf = *r.bufp
		copy(r.buf, r.hdr[:])
		r.r, r.w, r.nhdr = 0, HeaderLen, 0
	}
	if err := r.fill(HeaderLen); err != nil {
		return nil, err
	}
	n, err := r.check(r.buf[r.r:])
	if err != nil {
		return nil, err
	}
	if err := r.fill(HeaderLen + n); err != nil {
		return nil, err
	}
	start := r.r + HeaderLen
	r.r = start + n
	return r.buf[start:r.r:r.r], nil
}

// readHeader reads the next header into r.hdr, keeping what arrived
// before an error (r.nhdr) for the next call.
func (r *Reader) readHeader() error {
	for r.nhdr < HeaderLen {
		m, err := r.src.Read(r.hdr[r.nhdr:])
		r.nhdr += uint8(m) // m <= HeaderLen-nhdr (io.Reader)
		if err == nil || r.nhdr == HeaderLen {
			continue
		}
		if errors.Is(err, io.EOF) && r.nhdr > 0 {
			return ErrTruncated
		}
		return err
	}
	return nil
}

func (r *Reader) check(hdr []byte) (int, error) {
	n, _ := ParseHeader(hdr)
	if uint64(n) > uint64(r.max) {
		return 0, &TooLargeError{Len: n, Max: r.max}
	}
	return int(n), nil
}

// fill makes at least need unread bytes available in buf[r:w], compacting or
// growing the buffer as needed. The frame in progress has begun, so an EOF is
// a truncation.
func (r *Reader) fill(need int) error {
	if r.w-r.r >= need {
		return nil
	}
	if len(r.buf)-r.r < need {
		size := need
		if r.busy {
			size = max(need, largeBufSize)
		}
		if len(r.buf) >= size {
			copy(r.buf, r.buf[r.r:r.w])
		} else {
			nbp := getBuf(size)
			copy(*nbp, r.buf[r.r:r.w])
			if r.bufp != nil {
				putBuf(r.bufp)
			}
			r.bufp, r.buf = nbp, *nbp
		}
		r.w -= r.r
		r.r = 0
	}
	for r.w-r.r < need {
		m, err := r.src.Read(r.buf[r.w:])
		if r.w+m == len(r.buf) {
			r.busy = true
		}
		r.w += m
		if err != nil {
			if r.w-r.r >= need {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return ErrTruncated
			}
			return err
		}
	}
	return nil
}
