package stats

import (
	"math"

	"github.com/wiredojo/wiredojo/udpcast"
)

// Window is how far behind the highest sequence number a datagram may
// arrive and still be told apart as a duplicate or a late (reordered) one.
// Older datagrams are counted as Stale and otherwise ignored.
const Window = 1 << 17

// WildJump is the largest forward jump in sequence numbers a Stream
// believes; a datagram further ahead is counted as Wild and ignored (it
// would otherwise turn into a huge number of "lost" datagrams).
const WildJump = 1 << 24

// MaxTransit is the largest one-way time, either way, a Stream believes
// between a datagram's send time and its arrival (ten minutes: clocks of
// two hosts may disagree, but not by more). A datagram further off is
// still counted as received, but its time is left out of latency and
// jitter and counted as BadTime.
const MaxTransit = int64(10 * 60 * 1e9)

// Outcome classifies one datagram fed to Stream.Add.
type Outcome uint8

// Outcomes of Stream.Add.
const (
	Fresh     Outcome = iota // first copy, in order
	Late                     // first copy, after a higher sequence number (reordered)
	Duplicate                // seen before
	Stale                    // older than Window: cannot tell; ignored
	Wild                     // implausible sequence number; ignored
	EndMark                  // an end-of-run marker (FlagEnd)
	BadEnd                   // an end marker with an implausible count; ignored
)

// Stream accumulates the statistics of one sender's run. The zero value is
// ready. A Stream is not safe for concurrent use.
type Stream struct {
	started  bool
	base     uint64 // lowest sequence number seen
	highest  uint64
	endSeen  bool
	endCount uint64 // data datagrams the sender says it sent

	received, duplicates, reordered, stale, wild uint64
	bytes                                        uint64
	badEnd, badTime                              uint64

	seen []uint64 // ring bitmap over sequence numbers (highest-Window, highest]

	firstArrival, lastArrival int64
	prevTransit               int64
	timed                     bool    // prevTransit holds a believed transit time
	jitter                    float64 // RFC 3550 J, in ns

	latency Histogram

	// The last datagrams found stale, kept so that a stream whose first
	// datagram carried a wild sequence number can start again from the
	// real ones (see rebase).
	staleBuf [staleKeep]staleDatagram
	staleRun int // stale datagrams since the last accepted one
}

// staleKeep is how many stale datagrams in a row, outnumbering those
// accepted, make a Stream decide that its first sequence number was the
// wild one.
const staleKeep = 8

type staleDatagram struct {
	h    udpcast.Header
	size int
	at   int64
}

func (s *Stream) bit(seq uint64) (word *uint64, mask uint64) {
	i := seq % Window
	return &s.seen[i/64], 1 << (i % 64)
}

// Add records one decoded datagram of size bytes (UDP payload, header
// included) that arrived at arrivalNS (Unix ns, same clock as the sender's
// SentNS when latency should mean anything).
func (s *Stream) Add(h udpcast.Header, size int, arrivalNS int64) Outcome {
	if h.End() {
		// An end marker says how many datagrams were sent: believe it
		// only when it is at least what arrived and no further ahead than
		// a data datagram could be.
		if (s.started && (h.Seq <= s.highest || h.Seq-s.highest > WildJump)) || (!s.started && h.Seq > WildJump) {
			s.badEnd++
			return BadEnd
		}
		if !s.endSeen || h.Seq > s.endCount {
			s.endCount = h.Seq
		}
		s.endSeen = true
		return EndMark
	}
	if s.seen == nil {
		s.seen = make([]uint64, Window/64)
	}
	seq := h.Seq
	if s.endSeen && seq >= s.endCount {
		s.wild++
		return Wild
	}
	out := Fresh
	switch {
	case !s.started:
		s.started = true
		s.base, s.highest = seq, seq
		s.firstArrival = arrivalNS
		w, m := s.bit(seq)
		*w |= m
	case seq > s.highest:
		if seq-s.highest > WildJump {
			s.wild++
			return Wild
		}
		// Clear the ring slots of the sequence numbers we skip over.
		s.clearRange(s.highest+1, seq)
		w, m := s.bit(seq)
		*w |= m
		s.highest = seq
	default:
		if s.highest-seq >= Window {
			s.stale++
			if s.staleRun < staleKeep {
				s.staleBuf[s.staleRun] = staleDatagram{h, size, arrivalNS}
			}
			s.staleRun++
			if s.staleRun >= staleKeep && s.staleRun > int(s.received) {
				return s.rebase()
			}
			return Stale
		}
		w, m := s.bit(seq)
		if *w&m != 0 {
			s.duplicates++
			return Duplicate
		}
		*w |= m
		if seq < s.base {
			s.base = seq
		}
		s.reordered++
		out = Late
	}
	s.staleRun = 0
	s.received++
	s.bytes += uint64(size)
	s.lastArrival = arrivalNS
	transit := arrivalNS - h.SentNS
	if transit > MaxTransit || transit < -MaxTransit {
		s.badTime++
		return out
	}
	if s.timed {
		d := float64(transit - s.prevTransit)
		s.jitter += (math.Abs(d) - s.jitter) / 16
	}
	s.timed = true
	s.prevTransit = transit
	s.latency.Record(transit)
	return out
}

// clearRange clears the ring bits of sequence numbers [lo, hi), a word at
// a time where it can.
func (s *Stream) clearRange(lo, hi uint64) {
	if hi-lo >= Window {
		clear(s.seen)
		return
	}
	for q := lo; q < hi; {
		if i := q % Window; i%64 == 0 && hi-q >= 64 {
			s.seen[i/64] = 0
			q += 64
			continue
		}
		w, m := s.bit(q)
		*w &^= m
		q++
	}
}

// rebase restarts the stream from the stale datagrams it kept: what it had
// accepted so far followed a wild sequence number and is recounted as wild.
// It returns the outcome of the last kept datagram.
func (s *Stream) rebase() Outcome {
	kept := s.staleBuf
	wild := s.wild + s.received
	endSeen, endCount := s.endSeen, s.endCount
	seen := s.seen
	clear(seen)
	*s = Stream{seen: seen, endSeen: endSeen, endCount: endCount, wild: wild}
	out := Stale
	for _, d := range kept {
		out = s.Add(d.h, d.size, d.at)
	}
	return out
}

// Latency returns the one-way latency histogram (arrival - SentNS).
func (s *Stream) Latency() *Histogram { return &s.latency }

// Received returns the number of distinct data datagrams received.
func (s *Stream) Received() uint64 { return s.received }

// Ended reports whether an end-of-run marker arrived.
func (s *Stream) Ended() bool { return s.endSeen }

// Summary returns the statistics so far.
func (s *Stream) Summary() Summary {
	var sent uint64
	switch {
	case s.endSeen && s.endCount >= s.base:
		sent = s.endCount - s.base
	case s.started:
		sent = s.highest - s.base + 1
	}
	sum := Summary{
		Sent:       sent,
		Received:   s.received,
		Duplicates: s.duplicates,
		Reordered:  s.reordered,
		JitterMS:   s.jitter / 1e6,
		LatencyMS:  latencyOf(&s.latency),
		Stale:      s.stale,
		Wild:       s.wild,
		BadEnd:     s.badEnd,
		BadTime:    s.badTime,
		Bytes:      s.bytes,
		Ended:      s.endSeen,
	}
	if sent > s.received {
		sum.Lost = sent - s.received
	}
	if d := s.lastArrival - s.firstArrival; d > 0 && s.received > 1 {
		sum.ThroughputBPS = float64(s.bytes) * 8 / (float64(d) / 1e9)
	}
	return sum
}

func latencyOf(h *Histogram) Latency {
	ms := func(v int64) float64 { return float64(v) / 1e6 }
	return Latency{P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)), P99: ms(h.Quantile(0.99)), Max: ms(h.Max())}
}

// Latency holds latency percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Summary is the result of a stream: the JSON summary object of
// `udp recv --json` (docs/ARCHITECTURE.md, "Compare JSON").
type Summary struct {
	Sent          uint64  `json:"sent"` // from the sender's sequence numbers (or its end marker)
	Received      uint64  `json:"received"`
	Lost          uint64  `json:"lost"`
	Duplicates    uint64  `json:"duplicates"`
	Reordered     uint64  `json:"reordered"`
	JitterMS      float64 `json:"jitter_ms"` // RFC 3550 interarrival jitter
	LatencyMS     Latency `json:"latency_ms"`
	ThroughputBPS float64 `json:"throughput_bps"`

	Stale uint64 `json:"-"` // too old to classify
	Wild  uint64 `json:"-"` // implausible sequence numbers
	// BadEnd counts end markers ignored for an implausible count (fewer
	// than arrived, or far beyond); BadTime counts datagrams whose send
	// time was more than MaxTransit from their arrival (received, but left
	// out of latency and jitter).
	BadEnd  uint64 `json:"-"`
	BadTime uint64 `json:"-"`
	Bytes   uint64 `json:"-"` // bytes of distinct datagrams
	Ended   bool   `json:"-"` // the sender's end marker arrived
}

// LossPercent returns Lost as a percentage of Sent.
func (s Summary) LossPercent() float64 {
	if s.Sent == 0 {
		return 0
	}
	return float64(s.Lost) * 100 / float64(s.Sent)
}

// Merge combines the summaries of several senders: counts add up, latency
// comes from the merged histograms, jitter and throughput are combined as
// the mean jitter weighted by datagrams received and the sum of throughputs.
func Merge(streams []*Stream) Summary {
	var out Summary
	var h Histogram
	var jw float64
	for _, s := range streams {
		x := s.Summary()
		out.Sent += x.Sent
		out.Received += x.Received
		out.Lost += x.Lost
		out.Duplicates += x.Duplicates
		out.Reordered += x.Reordered
		out.ThroughputBPS += x.ThroughputBPS
		out.Stale += x.Stale
		out.Wild += x.Wild
		out.BadEnd += x.BadEnd
		out.BadTime += x.BadTime
		out.Bytes += x.Bytes
		jw += x.JitterMS * float64(x.Received)
		h.Merge(&s.latency)
	}
	if out.Received > 0 {
		out.JitterMS = jw / float64(out.Received)
	}
	out.LatencyMS = latencyOf(&h)
	out.Ended = len(streams) > 0
	for _, s := range streams {
		out.Ended = out.Ended && s.endSeen
	}
	return out
}
