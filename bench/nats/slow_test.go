package natsbench

import (
	"testing"
	"time"
)

// Deliveries sent within the gap of the last one make one episode; a
// longer pause begins the next.
func TestSlowEpisodes(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms float64, lat time.Duration) SlowDelivery {
		return SlowDelivery{Sent: t0.Add(time.Duration(ms * float64(time.Millisecond))), Latency: lat}
	}
	eps := SlowEpisodes([]SlowDelivery{
		at(0, 2*time.Millisecond), at(5, 9*time.Millisecond), at(14, 3*time.Millisecond), // one: each within 10 ms of the last
		at(30, 4*time.Millisecond), // another
	}, 10*time.Millisecond)
	if len(eps) != 2 {
		t.Fatalf("got %d episodes, want 2: %+v", len(eps), eps)
	}
	if e := eps[0]; e.Deliveries != 3 || e.Max != 9*time.Millisecond || e.Last.Sub(e.First) != 14*time.Millisecond {
		t.Errorf("first episode %+v, want 3 deliveries over 14 ms, max 9 ms", e)
	}
	if e := eps[1]; e.Deliveries != 1 || e.Max != 4*time.Millisecond {
		t.Errorf("second episode %+v, want 1 delivery of 4 ms", e)
	}
	if got := SlowEpisodes(nil, time.Millisecond); len(got) != 0 {
		t.Errorf("no deliveries gave %d episodes", len(got))
	}
}

// The pooled p99 of a run with one stall and two without weighs the
// stall by its deliveries: here 1% of one run's deliveries (a third of a
// percent of the pool) leaves the pooled p99 at the runs' common latency,
// where that run's own p99 is the stall's.
func TestPooledQuantile(t *testing.T) {
	run := func(stalled int) FanoutResult {
		h := new(hist)
		for i := 0; i < 1000; i++ {
			d := 100 * time.Microsecond
			if i < stalled {
				d = 20 * time.Millisecond
			}
			h.record(d)
		}
		return FanoutResult{P99: h.quantile(0.99), lat: h}
	}
	rs := []FanoutResult{run(0), run(11), run(0)}
	if rs[1].P99 < 19*time.Millisecond {
		t.Fatalf("the stalled run's own p99 is %v, want the stall's 20 ms", rs[1].P99)
	}
	got, ok := PooledQuantile(rs, 0.99)
	if !ok || got > 110*time.Microsecond {
		t.Errorf("pooled p99 = %v, %v; want about 100 µs, true", got, ok)
	}
	if _, ok := PooledQuantile(append(rs, FanoutResult{P99: time.Millisecond}), 0.99); ok {
		t.Error("a result without latencies pooled")
	}
}
