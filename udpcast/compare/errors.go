package compare

import "errors"

// Errors of the comparison's options and runs.
var (
	ErrOptions = errors.New("compare: bad options")
	ErrTimeout = errors.New("compare: the stream did not finish in time")
)
