package udpio

import "errors"

// Errors of the sender and receiver options.
var (
	ErrNoDestination = errors.New("udpio: no destination (no address, broadcast or group)")
	// ErrBroadcastOff is wrapped when the kernel refuses a send because
	// the destination is a broadcast address and SendOptions.Broadcast is
	// off.
	ErrBroadcastOff = errors.New("broadcast is off")
	// ErrJoin is wrapped when the receiver cannot join its multicast group
	// (often: no multicast route on the chosen interface).
	ErrJoin         = errors.New("udpio: cannot join multicast group")
	ErrSize         = errors.New("udpio: datagram size out of range")
	ErrNotMulticast = errors.New("udpio: group is not an IPv4 multicast address (224.0.0.0/4)")
)
