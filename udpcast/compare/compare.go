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
}

// Side is one protocol's measurement. Its JSON is the summary object of docs/ARCHITECTURE.md ("Compare JSON")
// object, plus hol_blocking_ms for TCP.
type Side struct {
	stats.Summary
	DeliveredPct float64 `json:"delivered_pct"`
	// HOLBlockingMS is TCP's mean delay per delivered message beyond the
	// path's own latency (UDP's median on the same path) plus the
	// configured jitter: what in-order reliable delivery added while
	// segments were retransmitted and the data behind them waited. Absent
	// for UDP.
	HOLBlockingMS *float64 `json:"hol_blocking_ms,omitempty"`
	// HOLBlocked counts TCP messages delayed that way; HOLMaxMS is the
	// largest such delay.
	HOLBlocked uint64  `json:"hol_blocked_messages,omitempty"`
	HOLMaxMS   float64 `json:"hol_max_ms,omitempty"`

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
	if mode == LinkNetns {
		name := o.LinkName
		if name == "" {
			name = "cmp" + fmt.Sprintf("%04x", time.Now().UnixNano()&0xffff)
		}
		l, err := link.Up(ctx, link.Config{Name: name, AtoB: o.Impair})
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
	tcp, cc, err := runTCP(ctx, o, p)
	if err != nil {
		return res, fmt.Errorf("compare: tcp: %w", err)
	}
	res.TCP, res.Congestion = tcp, cc
	udp, err := runUDP(ctx, o, p, mode == LinkNone)
	if err != nil {
		return res, fmt.Errorf("compare: udp: %w", err)
	}
	res.UDP = udp
	holBlocking(&res.TCP, pathLatency(res.TCP, res.UDP), o.Impair.Jitter)
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

// holBlocking computes TCP's head-of-line blocking figures from per-message
// latencies. baseline is the path's own latency in ms (UDP's median on the
// same path, or TCP's minimum when UDP delivered nothing); a TCP message
// later than baseline + allowance waited for something other than its own
// transit: an earlier segment's retransmission, or the data queued behind
// it while the congestion window recovered — the cost of in-order reliable
// delivery. The figure is the mean extra delay per delivered message.
func holBlocking(s *Side, baseline float64, allowance time.Duration) {
	zero := 0.0
	s.HOLBlockingMS = &zero
	limit := baseline + float64(allowance)/1e6
	var sum float64
	n := 0
	for _, v := range s.LatencyByMsg {
		if math.IsNaN(v) {
			continue
		}
		n++
		if v > limit {
			extra := v - baseline
			sum += extra
			s.HOLBlocked++
			s.HOLMaxMS = max(s.HOLMaxMS, extra)
		}
	}
	if n > 0 {
		mean := sum / float64(n)
		s.HOLBlockingMS = &mean
	}
}

// pathLatency is the baseline for holBlocking.
func pathLatency(tcp, udp Side) float64 {
	if udp.Received > 0 {
		return udp.LatencyMS.P50
	}
	lo := math.Inf(1)
	for _, v := range tcp.LatencyByMsg {
		if !math.IsNaN(v) {
			lo = min(lo, v)
		}
	}
	if math.IsInf(lo, 1) {
		return 0
	}
	return lo
}

func newLatencies(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}
