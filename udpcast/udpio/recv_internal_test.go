package udpio

import (
	"testing"
	"time"
)

// TestDestOfAllocatesNothing: classifying a datagram's destination costs
// no allocation, for a known address and for an unknown one between two
// readings of the interfaces' addresses (at most one a second).
func TestDestOfAllocatesNothing(t *testing.T) {
	r, err := Listen(RecvOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, loKnown := r.kindOf([4]byte{127, 0, 0, 1})
	if k, _ := r.kindOf([4]byte{127, 255, 255, 255}); len(r.local) == 0 || !loKnown || k != destBroadcast {
		t.Fatalf("the addresses read at Listen lack loopback's: local %v, broadcast %v", r.local, r.bcast)
	}
	for _, tc := range []struct {
		dst  [4]byte
		want destKind
	}{
		{[4]byte{127, 0, 0, 1}, destUnicast},
		{[4]byte{255, 255, 255, 255}, destBroadcast},
		{[4]byte{127, 255, 255, 255}, destBroadcast},
		{[4]byte{239, 1, 2, 3}, destOtherGroup},
		{[4]byte{192, 0, 2, 1}, destUnicast}, // TEST-NET-1: no interface has it
	} {
		o := &oobInfo{dst: tc.dst, haveDst: true}
		r.addrsRead = time.Now() // read a moment ago: not again within the second
		var got destKind
		if n := testing.AllocsPerRun(1000, func() { got = r.destOf(o) }); n != 0 || got != tc.want {
			t.Errorf("destination %v: kind %d, want %d; %v allocations per datagram, want 0", tc.dst, got, tc.want, n)
		}
	}
	// A flood of datagrams to an unknown address reads the addresses
	// once, not once each.
	r.addrsRead = time.Time{}
	seq := r.addrsSeq
	for range 1000 {
		r.destOf(&oobInfo{dst: [4]byte{192, 0, 2, 1}, haveDst: true})
	}
	if reads := r.addrsSeq - seq; reads != 1 {
		t.Errorf("1000 datagrams to an unknown address read the addresses %d times, want 1", reads)
	}
}
