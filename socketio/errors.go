package socketio

import (
	"errors"
	"fmt"
)

// ErrMalformed is matched (errors.Is) by every decoding error.
var ErrMalformed = errors.New("socketio: malformed packet")

// DecodeError says what is wrong with a packet and where.
type DecodeError struct {
	Offset int    // byte offset in the packet text where decoding failed
	What   string // what was wrong
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("socketio: malformed packet at byte %d: %s", e.Offset, e.What)
}

// Is reports true for ErrMalformed.
func (e *DecodeError) Is(target error) bool { return target == ErrMalformed }
