package udpio

import "errors"

// Errors of the sender and receiver options.
var (
	ErrNoDestination = errors.New("udpio: no destination: give an address, --broadcast or --group")
	ErrSize          = errors.New("udpio: datagram size out of range")
	ErrNotMulticast  = errors.New("udpio: group is not an IPv4 multicast address (224.0.0.0/4)")
)
