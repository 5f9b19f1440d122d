package framing

import (
	"errors"
	"fmt"
)

// ErrFrameTooLarge is matched (errors.Is) by every *TooLargeError: a frame
// announced a length above the reader's limit. Nothing was allocated for it.
var ErrFrameTooLarge = errors.New("framing: frame too large")

// ErrShortHeader is returned by ParseHeader when fewer than HeaderLen bytes
// are available.
var ErrShortHeader = errors.New("framing: short header")

// ErrTruncated is returned when the stream ends inside a frame (after at least
// one byte of it was read). It wraps io.ErrUnexpectedEOF.
var ErrTruncated = fmt.Errorf("framing: stream ended inside a frame: %w", errUnexpectedEOF)

// TooLargeError reports a frame whose announced length exceeds the limit.
type TooLargeError struct {
	Len uint32 // the length announced in the header
	Max int    // the limit in force
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("framing: frame of %d bytes exceeds the limit of %d bytes", e.Len, e.Max)
}

// Is reports whether target is ErrFrameTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrFrameTooLarge }
