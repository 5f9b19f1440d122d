package main

import (
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
)

// TestIdleReleaserReleasesOncePerStillMoment: a release comes once the
// counters and the allocations have stood still for the quiet time after
// a change, once per change; a server that keeps changing (traffic) or
// never changed gets none.
func TestIdleReleaserReleasesOncePerStillMoment(t *testing.T) {
	r := idleReleaser{quiet: time.Second}
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	idle := tcpchat.Stats{}
	steps := []struct {
		ms     int
		st     tcpchat.Stats
		allocs uint64
		want   bool
	}{
		{0, idle, 0, false},                               // nothing changed since the start
		{2000, idle, 0, false},                            // still nothing
		{2100, tcpchat.Stats{Connections: 500}, 0, false}, // a burst of connections
		{2400, tcpchat.Stats{Connections: 900}, 0, false},
		{3000, tcpchat.Stats{Connections: 900}, 0, false}, // 0.6 s still
		{3400, tcpchat.Stats{Connections: 900}, 0, true},  // 1 s still: release
		{3600, tcpchat.Stats{Connections: 900}, 0, false}, // once
		{9000, tcpchat.Stats{Connections: 900}, 0, false},
		// Traffic: events in and packets out change at every reading.
		{9250, tcpchat.Stats{Connections: 900, EventsIn: 10, PacketsOut: 90}, 0, false},
		{9500, tcpchat.Stats{Connections: 900, EventsIn: 20, PacketsOut: 180}, 0, false},
		{9750, tcpchat.Stats{Connections: 900, EventsIn: 30, PacketsOut: 270}, 0, false},
		{10000, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 360}, 0, false},
		{10750, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 360}, 0, false},
		{11000, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 360}, 0, true},
		// A heartbeat round: packets out only.
		{20000, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 1260}, 0, false},
		{21000, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 1260}, 0, true},
		// Readers woken by the clients' pongs: allocations only.
		{30000, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 1260}, 8 << 20, false},
		{30500, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 1260}, 8<<20 + 1000, false},
		{31000, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 1260}, 8<<20 + 2000, true},
		// A still server's own small allocations add up over many readings,
		// each below stillAllocs: no change, no release.
		{31250, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 1260}, 8<<20 + 40<<10, false},
		{31500, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 1260}, 8<<20 + 80<<10, false},
		{31750, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 1260}, 8<<20 + 120<<10, false},
		{40000, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 1260}, 8<<20 + 160<<10, false},
		// Readers woken by pongs that allocate nothing on the heap (pooled
		// buffers) but leave their stacks: spare memory grows, a change.
		{50000, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 1260}, 8<<20 + 160<<10, false},
		{50250, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 1260}, 8<<20 + 160<<10, false},
		{51000, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 1260}, 8<<20 + 160<<10, false},
		{51250, tcpchat.Stats{Connections: 900, EventsIn: 40, PacketsOut: 1260}, 8<<20 + 160<<10, true},
	}
	spare := map[int]uint64{50250: 4 << 20, 51000: 4 << 20, 51250: 4 << 20}
	for _, s := range steps {
		if got := r.still(at(s.ms), s.st, s.allocs, spare[s.ms]); got != s.want {
			t.Errorf("at %d ms with %+v: still %v, want %v", s.ms, s.st, got, s.want)
		}
	}
}
