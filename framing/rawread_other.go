//go:build !unix

package framing

import (
	"errors"
	"io"
)

// rawSource: outside Unix a Reader always reads through its source.
type rawSource struct{}

func (s *rawSource) set(io.Reader) {}
func (s *rawSource) ok() bool      { return false }
func (r *Reader) readRaw() error   { return errors.New("framing: no raw reads on this system") }
