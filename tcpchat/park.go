package tcpchat

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// An idle connection holds no goroutine. When the reader has handled
// everything its last read brought in, it arms the connection's socket in
// the server's poller (internal/netpoll, epoll on Linux) and its goroutine
// ends; the poller starts a reader again when bytes arrive. Three other
// things wake a parked connection: a timer at its heartbeat deadline (the
// read then fails with the deadline passed), cut (the socket is closed)
// and closeWrite (the linger deadline is set). Reads block in a goroutine,
// as before, where the poller cannot see the bytes: TLS (tls.Conn may hold
// decrypted bytes), transports given to ServeTransport (it must block),
// and systems without the poller.

// The reader's states (conn.pstate).
const (
	readRunning int32 = iota // a goroutine reads
	readParking              // the reader is arming the poller
	readParked               // no goroutine: the poller, the timer or a close wakes it
	readWoken                // woken while parking: the same goroutine reads on
)

// parkMargin is added to the heartbeat timer of a parked connection, so
// that the woken read finds its deadline passed.
const parkMargin = time.Millisecond

// errParked ends a read loop whose connection was parked (not an error:
// the connection goes on).
var errParked = errors.New("tcpchat: parked")

// pollable is a Transport whose reads may wait in the server's poller.
type pollable interface {
	bufferedTransport
	// rawConn returns the socket to poll, or nil when bytes may wait
	// above it where the poller cannot see them.
	rawConn() syscall.RawConn
	// releaseRead returns the read buffers to their pools; it is called
	// only with nothing buffered.
	releaseRead()
}

// rawConnOf returns the socket under nc, or nil when it is not a plain TCP
// socket or bytes already read wait above it.
func rawConnOf(nc net.Conn) syscall.RawConn {
	for {
		switch c := nc.(type) {
		case *trackedConn:
			nc = c.Conn
		case *prefixConn:
			if len(c.prefix) > 0 {
				return nil
			}
			nc = c.Conn
		case *net.TCPConn:
			rc, err := c.SyscallConn()
			if err != nil {
				return nil
			}
			return rc
		default:
			return nil
		}
	}
}

// startPolling registers the connection with the server's poller when its
// transport allows it; the reader then parks between reads.
//
//go:noinline
func (c *conn) startPolling() {
	p := c.srv.poller
	pt, ok := c.t.(pollable)
	if p == nil || !ok {
		return
	}
	rc := pt.rawConn()
	if rc == nil {
		return
	}
	if d, err := p.Register(rc, c.wake); err == nil {
		c.pd = d
	}
}

// stopPolling removes the connection from the poller and stops its timer;
// the reader calls it when the connection ends.
func (c *conn) stopPolling() {
	if c.ptimer != nil {
		c.ptimer.Stop()
	}
	if c.pd != nil {
		c.pd.Close()
	}
}

// park arms the poller for a connection with nothing buffered and reports
// whether the reading goroutine may end. It does not park a closing
// connection, nor one whose heartbeat deadline has passed.
//
//go:noinline
func (c *conn) park() bool {
	pt := c.t.(pollable)
	if pt.Buffered() > 0 {
		return false
	}
	o := &c.srv.opts
	wait := time.Duration(c.lastDeadline-monoNow()) + o.PingInterval + o.PingTimeout
	if wait <= 0 {
		return false
	}
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		return false
	}
	c.pstate.Store(readParking)
	c.mu.Unlock()
	pt.releaseRead()
	c.srv.wg.Add(1) // held while parked; the woken reader's goroutine ends it
	if c.ptimer == nil {
		c.ptimer = time.AfterFunc(wait+parkMargin, c.wake)
	} else {
		c.ptimer.Reset(wait + parkMargin)
	}
	if c.pd.Arm() == nil && c.pstate.CompareAndSwap(readParking, readParked) {
		return true
	}
	// The socket is closing, or something woke the connection meanwhile:
	// read on in this goroutine.
	c.pstate.Store(readRunning)
	c.srv.wg.Done()
	return false
}

// wake starts the reader of a parked connection (the poller, the timer,
// cut and closeWrite call it); it does nothing to a running reader, which
// sees the close or the deadline by itself.
func (c *conn) wake() {
	for {
		switch c.pstate.Load() {
		case readParked:
			if c.pstate.CompareAndSwap(readParked, readRunning) {
				go c.resumeRead()
				return
			}
		case readParking:
			if c.pstate.CompareAndSwap(readParking, readWoken) {
				return
			}
		default:
			return
		}
	}
}

// resumeRead reads a woken connection until it parks again or ends.
func (c *conn) resumeRead() {
	defer c.srv.wg.Done() // park's
	if err := c.loop(true); err != errParked {
		c.finish(err)
	}
}
