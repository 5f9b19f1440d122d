//go:build !unix

package netpoll

import (
	"syscall"
	"time"
)

// NowWriter is not available on this system (NowWrites is false).
type NowWriter struct{}

// NowWrites reports whether NowWriter writes on this system.
const NowWrites = false

// NewNowWriter returns a NowWriter whose writes fail.
func NewNowWriter(interface{ SetWriteDeadline(time.Time) error }, syscall.RawConn) *NowWriter {
	return &NowWriter{}
}

// Reset does nothing.
func (w *NowWriter) Reset(interface{ SetWriteDeadline(time.Time) error }, syscall.RawConn) {}

// Write returns ErrUnsupported.
func (w *NowWriter) Write([]byte) (int, error) { return 0, ErrUnsupported }
