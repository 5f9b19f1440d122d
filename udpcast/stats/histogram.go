package stats

import "math/bits"

// Histogram records non-negative durations in nanoseconds with a relative
// error under 1.6%: values below 128 ns exactly, above that 64 buckets per
// power of two. Values above MaxValue are recorded as MaxValue. The zero
// value is empty and ready; it allocates its buckets on first use.
type Histogram struct {
	counts []uint64
	n      uint64
	max    int64
	min    int64
	sum    float64
}

// MaxValue is the largest value a Histogram resolves (about 18 minutes).
const MaxValue = int64(1)<<40 - 1

const subBits = 6

func bucketOf(v int64) int {
	u := uint64(v)
	if u < 2<<subBits {
		return int(u)
	}
	e := bits.Len64(u) - (subBits + 1)
	return e<<subBits + int(u>>e)
}

// bucketMid returns a representative value (the middle) of bucket i.
func bucketMid(i int) int64 {
	if i < 2<<subBits {
		return int64(i)
	}
	e := i>>subBits - 1
	sub := i - e<<subBits
	return int64(sub)<<e + int64(1)<<e/2
}

// Record adds one value.
func (h *Histogram) Record(v int64) {
	v = min(max(v, 0), MaxValue)
	if h.counts == nil {
		h.counts = make([]uint64, bucketOf(MaxValue)+1)
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	h.n++
	h.max = max(h.max, v)
	h.sum += float64(v)
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest value recorded (exact), 0 when empty.
func (h *Histogram) Max() int64 { return h.max }

// Min returns the smallest value recorded (exact), 0 when empty.
func (h *Histogram) Min() int64 { return h.min }

// Mean returns the mean of the values, 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the value below which a fraction q (0..1) of the values
// lie, within the histogram's resolution and never above Max.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(max(bucketMid(i), h.min), h.max)
		}
	}
	return h.max
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, len(o.counts))
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.n += o.n
	h.max = max(h.max, o.max)
	h.sum += o.sum
}
