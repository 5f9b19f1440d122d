package storetest

import (
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// TestBenchFanoutPastQueueBound runs the fan-out benchmark on a memory store
// whose queues hold 1,500 messages: testing.Benchmark raises b.N past that
// bound, and the benchmark must keep its queues under it rather than fail
// with a full queue.
func TestBenchFanoutPastQueueBound(t *testing.T) {
	const bound = 1500
	var ran int
	var failed bool
	res := testing.Benchmark(func(b *testing.B) {
		s := store.NewMemory(store.Options{Limits: store.Limits{MaxMessages: bound}})
		defer func() {
			_ = s.Close()
			failed = failed || b.Failed()
		}()
		ran = max(ran, b.N)
		benchFanout(b, s, 2)
	})
	if failed || res.N == 0 {
		t.Fatalf("the fan-out benchmark failed on a store bounded at %d messages per queue (at b.N %d)", bound, ran)
	}
	if ran <= bound {
		t.Fatalf("b.N reached only %d, not past the bound of %d: the test did not exercise it", ran, bound)
	}
}
