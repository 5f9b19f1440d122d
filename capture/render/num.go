package render

import (
	"math/bits"
	"slices"

	"github.com/wiredojo/wiredojo/capture"
)

// pairs holds "00" through "99": two digits per division by 100.
const pairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// pow10 holds the powers of ten that fit a uint64.
var pow10 = [20]uint64{
	1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// decimalLen returns the number of decimal digits of v (1 for 0).
func decimalLen(v uint64) int {
	// log10(2) ~ 1233/4096: an estimate that is at most one too small.
	n := bits.Len64(v) * 1233 >> 12
	if n < len(pow10) && v >= pow10[n] {
		n++
	}
	return max(n, 1)
}

// appendUint is strconv.AppendUint(b, v, 10), the digits written in place
// two at a time rather than formatted in a buffer and copied: the JSON and
// line views write several numbers per layer.
func appendUint(b []byte, v uint64) []byte {
	if v < 10 {
		return append(b, byte('0'+v))
	}
	if v < 100 {
		return append(b, pairs[2*v], pairs[2*v+1])
	}
	return appendDigits(b, v, decimalLen(v))
}

// appendInt is strconv.AppendInt(b, v, 10) (see appendUint).
func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return appendUint(append(b, '-'), uint64(-v))
	}
	return appendUint(b, uint64(v))
}

// appendDigits appends the last n decimal digits of v, zeros in front.
func appendDigits(b []byte, v uint64, n int) []byte {
	l := len(b)
	b = slices.Grow(b, n)[:l+n]
	// Written from the end; the lengths let the compiler drop the bounds
	// checks.
	d := b[l : l+n : l+n]
	for len(d) >= 2 {
		r := uint(v % 100)
		v /= 100
		d[len(d)-2], d[len(d)-1] = pairs[2*r], pairs[2*r+1]
		d = d[:len(d)-2]
	}
	if len(d) == 1 {
		d[0] = byte('0' + v%10)
	}
	return b
}

// appendAddr is a.AppendTo(b), an IPv4 address written octet by octet
// without netip's general formatting.
func appendAddr(b []byte, a capture.Addr) []byte {
	if !a.Is4() {
		return a.AppendTo(b)
	}
	o := a.As4()
	b = appendOctet(b, o[0])
	b = appendOctet(append(b, '.'), o[1])
	b = appendOctet(append(b, '.'), o[2])
	return appendOctet(append(b, '.'), o[3])
}

func appendOctet(b []byte, v byte) []byte {
	switch {
	case v < 10:
		return append(b, '0'+v)
	case v < 100:
		return append(b, pairs[2*v], pairs[2*v+1])
	}
	r := v % 100
	return append(b, '0'+v/100, pairs[2*r], pairs[2*r+1])
}
