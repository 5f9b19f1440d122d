//go:build unix

package framing

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// rawSource is how a Reader reads its socket by hand: the RawConn of a
// source that has one (a TCP or Unix connection; not TLS, whose bytes are
// not the socket's).
type rawSource struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // Reader.rawRead, made once (a method value allocates)
	n   int                   // what the last rawRead read
	err error                 // and its error
}

func (s *rawSource) set(src io.Reader) {
	*s = rawSource{}
	sc, ok := src.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	s.rc = rc
}

func (s *rawSource) ok() bool { return s.rc != nil }

// readRaw fills the empty reader with one read of its socket, waiting for
// bytes without holding a buffer.
func (r *Reader) readRaw() error {
	s := &r.raw
	if s.fn == nil {
		s.fn = r.rawRead
	}
	s.n, s.err = 0, nil
	if err := s.rc.Read(s.fn); err != nil {
		return err // a deadline, a close
	}
	switch {
	case s.err != nil:
		return os.NewSyscallError("read", s.err)
	case s.n == 0:
		return io.EOF
	}
	r.r, r.w = 0, s.n
	return nil
}

// rawRead is the read that RawConn.Read runs each time the socket may
// have bytes: it borrows a buffer (the large class while the sender is
// busy), and gives it back when there were none after all (then
// RawConn.Read waits for readability and calls it again).
func (r *Reader) rawRead(fd uintptr) bool {
	if r.bufp == nil {
		size := smallBufSize
		if r.busy {
			size = largeBufSize
		}
		r.bufp = getBuf(size)
		r.buf = *r.bufp
	}
	for {
		n, err := syscall.Read(int(fd), r.buf)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			putBuf(r.bufp)
			r.bufp, r.buf = nil, nil
			return false
		}
		r.raw.n, r.raw.err = max(n, 0), err
		r.busy = n >= smallBufSize
		return true
	}
}
