//go:build unix

package tcpchat

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/wiredojo/wiredojo/framing"
)

// directState is what a framed connection needs for writes that do not
// wait for its socket (tryWritePackets), made on the first such write.
type directState struct {
	nc   net.Conn
	rc   syscall.RawConn
	fn   func(fd uintptr) bool // write, made once (a method value allocates)
	p    []byte                // what fn writes
	n    int                   // what it wrote
	err  error                 // and its error
	rest []byte                // what the socket did not take: it goes out first with the next WritePackets
}

// canWriteDirect reports whether the transport can write without waiting:
// its connection is a plain TCP socket.
func (t *framedTransport) canWriteDirect() bool {
	if t.d != nil {
		return true
	}
	if t.noDirect || t.preamble {
		return false
	}
	rc := rawConnOf(t.conn)
	if rc == nil {
		t.noDirect = true
		return false
	}
	t.d = &directState{nc: t.conn, rc: rc}
	t.d.fn = t.d.write
	return true
}

// tryWritePackets writes the payloads' frames as WritePackets does but
// without waiting for the socket: what it does not take now is kept, and
// goes out before anything else with the next WritePackets. It reports
// whether such a rest is kept. The caller checked canWriteDirect.
func (t *framedTransport) tryWritePackets(payloads [][]byte) (rest bool, err error) {
	w := writerPool.Get().(*framing.Writer)
	w.Reset(t.d)
	for _, p := range payloads {
		w.Queue(p)
	}
	err = w.Flush()
	w.Reset(nil)
	writerPool.Put(w)
	return len(t.d.rest) > 0, err
}

// flushRest writes what an earlier tryWritePackets left, waiting as
// WritePackets does.
func (t *framedTransport) flushRest() error {
	if t.d == nil || len(t.d.rest) == 0 {
		return nil
	}
	_, err := t.conn.Write(t.d.rest)
	if cap(t.d.rest) > 64<<10 {
		t.d.rest = nil // do not keep a large buffer for a connection that is idle again
	} else {
		t.d.rest = t.d.rest[:0]
	}
	return err
}

// Write is the destination of tryWritePackets's framing.Writer: one write
// of the socket that does not wait, the rest copied for later. Once a rest
// is kept, what follows is added to it, so that frames stay in order.
func (d *directState) Write(p []byte) (int, error) {
	if len(d.rest) == 0 {
		d.p, d.n, d.err = p, 0, nil
		err := d.rc.Write(d.fn)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The writer goroutine's last deadline, long past: this
			// write does not wait, so it needs none.
			d.nc.SetWriteDeadline(time.Time{})
			err = d.rc.Write(d.fn)
		}
		d.p = nil
		if err == nil && d.err != nil {
			err = os.NewSyscallError("write", d.err)
		}
		if err != nil {
			return 0, fmt.Errorf("direct write: %w", err)
		}
		if d.n == len(p) {
			return len(p), nil
		}
		d.rest = append(d.rest, p[d.n:]...)
		return len(p), nil
	}
	d.rest = append(d.rest, p...)
	return len(p), nil
}

// write is what RawConn.Write runs: one write, never a wait (a full
// socket leaves everything to the rest).
func (d *directState) write(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), d.p)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			n, err = 0, nil
		}
		d.n, d.err = max(n, 0), err
		return true
	}
}
