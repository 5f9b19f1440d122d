//go:build unix

package tcpchat

import (
	"fmt"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/internal/netpoll"
)

// directState is what a framed connection needs for writes that do not
// wait for its socket (TryWritePackets), made on the first such write.
type directState struct {
	w    *netpoll.NowWriter
	rest []byte // what the socket did not take: it goes out first with the next WritePackets
}

// CanWriteDirect reports whether the transport can write without waiting:
// its connection is a plain TCP socket.
func (t *framedTransport) CanWriteDirect() bool {
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
	t.d = &directState{w: netpoll.NewNowWriter(t.conn, rc)}
	return true
}

// TryWritePackets writes the payloads' frames as WritePackets does but
// without waiting for the socket: what it does not take now is kept, and
// goes out before anything else with the next WritePackets. It reports
// whether such a rest is kept. The caller checked CanWriteDirect.
func (t *framedTransport) TryWritePackets(payloads [][]byte) (rest bool, err error) {
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

// flushRest writes what an earlier TryWritePackets left, waiting as
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

// Write is the destination of TryWritePackets's framing.Writer: one write
// of the socket that does not wait, the rest copied for later. Once a rest
// is kept, what follows is added to it, so that frames stay in order.
func (d *directState) Write(p []byte) (int, error) {
	if len(d.rest) == 0 {
		n, err := d.w.Write(p)
		if err != nil {
			return 0, fmt.Errorf("direct write: %w", err)
		}
		if n == len(p) {
			return len(p), nil
		}
		d.rest = append(d.rest, p[n:]...)
		return len(p), nil
	}
	d.rest = append(d.rest, p...)
	return len(p), nil
}
