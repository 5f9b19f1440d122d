package natsbench

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's resolution: 2^subBits buckets per power of
// two, so a bucket is at most 1/32 (about 3%) of its value wide.
const subBits = 5

const (
	subCount = 1 << subBits
	buckets  = (64 - subBits + 1) * subCount
)

// hist is a log-linear latency histogram in nanoseconds. It allocates
// nothing when recording. The zero value is empty; it is not safe for
// concurrent use.
type hist struct {
	counts [buckets]uint64
	n      uint64
}

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // v>>e is in [subCount, 2*subCount)
	return (e+1)*subCount + int(v>>e) - subCount
}

// midOf returns the middle of bucket i.
func midOf(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	e := i/subCount - 1
	m := uint64(i%subCount + subCount)
	return m<<e + (uint64(1)<<e)/2
}

func (h *hist) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

func (h *hist) reset() { *h = hist{} }

// quantile returns the value at quantile q (0 < q <= 1), 0 when empty.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(midOf(i))
		}
	}
	return time.Duration(midOf(buckets - 1))
}
