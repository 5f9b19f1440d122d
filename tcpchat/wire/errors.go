package wire

import (
	"errors"
	"fmt"
)

// ErrMalformed is matched (errors.Is) by every decoding error.
var ErrMalformed = errors.New("wire: malformed packet")

// ErrEmpty is returned for an empty payload.
var ErrEmpty = fmt.Errorf("wire: empty payload: %w", ErrMalformed)

// DecodeError says what is wrong with a packet and where.
type DecodeError struct {
	Type   Type   // the packet type byte, 0 when the payload was empty
	Offset int    // byte offset in the payload where decoding failed
	What   string // what was wrong
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("wire: malformed %s packet at byte %d: %s", e.Type, e.Offset, e.What)
}

// Is reports true for ErrMalformed.
func (e *DecodeError) Is(target error) bool { return target == ErrMalformed }
