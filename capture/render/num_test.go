package render

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestAppendNumbers: appendUint and appendInt write what strconv writes,
// appendPad what fmt's %0*d does, for the edges of every digit count and
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
		if v <= math.MaxInt64 {
			for _, w := range []int{1, 4, 6, 9} {
				if got, want := string(appendPad(prefix, int(v), w)), fmt.Sprintf("x=%0*d", w, v); got != want {
					t.Fatalf("appendPad(%d, %d) = %s, want %s", v, w, got, want)
				}
			}
		}
	}
}
