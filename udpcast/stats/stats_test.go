package stats_test

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/udpcast"
	"github.com/wiredojo/wiredojo/udpcast/stats"
)

func h(seq uint64, sent int64) udpcast.Header {
	return udpcast.Header{RunID: 1, Seq: seq, SentNS: sent}
}

func TestStreamCounts(t *testing.T) {
	t.Parallel()
	var s stats.Stream
	ms := int64(time.Millisecond)
	// 0 1 3 2 2 5 (4 lost), then end marker says 7 were sent (6 lost too).
	seqs := []uint64{0, 1, 3, 2, 2, 5}
	want := []stats.Outcome{stats.Fresh, stats.Fresh, stats.Fresh, stats.Late, stats.Duplicate, stats.Fresh}
	for i, q := range seqs {
		if got := s.Add(h(q, int64(q)*ms), 100, int64(q)*ms+5*ms); got != want[i] {
			t.Fatalf("datagram %d (seq %d): outcome %v, want %v", i, q, got, want[i])
		}
	}
	sum := s.Summary()
	if sum.Sent != 6 || sum.Received != 5 || sum.Lost != 1 || sum.Duplicates != 1 || sum.Reordered != 1 {
		t.Fatalf("before end: %+v", sum)
	}
	if got := s.Add(udpcast.Header{Seq: 7, Flags: udpcast.FlagEnd}, 32, 0); got != stats.EndMark {
		t.Fatalf("end marker: %v", got)
	}
	sum = s.Summary()
	if sum.Sent != 7 || sum.Lost != 2 || !sum.Ended {
		t.Fatalf("after end: %+v", sum)
	}
	if sum.LatencyMS.P50 < 4.9 || sum.LatencyMS.P50 > 5.1 || sum.LatencyMS.Max != 5 {
		t.Fatalf("latency %+v, want 5ms", sum.LatencyMS)
	}
	if sum.JitterMS != 0 {
		t.Fatalf("constant transit gives jitter %v, want 0", sum.JitterMS)
	}
	if math.Abs(sum.ThroughputBPS-500*8/0.005) > 1 {
		t.Fatalf("throughput %v", sum.ThroughputBPS)
	}
}

func TestStreamBadSequenceNumbers(t *testing.T) {
	t.Parallel()
	var s stats.Stream
	s.Add(h(10, 0), 64, 0)
	if got := s.Add(h(10+stats.WildJump+1, 0), 64, 0); got != stats.Wild {
		t.Fatalf("huge jump: %v", got)
	}
	if got := s.Add(h(math.MaxUint64, 0), 64, 0); got != stats.Wild {
		t.Fatalf("max seq: %v", got)
	}
	s.Add(h(10+stats.Window+5, 0), 64, 0)
	if got := s.Add(h(11, 0), 64, 0); got != stats.Stale {
		t.Fatalf("old seq: %v", got)
	}
	s.Add(udpcast.Header{Seq: 200000, Flags: udpcast.FlagEnd}, 32, 0)
	if got := s.Add(h(200001, 0), 64, 0); got != stats.Wild {
		t.Fatalf("seq after end count: %v", got)
	}
	sum := s.Summary()
	if sum.Wild != 3 || sum.Stale != 1 || sum.Received != 2 || sum.Sent != 200000-10 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestStreamRandomAgainstModel(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	var s stats.Stream
	seen := map[uint64]bool{}
	var dups, late, hi uint64
	for i := 0; i < 50000; i++ {
		q := uint64(i)
		if r.IntN(10) == 0 && i > 100 {
			q = uint64(i - 1 - r.IntN(100)) // an old one: late or duplicate
		}
		if r.IntN(20) == 0 {
			continue // lost
		}
		switch {
		case seen[q]:
			dups++
		case q < hi:
			late++
		}
		seen[q] = true
		hi = max(hi, q)
		s.Add(h(q, 0), 64, int64(i))
	}
	sum := s.Summary()
	if sum.Duplicates != dups || sum.Reordered != late || sum.Received != uint64(len(seen)) || sum.Sent != hi+1 {
		t.Fatalf("summary %+v; model dups %d late %d received %d sent %d", sum, dups, late, len(seen), hi+1)
	}
}

func TestJitterRFC3550(t *testing.T) {
	t.Parallel()
	// Transit alternates 10ms / 12ms: |D| = 2ms each time; J converges to 2ms.
	var s stats.Stream
	for i := range 500 {
		tr := int64(10 * time.Millisecond)
		if i%2 == 1 {
			tr += int64(2 * time.Millisecond)
		}
		s.Add(h(uint64(i), int64(i)*int64(time.Millisecond)), 64, int64(i)*int64(time.Millisecond)+tr)
	}
	if j := s.Summary().JitterMS; math.Abs(j-2) > 0.01 {
		t.Fatalf("jitter %v ms, want 2", j)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	var hist stats.Histogram
	vals := make([]int64, 20000)
	for i := range vals {
		vals[i] = int64(r.ExpFloat64() * 5e6)
		hist.Record(vals[i])
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := float64(vals[int(q*float64(len(vals)))-1])
		got := float64(hist.Quantile(q))
		if math.Abs(got-want)/want > 0.02 {
			t.Errorf("q%.2f = %v, want %v (±2%%)", q, got, want)
		}
	}
	if hist.Max() != vals[len(vals)-1] || hist.Count() != 20000 {
		t.Errorf("max %d count %d", hist.Max(), hist.Count())
	}
	var empty stats.Histogram
	if empty.Quantile(0.5) != 0 {
		t.Error("empty histogram")
	}
	hist.Record(-5)
	hist.Record(math.MaxInt64)
	if hist.Min() != 0 || hist.Max() != stats.MaxValue {
		t.Errorf("clamping: min %d max %d", hist.Min(), hist.Max())
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	var a, b stats.Stream
	for i := range 10 {
		a.Add(h(uint64(i), 0), 10, int64(i+1)*1e6)
	}
	for i := range 5 {
		if i != 2 {
			b.Add(h(uint64(i), 0), 10, 3e6)
		}
	}
	m := stats.Merge([]*stats.Stream{&a, &b})
	if m.Sent != 15 || m.Received != 14 || m.Lost != 1 || m.LatencyMS.Max != 10 {
		t.Fatalf("merged %+v", m)
	}
}

func TestAddAllocs(t *testing.T) {
	var s stats.Stream
	s.Add(h(0, 0), 64, 1)
	i := uint64(1)
	n := testing.AllocsPerRun(1000, func() {
		s.Add(h(i, 0), 64, int64(i))
		i++
	})
	if n != 0 {
		t.Fatalf("%v allocations per datagram", n)
	}
}

func BenchmarkStreamAdd(b *testing.B) {
	var s stats.Stream
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		s.Add(h(i, 0), 64, int64(i))
		i++
	}
}

// A stream whose first datagram carries a wild sequence number recovers
// once the real ones outnumber it, and loses none of them.
func TestStreamWildFirstDatagram(t *testing.T) {
	t.Parallel()
	var s stats.Stream
	s.Add(h(1<<40, 0), 64, 0)
	for i := range 100 {
		s.Add(h(uint64(i), 0), 64, int64(i))
	}
	s.Add(udpcast.Header{Seq: 100, Flags: udpcast.FlagEnd}, 32, 0)
	sum := s.Summary()
	if sum.Received != 100 || sum.Sent != 100 || sum.Lost != 0 || sum.Wild != 1 || sum.Reordered != 0 {
		t.Fatalf("summary %+v", sum)
	}
}
