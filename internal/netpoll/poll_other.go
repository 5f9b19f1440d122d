//go:build !linux

package netpoll

import "syscall"

// Poller is not available on this system.
type Poller struct{}

// Desc is not available on this system.
type Desc struct{}

// New returns ErrUnsupported outside Linux.
func New() (*Poller, error) { return nil, ErrUnsupported }

// Register returns ErrUnsupported.
func (p *Poller) Register(rc syscall.RawConn, w Waker) (*Desc, error) { return nil, ErrUnsupported }

// Close does nothing.
func (p *Poller) Close() error { return nil }

// Arm returns ErrUnsupported.
func (d *Desc) Arm() error { return ErrUnsupported }

// Close does nothing.
func (d *Desc) Close() {}
