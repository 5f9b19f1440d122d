//go:build unix

package netpoll

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// NowWriter writes to a socket without ever waiting for room in it: the
// writes of a reader goroutine that serves other connections' output (a
// chat server's reader writing to its recipients) must not stall on one
// slow peer. Make one with NewNowWriter and keep it (its function is made
// once: a method value allocates); Reset points it at another socket.
type NowWriter struct {
	nc  interface{ SetWriteDeadline(time.Time) error }
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // write, made once
	p   []byte                // what fn writes
	n   int                   // what it wrote
	err error                 // and its error
}

// NowWrites reports whether NowWriter writes on this system.
const NowWrites = true

// NewNowWriter returns a NowWriter for rc, the socket under nc (with
// nothing such as TLS between them); both may be nil until Reset.
func NewNowWriter(nc interface{ SetWriteDeadline(time.Time) error }, rc syscall.RawConn) *NowWriter {
	w := &NowWriter{}
	w.fn = w.write
	w.Reset(nc, rc)
	return w
}

// Reset points w at the socket rc under nc.
func (w *NowWriter) Reset(nc interface{ SetWriteDeadline(time.Time) error }, rc syscall.RawConn) {
	w.nc, w.rc = nc, rc
}

// Write writes what the socket takes of p now, with one system call: n is
// less than len(p), with a nil error, when the socket is full. A write
// deadline of nc's that passed (another writer's, long ago) is removed:
// this write does not wait, so it needs none.
func (w *NowWriter) Write(p []byte) (n int, err error) {
	w.p, w.n, w.err = p, 0, nil
	err = w.rc.Write(w.fn)
	if errors.Is(err, os.ErrDeadlineExceeded) && w.nc != nil {
		w.nc.SetWriteDeadline(time.Time{})
		err = w.rc.Write(w.fn)
	}
	w.p = nil
	if err == nil && w.err != nil {
		err = os.NewSyscallError("write", w.err)
	}
	if err != nil {
		return 0, fmt.Errorf("netpoll: write that does not wait: %w", err)
	}
	return w.n, nil
}

// write is what RawConn.Write runs: one write, never a wait (a full
// socket takes nothing).
func (w *NowWriter) write(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), w.p)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			n, err = 0, nil
		}
		w.n, w.err = max(n, 0), err
		return true
	}
}
