package natsbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

func TestPayloadRoundTrip(t *testing.T) {
	p := make([]byte, PayloadSize)
	for _, c := range []struct {
		seq uint64
		ts  int64
	}{{0, 0}, {1, 12345}, {1<<64 - 1, 1<<63 - 1}} {
		fillPayload(p, c.seq, c.ts)
		seq, ts, err := parsePayload(p)
		if err != nil || seq != c.seq || ts != c.ts {
			t.Errorf("round trip of (%d, %d): got (%d, %d, %v)", c.seq, c.ts, seq, ts, err)
		}
		if p[0] != '[' || p[len(p)-1] != ']' {
			t.Errorf("payload is not a JSON array: %q", p)
		}
	}
	for _, bad := range [][]byte{nil, p[:PayloadSize-1], []byte(`["zz` + string(p[4:]))} {
		if _, _, err := parsePayload(bad); err == nil {
			t.Errorf("parsePayload(%.20q) accepted a malformed payload", bad)
		}
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	if h.quantile(0.5) != 0 {
		t.Fatal("empty histogram has a non-zero median")
	}
	vals := make([]time.Duration, 0, 10000)
	for i := 1; i <= 10000; i++ {
		vals = append(vals, time.Duration(i)*time.Microsecond)
	}
	rand.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	for _, v := range vals {
		h.record(v)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5000 * time.Microsecond}, {0.99, 9900 * time.Microsecond}, {1, 10000 * time.Microsecond}} {
		got := h.quantile(c.q)
		if diff := got - c.want; diff < -c.want/25 || diff > c.want/25 {
			t.Errorf("quantile(%v) = %v, want %v within 4%%", c.q, got, c.want)
		}
	}
	for _, v := range []uint64{0, 1, 31, 32, 33, 63, 64, 1000, 1 << 40, 1<<62 + 12345} {
		i := bucketOf(v)
		if i < 0 || i >= buckets {
			t.Fatalf("bucketOf(%d) = %d, out of [0, %d)", v, i, buckets)
		}
		if m := midOf(i); v >= subCount && (m < v-v/subCount || m > v+v/subCount) {
			t.Errorf("bucket %d of %d has middle %d, more than 1/%d away", i, v, m, subCount)
		}
	}
}

// TestFanoutShort runs each case of the benchmark briefly on both systems:
// every event must reach every subscriber, in order, with a latency.
func TestFanoutShort(t *testing.T) {
	for _, sys := range []string{Chat, NATS} {
		for _, n := range []int{1, 10, 100} {
			t.Run(fmt.Sprintf("%s/N=%d", sys, n), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				events := 20000 / (n + 99) // 198, 181 and 100: quick under -race
				cfg := FanoutConfig{Subscribers: n, Events: events, Warmup: 20, Window: 64, Timeout: 20 * time.Second}
				r, err := RunFanout(ctx, sys, cfg)
				if err != nil {
					t.Fatal(err)
				}
				if r.Expected != int64(events*n) || r.Delivered != r.Expected || r.Lost != 0 || r.Gaps != 0 || r.Stalled {
					t.Fatalf("delivered %d of %d (lost %d, gaps %d, stalled %v)", r.Delivered, r.Expected, r.Lost, r.Gaps, r.Stalled)
				}
				if r.Disconnected != 0 || r.SlowConsumers != 0 || r.ClientDrops != 0 {
					t.Fatalf("%d disconnected, %d slow-consumer cuts, %d client drops", r.Disconnected, r.SlowConsumers, r.ClientDrops)
				}
				if r.P50 <= 0 || r.P99 < r.P50 || r.Elapsed <= 0 || r.Rate() <= 0 {
					t.Fatalf("implausible measurement: p50 %v p99 %v elapsed %v", r.P50, r.P99, r.Elapsed)
				}
			})
		}
	}
}

// TestFanoutUnboundedCountsEverything sends without a window: whatever the
// systems' slow-consumer limits do, delivered plus lost is what was sent.
func TestFanoutUnboundedCountsEverything(t *testing.T) {
	for _, sys := range []string{Chat, NATS} {
		t.Run(sys, func(t *testing.T) {
			r, err := RunFanout(context.Background(), sys, FanoutConfig{Subscribers: 10, Events: 1000, Timeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if r.Delivered+r.Lost != r.Expected || r.Delivered < 0 || r.Lost < 0 {
				t.Fatalf("delivered %d + lost %d != expected %d", r.Delivered, r.Lost, r.Expected)
			}
			if r.Lost > 0 && r.Disconnected == 0 && r.ClientDrops == 0 && r.Gaps == 0 && !r.Stalled {
				t.Fatalf("lost %d events with no cut, drop, gap or stall to show for it", r.Lost)
			}
		})
	}
}

func TestRunFanoutRejectsBadConfig(t *testing.T) {
	if _, err := RunFanout(context.Background(), Chat, FanoutConfig{}); err == nil {
		t.Error("a case with no subscribers ran")
	}
	if _, err := RunFanout(context.Background(), Chat, FanoutConfig{Subscribers: 1, Events: 1, Rate: -1}); err == nil {
		t.Error("a case with a negative rate ran")
	}
	if _, err := RunFanout(context.Background(), "kafka", FanoutConfig{Subscribers: 1, Events: 1}); err == nil {
		t.Error("an unknown system ran")
	}
}

func TestMeasureIdleNATSShort(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	m, err := MeasureIdleNATS(exe, 100)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.0f bytes per idle NATS connection (heap %.0f, stacks %.0f; 100 connections)", m.Total(), m.Heap, m.Stacks)
	if m.Total() <= 0 || m.Stacks <= 0 {
		t.Fatalf("measured %.0f bytes per connection (heap %.0f, stacks %.0f)", m.Total(), m.Heap, m.Stacks)
	}
}

// TestFanoutPaced checks that a paced case spreads its events over the
// time the rate implies and still delivers all of them.
func TestFanoutPaced(t *testing.T) {
	for _, sys := range []string{Chat, NATS} {
		t.Run(sys, func(t *testing.T) {
			cfg := FanoutConfig{Subscribers: 10, Events: 100, Warmup: 10, Window: 64, Rate: 1000, Timeout: 20 * time.Second}
			r, err := RunFanout(context.Background(), sys, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Delivered != r.Expected || r.Lost != 0 {
				t.Fatalf("delivered %d of %d", r.Delivered, r.Expected)
			}
			if min := 99 * time.Millisecond; r.Elapsed < min {
				t.Fatalf("100 events at 1000/s took %v, less than the %v pacing implies", r.Elapsed, min)
			}
		})
	}
}
