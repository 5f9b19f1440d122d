package compare

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/wiredojo/wiredojo/udpcast/impair"
	"github.com/wiredojo/wiredojo/udpcast/link"
	"github.com/wiredojo/wiredojo/udpcast/stats"
)

// LinkMode chooses where the impairment happens.
type LinkMode string

// Link modes.
const (
	LinkAuto  LinkMode = "auto"  // the namespaced link when privileged, else LinkNone with a notice
	LinkNetns LinkMode = "netns" // the namespaced link, or an error without privileges
	LinkNone  LinkMode = "none"  // UDP impaired at the socket; TCP unimpaired on loopback
)

// Options configures a comparison.
type Options struct {
	Count  int           // messages per protocol (default 1000)
	Size   int           // bytes per message, the 32-byte header included (default 512)
	Rate   float64       // messages per second (default 1000; paced smoothly)
	Impair impair.Config // applied to A -> B (the data direction)
	Link   LinkMode      // default LinkAuto
	// LinkName names the link's namespaces (default a random "cmp" name).
	LinkName string
	// Timeout bounds each protocol's run after its last message was sent
	// (default 30s).
	Timeout time.Duration
	// Progress, when set, is called about ten times a second from the
	// sending goroutine with the protocol ("tcp", then "udp") and the
	// messages sent so far of Count.
	Progress func(proto string, sent, total int)
}

// Side is one protocol's measurement. Its JSON is the summary object of docs/ARCHITECTURE.md ("Compare JSON")
// object, plus hol_blocking_ms for TCP.
type Side struct {
	stats.Summary
	DeliveredPct float64 `json:"delivered_pct"`
	// HOLBlockingMS is TCP's head-of-line blocking (HOLDefinition): the
	// mean wait of the messages that waited, 0 when none did. Absent for
	// UDP. Measured from the link's packet times; over --link none TCP
	// crosses unimpaired loopback, where nothing is missing, so it is 0.
	HOLBlockingMS *float64 `json:"hol_blocking_ms,omitempty"`
	// HOLBlocked counts the TCP messages that waited; HOLMaxMS is the
	// longest wait, HOLTotalMS the sum of the waits.
	HOLBlocked uint64  `json:"hol_blocked_messages,omitempty"`
	HOLMaxMS   float64 `json:"hol_max_ms,omitempty"`
	HOLTotalMS float64 `json:"hol_total_ms,omitempty"`
	// HOLWaitMS is each TCP message's head-of-line wait in ms, indexed by
	// sequence number (NaN when unknown); nil for UDP.
	HOLWaitMS []float64 `json:"-"`

	// LatencyByMsg is each message's one-way latency in ms, indexed by
	// sequence number; NaN when it never arrived.
	LatencyByMsg []float64 `json:"-"`
	// SentAtMS is each message's send time in ms from the start of its run.
	SentAtMS []float64 `json:"-"`
}

// Result is a finished comparison.
type Result struct {
	TCP Side `json:"tcp"`
	UDP Side `json:"udp"`

	Options    Options   `json:"-"`
	Link       LinkMode  `json:"-"` // the mode actually used
	Notice     string    `json:"-"` // set when the comparison fell back or could not pin something
	Congestion string    `json:"-"` // TCP congestion control used by the sender
	Offloads   string    `json:"-"`
	Started    time.Time `json:"-"`
}

func (o *Options) defaults() error {
	if o.Count == 0 {
		o.Count = 1000
	}
	if o.Size == 0 {
		o.Size = 512
	}
	if o.Rate == 0 {
		o.Rate = 1000
	}
	if o.Link == "" {
		o.Link = LinkAuto
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	switch {
	case o.Count < 1 || o.Count > 10_000_000:
		return fmt.Errorf("%w: count %d (1 to 10000000)", ErrOptions, o.Count)
	case o.Size < 32 || o.Size > 65507:
		return fmt.Errorf("%w: size %d (32, the header, to 65507)", ErrOptions, o.Size)
	case o.Rate < 0 || math.IsInf(o.Rate, 0) || math.IsNaN(o.Rate):
		return fmt.Errorf("%w: rate %v", ErrOptions, o.Rate)
	}
	switch o.Link {
	case LinkAuto, LinkNetns, LinkNone:
	default:
		return fmt.Errorf("%w: link %q (auto, netns or none)", ErrOptions, o.Link)
	}
	return o.Impair.Validate()
}

// Run performs the comparison: TCP first, then UDP, over the same path.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.defaults(); err != nil {
		return Result{}, err
	}
	res := Result{Options: o, Started: time.Now()}
	mode := o.Link
	if mode == LinkAuto {
		if link.Privileged() {
			mode = LinkNetns
		} else {
			mode = LinkNone
			res.Notice = "not root (no CAP_NET_ADMIN): UDP is impaired at the socket and TCP runs unimpaired over loopback; run as root for both over the same impaired link"
		}
	}
	res.Link = mode
	var p path
	var hol *holTracker
	if mode == LinkNetns {
		name := o.LinkName
		if name == "" {
			name = "cmp" + fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff)
		}
		hol = new(holTracker)
		l, err := link.Up(ctx, link.Config{Name: name, AtoB: o.Impair, Observe: hol.observe})
		if err != nil {
			return res, err
		}
		defer l.Close()
		res.Offloads = l.Info().Offloads
		p = netnsPath{l}
	} else {
		p = loopPath{}
		if o.Impair.Enabled() && res.Notice == "" {
			res.Notice = "--link none: UDP is impaired at the socket; TCP runs unimpaired over loopback"
		}
	}
	tcp, cc, err := runTCP(ctx, o, p, hol)
	if err != nil {
		return res, fmt.Errorf("compare: tcp: %w", err)
	}
	res.TCP, res.Congestion = tcp, cc
	udp, err := runUDP(ctx, o, p, mode == LinkNone)
	if err != nil {
		return res, fmt.Errorf("compare: udp: %w", err)
	}
	res.UDP = udp
	return res, nil
}

// finish fills a Side's derived fields from its stream and per-message
// latencies.
func finish(s *Side, st *stats.Stream, count int) {
	s.Summary = st.Summary()
	if s.Sent < uint64(count) {
		s.Sent = uint64(count)
		s.Lost = s.Sent - min(s.Received, s.Sent)
	}
	if s.Sent > 0 {
		s.DeliveredPct = float64(s.Received) * 100 / float64(s.Sent)
	}
}

// holBlocking fills a TCP side's head-of-line figures from each message's
// wait (ms, NaN when unknown).
func holBlocking(s *Side, waits []float64) {
	s.HOLWaitMS = waits
	for _, w := range waits {
		if w > 0 {
			s.HOLBlocked++
			s.HOLTotalMS += w
			s.HOLMaxMS = max(s.HOLMaxMS, w)
		}
	}
	mean := 0.0
	if s.HOLBlocked > 0 {
		mean = s.HOLTotalMS / float64(s.HOLBlocked)
	}
	s.HOLBlockingMS = &mean
}

func newLatencies(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}
