package render

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"

	"github.com/wiredojo/wiredojo/capture"
)

// TestAppendNumbers: appendUint and appendInt write what strconv writes,
// appendDigits what fmt's %0*d does, for the edges of every digit count and
// random values.
func TestAppendNumbers(t *testing.T) {
	t.Parallel()
	vals := []uint64{0, math.MaxUint64, math.MaxInt64, math.MaxInt64 + 1}
	for p := uint64(1); p != 0 && p <= math.MaxUint64/10; p *= 10 {
		vals = append(vals, p-1, p, p+1, 10*p-1)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		vals = append(vals, r.Uint64()>>r.IntN(64))
	}
	prefix := []byte("x=")
	for _, v := range vals {
		if got, want := string(appendUint(prefix, v)), "x="+strconv.FormatUint(v, 10); got != want {
			t.Fatalf("appendUint(%d) = %s, want %s", v, got, want)
		}
		for _, i := range []int64{int64(v), -int64(v)} {
			if got, want := string(appendInt(prefix, i)), "x="+strconv.FormatInt(i, 10); got != want {
				t.Fatalf("appendInt(%d) = %s, want %s", i, got, want)
			}
		}
		for _, w := range []int{1, 4, 6, 9} {
			if got, want := string(appendDigits(prefix, v, max(w, decimalLen(v)))), fmt.Sprintf("x=%0*d", w, v); got != want {
				t.Fatalf("appendDigits(%d, %d) = %s, want %s", v, w, got, want)
			}
		}
	}
}

// TestAppendAddr: appendAddr writes what netip writes, IPv4 and IPv6.
func TestAppendAddr(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	addrs := []capture.Addr{{}, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"),
		netip.MustParseAddr("10.99.100.9"), netip.MustParseAddr("::1"), netip.MustParseAddr("::ffff:1.2.3.4")}
	for range 5000 {
		var a [4]byte
		for i := range a {
			a[i] = byte(r.IntN(256))
		}
		addrs = append(addrs, netip.AddrFrom4(a))
	}
	for _, a := range addrs {
		if got, want := string(appendAddr([]byte("x"), a)), "x"+string(a.AppendTo(nil)); got != want {
			t.Fatalf("appendAddr(%v) = %s, want %s", a, got, want)
		}
	}
}
