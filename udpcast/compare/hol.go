package compare

import (
	"encoding/binary"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/udpcast/link"
)

// HOLDefinition says what the head-of-line figure measures, in the words
// the report and the help use.
const HOLDefinition = "head-of-line blocking: the time a TCP message that had fully arrived at the receiving host waited there, " +
	"behind an earlier message still missing, before TCP could hand it over in order " +
	"(from the link's packet times; 0 when no earlier data was missing)"

// holTracker watches the TCP data segments the link hands to side B and
// computes, per message, its head-of-line wait: from the moment all of the
// message's bytes had arrived to the moment every byte before it had too.
// observe runs on the relay's thread; waits is called after the run.
type holTracker struct {
	port atomic.Uint32 // the receiver's TCP port; 0 until it listens

	mu      sync.Mutex
	haveISN bool
	isn     uint32
	last    uint64 // last relative sequence number, for unwrapping
	segs    []holSeg
}

type holSeg struct {
	lo, hi uint64 // relative stream bytes [lo, hi)
	at     time.Duration
}

func (h *holTracker) observe(to link.Side, at time.Duration, pkt []byte) {
	if to != link.SideB || len(pkt) < 20 || pkt[0]>>4 != 4 || pkt[9] != 6 {
		return
	}
	ihl := int(pkt[0]&0x0f) * 4
	if len(pkt) < ihl+20 {
		return
	}
	tcp := pkt[ihl:]
	if uint32(binary.BigEndian.Uint16(tcp[2:4])) != h.port.Load() || h.port.Load() == 0 {
		return
	}
	seq := binary.BigEndian.Uint32(tcp[4:8])
	off := int(tcp[12]>>4) * 4
	total := int(binary.BigEndian.Uint16(pkt[2:4]))
	if off < 20 || total > len(pkt) || ihl+off > total {
		return
	}
	n := total - ihl - off
	h.mu.Lock()
	defer h.mu.Unlock()
	if tcp[13]&0x02 != 0 { // SYN: the data starts at seq+1
		h.haveISN, h.isn, h.last = true, seq+1, 0
		return
	}
	if !h.haveISN || n == 0 {
		return
	}
	rel := int64(h.last) + int64(int32(seq-h.isn-uint32(h.last)))
	if rel < 0 {
		return
	}
	h.last = uint64(rel)
	h.segs = append(h.segs, holSeg{uint64(rel), uint64(rel) + uint64(n), at})
}

// waits returns each message's head-of-line wait in ms (messages of size
// bytes, each behind a framing header), 0 when it did not wait, NaN when it
// never fully arrived.
func (h *holTracker) waits(count, size int) []float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := uint64(size + framing.HeaderLen)
	arrived := make([]time.Duration, count) // all of its bytes here
	inOrder := make([]time.Duration, count) // all bytes up to its end here
	for i := range arrived {
		arrived[i], inOrder[i] = -1, -1
	}
	var ivs []holSeg // disjoint covered ranges, sorted
	next := 0        // first message not yet in order
	for _, s := range h.segs {
		ivs = cover(ivs, s.lo, s.hi)
		for i := s.lo / m; i < uint64(count) && i*m < s.hi; i++ {
			if arrived[i] < 0 && covered(ivs, i*m, (i+1)*m) {
				arrived[i] = s.at
			}
		}
		if len(ivs) > 0 && ivs[0].lo == 0 {
			for next < count && uint64(next+1)*m <= ivs[0].hi {
				inOrder[next] = s.at
				next++
			}
		}
	}
	out := newLatencies(count)
	for i := range out {
		if arrived[i] >= 0 && inOrder[i] >= 0 {
			out[i] = float64(max(inOrder[i]-arrived[i], 0)) / 1e6
		}
	}
	return out
}

// cover adds [lo, hi) to the sorted disjoint ranges ivs, merging.
func cover(ivs []holSeg, lo, hi uint64) []holSeg {
	i := sort.Search(len(ivs), func(k int) bool { return ivs[k].hi >= lo })
	j := i
	for j < len(ivs) && ivs[j].lo <= hi {
		lo, hi = min(lo, ivs[j].lo), max(hi, ivs[j].hi)
		j++
	}
	if i == j {
		ivs = append(ivs, holSeg{})
		copy(ivs[i+1:], ivs[i:])
		ivs[i] = holSeg{lo: lo, hi: hi}
		return ivs
	}
	ivs[i] = holSeg{lo: lo, hi: hi}
	return append(ivs[:i+1], ivs[j:]...)
}

// covered reports whether [lo, hi) lies inside one range of ivs.
func covered(ivs []holSeg, lo, hi uint64) bool {
	i := sort.Search(len(ivs), func(k int) bool { return ivs[k].hi > lo })
	return i < len(ivs) && ivs[i].lo <= lo && ivs[i].hi >= hi
}
