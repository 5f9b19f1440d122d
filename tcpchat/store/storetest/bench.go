package storetest

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// Bench runs the store benchmarks on stores made by open:
//
//   - cycle/writers=N: N goroutines (each its own client id) repeat one
//     durable delivery cycle: Append one message, read it with Pending,
//     acknowledge it with AckBatch. It reports events/s (cycles per second) and the p50/p99
//     latency of a whole cycle.
//   - fanout/recipients=N: one goroutine appends each message to N client
//     queues in one call (a durable room emit); events/s counts messages
//     queued (N per call). Every FanoutDrain calls the queues are purged
//     with the timer stopped, so a store's per-client bound
//     (Limits.MaxMessages) is never what is measured.
//
// Each message carries Payload bytes.
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	for _, writers := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("cycle/writers=%d", writers), func(b *testing.B) { benchCycle(b, open(b), writers) })
	}
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("fanout/recipients=%d", n), func(b *testing.B) { benchFanout(b, open(b), n) })
	}
}

// Payload is the size of a benchmark message (a small chat event).
const Payload = 128

// FanoutDrain is how many fan-out appends may pile up in the benchmark's
// queues before it purges them; it is below store.DefaultMaxMessages.
const FanoutDrain = 1000

func benchCycle(b *testing.B, s store.Store, writers int) {
	ctx := context.Background()
	lat := make([]time.Duration, b.N)
	var next, gid atomic.Int64
	errs := make(chan error, writers)
	m := store.Message{Namespace: "/chat", Event: "msg", Payload: make([]byte, Payload)}
	par := max(1, writers/runtime.GOMAXPROCS(0))
	b.SetParallelism(par)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		client := []string{fmt.Sprintf("bench-%d", gid.Add(1))}
		offs := make([]uint64, 0, 1)
		msgs := make([]store.Message, 0, 1)
		ids := make([]store.ID, 1)
		for pb.Next() {
			t0 := time.Now()
			id, o, err := s.Append(ctx, m, client, offs[:0])
			if err == nil {
				msgs, err = s.Pending(ctx, client[0], o[0]-1, 1, msgs[:0])
			}
			if err == nil && (len(msgs) != 1 || msgs[0].ID != id) {
				err = fmt.Errorf("pending returned %d messages, not the one appended", len(msgs))
			}
			if err == nil {
				ids[0] = id
				var n int
				if n, err = s.AckBatch(ctx, client[0], ids); err == nil && n != 1 {
					err = fmt.Errorf("AckBatch removed %d messages, not the one appended", n)
				}
			}
			if err != nil {
				errs <- err
				return
			}
			lat[next.Add(1)-1] = time.Since(t0)
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	report(b, lat[:next.Load()], float64(b.N)/elapsed.Seconds())
	st := s.Stats()
	if st.Commits > 0 {
		b.ReportMetric(float64(st.Appended+st.Acked)/float64(st.Commits), "writes/commit")
	}
}

func benchFanout(b *testing.B, s store.Store, n int) {
	ctx := context.Background()
	to := make([]string, n)
	for i := range to {
		to[i] = fmt.Sprintf("member-%d", i)
	}
	m := store.Message{Namespace: "/chat", Event: "msg", Payload: make([]byte, Payload)}
	offs := make([]uint64, 0, n)
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var paused time.Duration // time spent purging, left out of events/s
	for i := range b.N {
		if i > 0 && i%FanoutDrain == 0 {
			b.StopTimer()
			t := time.Now()
			purgeAll(b, s, to)
			paused += time.Since(t)
			b.StartTimer()
		}
		t0 := time.Now()
		var err error
		if _, offs, err = s.Append(ctx, m, to, offs[:0]); err != nil {
			b.Fatalf("append %d of %d: %v", i+1, b.N, err)
		}
		lat[i] = time.Since(t0)
	}
	elapsed := time.Since(start) - paused
	b.StopTimer()
	report(b, lat, float64(b.N*n)/elapsed.Seconds())
	purgeAll(b, s, to) // keep the queues from growing across runs
}

// purgeAll empties the queues of clients.
func purgeAll(b *testing.B, s store.Store, clients []string) {
	for _, c := range clients {
		if _, err := s.Purge(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}

func report(b *testing.B, lat []time.Duration, perSec float64) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(perSec, "events/s")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}
