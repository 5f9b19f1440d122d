package natsbench

import (
	"errors"
	"fmt"
)

// PayloadSize is the size of every benchmark event, in bytes. The same
// bytes travel in both systems: for the chat they are the event's JSON
// argument array, for NATS the message body.
const PayloadSize = 128

// errPayload reports a received event that is not one of ours.
var errPayload = errors.New("natsbench: malformed payload")

const hexDigits = "0123456789abcdef"

// fillPayload writes seq and the send time ts (nanoseconds since the run's
// start) into p, a PayloadSize JSON array holding one string:
// ["<16 hex seq><16 hex ts><padding>"].
func fillPayload(p []byte, seq uint64, ts int64) {
	p[0], p[1] = '[', '"'
	putHex(p[2:18], seq)
	putHex(p[18:34], uint64(ts))
	for i := 34; i < PayloadSize-2; i++ {
		p[i] = 'x'
	}
	p[PayloadSize-2], p[PayloadSize-1] = '"', ']'
}

func putHex(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = hexDigits[v&15]
		v >>= 4
	}
}

// parsePayload returns the sequence number and send time in p.
func parsePayload(p []byte) (seq uint64, ts int64, err error) {
	if len(p) != PayloadSize || p[0] != '[' || p[1] != '"' {
		return 0, 0, fmt.Errorf("%w: %d bytes", errPayload, len(p))
	}
	seq, ok1 := getHex(p[2:18])
	t, ok2 := getHex(p[18:34])
	if !ok1 || !ok2 {
		return 0, 0, errPayload
	}
	return seq, int64(t), nil
}

func getHex(src []byte) (uint64, bool) {
	var v uint64
	for _, c := range src {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint64(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
