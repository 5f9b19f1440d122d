// Package netpoll waits for many sockets to become readable with one
// goroutine, so that a server's idle connections need no goroutine of
// their own: a connection arms its Desc when it has nothing left to read,
// and the Poller calls the Desc's Waker once bytes (or the end of the
// stream, or an error) arrive.
//
// It uses epoll on Linux. Elsewhere New returns ErrUnsupported and callers
// keep a goroutine blocked in each read.
//
// A Desc is armed for one wake-up at a time (one-shot): Wake runs
// at most once per Arm, in the Poller's goroutine, so it must be quick (it
// typically starts the connection's reader goroutine). Wake-ups may be
// spurious; the reader must tolerate finding nothing to read.
package netpoll

import "errors"

// ErrUnsupported is returned by New where there is no poller (outside
// Linux).
var ErrUnsupported = errors.New("netpoll: not supported on this system")

// Waker is what a Desc wakes when its socket becomes readable
// (Poller.Register). Wake runs in the Poller's goroutine and must be quick.
type Waker interface{ Wake() }

// WakeFunc makes a function a Waker.
type WakeFunc func()

// Wake calls f.
func (f WakeFunc) Wake() { f() }

// ErrClosed is returned by Register and Arm after the Poller is closed.
var ErrClosed = errors.New("netpoll: poller closed")
