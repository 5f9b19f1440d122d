package main

// The memory side of `chat serve`: returning the heap's free memory to the
// system once the server has gone still (--release-idle). chat.go adds the
// flag to the command and starts releaseWhenIdle.

import (
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/tcpchat"
)

// chatServeMemoryFlag is the flag of `chat serve` that returns free memory
// to the system when the server goes still.
func chatServeMemoryFlag() cli.Flag {
	return &cli.DurationFlag{Name: "release-idle", Value: time.Second, EnvVars: []string{"WIREDOJO_RELEASE_IDLE"},
		Usage: "once connections, events, packets and allocations have stood still for `D` after a change, return the heap's free memory to the system " +
			"(an idle server then keeps what its connections hold, not the peak of their handshakes; it costs one garbage collection per still moment, none under traffic); 0: leave it to Go's runtime"}
}

// minRelease is the least spare heap memory (heapReading.read) worth a release: below it the
// collection that comes with it costs more than the pages are worth.
const minRelease = 1 << 20

// idleReleaser decides when a server has gone still: its connection count,
// its event and packet counters and the bytes it allocated (readers woken
// by heartbeat answers allocate, and count no event) stand for quiet after
// a change. A
// server that never changes, or keeps changing (traffic, a stream of new
// connections), is never released; one that has settled is released once,
// and again only after the next change has settled.
type idleReleaser struct {
	quiet   time.Duration
	last    tcpchat.Stats
	allocs  uint64    // heap bytes allocated so far at the last reading
	spare   uint64    // spare memory (heapReading.read) at the last reading
	changed time.Time // when last changed
	pending bool      // changed since the last release
}

// stillAllocs is how many bytes a still server may allocate between two
// readings (its own reading and ticker included).
const stillAllocs = 64 << 10

// still takes one reading of the server's counters, the process's
// allocated bytes so far and its spare memory at now and reports whether
// the server has been still for quiet since it last changed (once per
// change). Spare memory that grew counts as a change too: readers woken
// by heartbeat answers may allocate nothing on the heap (pooled buffers)
// and still leave their stacks behind when they end.
func (r *idleReleaser) still(now time.Time, st tcpchat.Stats, allocs, spare uint64) bool {
	busy := allocs-r.allocs >= stillAllocs || spare >= r.spare+stillAllocs
	r.allocs, r.spare = allocs, spare
	if st.Connections != r.last.Connections || st.EventsIn != r.last.EventsIn || st.PacketsOut != r.last.PacketsOut || busy {
		r.last, r.changed, r.pending = st, now, true
		return false
	}
	if !r.pending || now.Sub(r.changed) < r.quiet {
		return false
	}
	r.pending = false
	return true
}

// heapReading is what releaseWhenIdle reads of the runtime each tick.
type heapReading struct {
	s []metrics.Sample
}

func newHeapReading() *heapReading {
	return &heapReading{s: []metrics.Sample{
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/gc/stack/starting-size:bytes"},
	}}
}

// read returns the bytes allocated so far and the heap memory a
// collection and a release could give back: the free pages not yet
// returned to the system, and what the heap's objects hold beyond the live
// heap of the last collection (garbage of the handshakes, not collected
// yet: a server that stops allocating may not collect again for a long
// time), and the stacks beyond those of the goroutines that run (the
// runtime keeps an ended goroutine's stack for reuse until a collection:
// the readers that a round of heartbeat answers wakes on every parked
// connection leave that much behind; goroutines that grew their stacks
// make this an overestimate, which costs at most one needless collection
// per still moment).
func (h *heapReading) read() (allocs, spare uint64) {
	metrics.Read(h.s)
	var v [7]uint64
	for i, x := range h.s {
		if x.Value.Kind() != metrics.KindUint64 {
			return 0, 0
		}
		v[i] = x.Value.Uint64()
	}
	spare = v[0]
	if objects, live := v[1], v[2]; objects > live {
		spare += objects - live
	}
	if stacks, running := v[4], v[5]*v[6]; stacks > running {
		spare += stacks - running
	}
	return v[3], spare
}

// releaseWhenIdle returns free heap memory to the system each time srv has
// gone still for quiet (debug.FreeOSMemory: a collection, then every free
// page back), until stop is closed. Go's runtime alone keeps pages up to
// about the heap goal (twice the live heap with GOGC=100) even when
// nothing allocates, and a burst of handshakes leaves that much behind: an
// idle chat server holds about half the memory after a release (see
// docs/SCALING.md).
func releaseWhenIdle(stop <-chan struct{}, srv *tcpchat.Server, quiet time.Duration) {
	r := idleReleaser{quiet: quiet}
	h := newHeapReading()
	t := time.NewTicker(max(quiet/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			allocs, spare := h.read()
			if r.still(now, srv.Stats(), allocs, spare) && spare >= minRelease {
				debug.FreeOSMemory()
			}
		}
	}
}
