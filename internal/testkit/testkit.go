// Package testkit holds the test helpers that tests of several packages
// share and that need nothing of tcpchat (that kit is tcpchat/chattest).
// It is for tests only: no production code imports it.
package testkit

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for one goroutine (a command, a child's
// copying goroutine) writing while the test reads. The zero value is
// ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
