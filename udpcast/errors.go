package udpcast

import "errors"

// Errors returned by DecodeHeader. Each describes the datagram, so a receiver
// can count it under that reason and carry on.
var (
	// ErrShort: the datagram is shorter than the header it announces (or than
	// the fixed part of the header).
	ErrShort = errors.New("udpcast: datagram shorter than the wiredojo-udp header")
	// ErrBadMagic: the datagram does not start with "WDUP"; it is not ours.
	ErrBadMagic = errors.New("udpcast: not a wiredojo-udp datagram (bad magic)")
	// ErrVersion: the magic matches but the version is not one this decoder
	// reads.
	ErrVersion = errors.New("udpcast: unsupported wiredojo-udp version")
	// ErrHeaderLen: the header length field is below the minimum of its
	// version.
	ErrHeaderLen = errors.New("udpcast: bad wiredojo-udp header length")
)
