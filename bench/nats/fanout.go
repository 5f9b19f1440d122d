package natsbench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// System names accepted by RunFanout.
const (
	Chat = "wiredojo" // a tcpchat server, tcpchat clients in one room
	NATS = "nats"     // an embedded nats-server, nats.go clients on one subject
)

// FanoutConfig is one fan-out case.
type FanoutConfig struct {
	// Subscribers is N, the number of receiving connections.
	Subscribers int
	// Events is the number of measured events the publisher sends; each
	// is delivered to every subscriber.
	Events int
	// Warmup events are sent and delivered first, outside the measurement.
	Warmup int
	// Window bounds the events in flight: the publisher waits while it is
	// more than Window events ahead of the slowest live subscriber. Zero
	// means no bound (the publisher sends as fast as it can, and slow
	// consumer limits decide).
	Window int
	// Rate, when positive, paces the publisher at that many events per
	// second (measured events only; the warm-up is not paced), to see
	// latency below saturation. Zero sends as fast as Window allows.
	Rate float64
	// Timeout bounds the whole case; Stall ends it when no subscriber
	// receives anything for that long (defaults 30 s and 2 s).
	Timeout, Stall time.Duration
	// SlowAbove, when positive, keeps every measured delivery whose
	// latency is above it (at most maxSlow per subscriber) in
	// FanoutResult.Slow, to see when the tail happened.
	SlowAbove time.Duration
}

// maxSlow bounds the slow deliveries one subscriber keeps.
const maxSlow = 1 << 16

// SlowDelivery is one measured delivery slower than
// FanoutConfig.SlowAbove.
type SlowDelivery struct {
	// Sent is when the publisher sent the event (its payload's clock).
	Sent time.Time
	// Latency is from Sent to receipt.
	Latency time.Duration
}

// FanoutResult is what one case measured.
type FanoutResult struct {
	System      string
	Subscribers int
	Events      int
	// Expected is Events * Subscribers; Delivered counts every measured
	// event a subscriber received.
	Expected, Delivered int64
	// Elapsed runs from the first measured send to the last receipt.
	Elapsed time.Duration
	// P50 and P99 are send-to-receipt latencies over every delivery.
	P50, P99 time.Duration
	// Gaps counts events missing in a subscriber's sequence before the
	// last one it received; Lost counts every expected delivery that did
	// not happen (gaps, events after a disconnect, undelivered at the end).
	Gaps, Lost int64
	// Disconnected counts subscribers whose connection ended during the
	// case; SlowConsumers is the server's count of slow-consumer cuts;
	// ClientDrops counts events a client library dropped itself (nats.go
	// pending limits).
	Disconnected, SlowConsumers, ClientDrops int64
	// Stalled is set when the case ended on Stall or Timeout rather than
	// with every event delivered.
	Stalled bool
	// ServerCPU is the CPU time (user + system) the server process spent
	// from the first measured send to the last receipt; zero when the
	// server runs in this process (RunFanout).
	ServerCPU time.Duration
	// ClientCPU is the CPU time the clients' processes spent over the same
	// span (the socket.io-client harness and its child processes); zero
	// where it is not measured.
	ClientCPU time.Duration
	// ServerReads and ServerWrites count the server process's read and
	// write system calls over the same span (/proc/PID/io syscr, syscw).
	ServerReads, ServerWrites int64
	// ServerSwitches and ServerPreempted count the context switches of
	// the server's threads over the same span: all of them, and those
	// where the kernel took the CPU away from a thread that could run on
	// (/proc/PID/task/*/status). Each switch that is not a preemption is
	// a thread that slept and must be woken; on a busy machine every wake
	// may wait for a CPU.
	ServerSwitches, ServerPreempted int64
	// ServerRunqWait and ClientRunqWait are the time the server's threads
	// and this process's spent runnable but waiting for a CPU over the
	// same span (/proc/PID/task/*/schedstat): what the machine, not the
	// system under test, added. Zero where not measured.
	ServerRunqWait, ClientRunqWait time.Duration
	// Steal is the time the machine's virtual CPUs were taken away by
	// the host over the same span, all CPUs together (/proc/stat): a
	// thread running on a stolen CPU stalls without waiting in the run
	// queue.
	Steal time.Duration
	// Slow holds the deliveries slower than FanoutConfig.SlowAbove, in the
	// order of their sending.
	Slow []SlowDelivery
	// lat holds every measured delivery's latency (nil where the clients
	// report only quantiles: the socket.io-client harness).
	lat *hist
}

// PooledQuantile returns quantile q (0 < q <= 1) of the latencies of
// every delivery of rs taken together, and false when some result holds
// no latencies of its own (then only its quantiles are known). Pooled, a
// stall in one run weighs as much as its deliveries do, where the median
// of the runs' own p99s can be moved by one stall in each of half the runs.
func PooledQuantile(rs []FanoutResult, q float64) (time.Duration, bool) {
	var all hist
	for _, r := range rs {
		if r.lat == nil {
			return 0, false
		}
		all.merge(r.lat)
	}
	return all.quantile(q), len(rs) > 0
}

// CPUPerDelivery returns ServerCPU divided by the deliveries.
func (r FanoutResult) CPUPerDelivery() time.Duration {
	if r.Delivered <= 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Delivered)
}

// Rate returns delivered events per second.
func (r FanoutResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Delivered) / r.Elapsed.Seconds()
}

// subscriber is the receiving end of one connection. receive runs on one
// goroutine at a time (the client's reader or delivery goroutine).
type subscriber struct {
	h        *harness
	count    atomic.Int64 // events received, warm-up included
	dead     atomic.Bool
	mu       sync.Mutex // guards the fields below against the collector
	next     uint64     // next expected sequence number
	gaps     int64
	last     int64 // receipt time of the last event, ns since start
	bad      int64 // payloads that did not parse
	measured bool
	lat      hist
	// slowAbove and slow: FanoutConfig.SlowAbove and the deliveries above
	// it (send time since the harness's start, latency).
	slowAbove time.Duration
	slow      [][2]int64
}

func (s *subscriber) receive(p []byte) {
	now := s.h.now()
	seq, ts, err := parsePayload(p)
	s.mu.Lock()
	if err != nil {
		s.bad++
		s.mu.Unlock()
		return
	}
	if seq > s.next {
		s.gaps += int64(seq - s.next)
	}
	s.next = seq + 1
	s.last = now
	if s.measured {
		d := time.Duration(now - ts)
		s.lat.record(d)
		if s.slowAbove > 0 && d > s.slowAbove && len(s.slow) < maxSlow {
			s.slow = append(s.slow, [2]int64{ts, int64(d)})
		}
	}
	s.mu.Unlock()
	if n := s.count.Add(1); n%16 == 0 {
		s.h.wake()
	}
}

// gone marks the subscriber's connection as ended.
func (s *subscriber) gone() {
	s.dead.Store(true)
	s.h.wake()
}

// fanoutSystem is one system under test, set up with its subscribers.
type fanoutSystem interface {
	// publish sends one event (the payload may be reused after it returns).
	publish(p []byte) error
	// flush pushes out anything the publisher buffered.
	flush() error
	// counters returns the server's slow-consumer cuts and the client
	// library's own drops.
	counters() (slowConsumers, clientDrops int64)
	close()
}

type harness struct {
	start  time.Time
	wakeup chan struct{}
	subs   []*subscriber
}

func (h *harness) now() int64 { return int64(time.Since(h.start)) }

func (h *harness) wake() {
	select {
	case h.wakeup <- struct{}{}:
	default:
	}
}

// minLive returns the smallest count of a live subscriber and the number
// of live subscribers.
func (h *harness) minLive() (lowest int64, live int) {
	lowest = -1
	for _, s := range h.subs {
		if s.dead.Load() {
			continue
		}
		live++
		if c := s.count.Load(); lowest < 0 || c < lowest {
			lowest = c
		}
	}
	return lowest, live
}

func (h *harness) total() int64 {
	var t int64
	for _, s := range h.subs {
		t += s.count.Load()
	}
	return t
}

// errStalled ends a case in which nothing was received for the stall time.
var errStalled = errors.New("natsbench: no progress")

// waitUntil blocks until every live subscriber has received at least want
// events, or nobody receives anything for stall, or the deadline passes.
func (h *harness) waitUntil(want int64, stall time.Duration, deadline time.Time) error {
	lastTotal, lastMove := h.total(), time.Now()
	t := time.NewTimer(time.Millisecond)
	defer t.Stop()
	for {
		lowest, live := h.minLive()
		if live == 0 || lowest >= want {
			return nil
		}
		now := time.Now()
		if tot := h.total(); tot != lastTotal {
			lastTotal, lastMove = tot, now
		} else if now.Sub(lastMove) > stall {
			return errStalled
		}
		if now.After(deadline) {
			return errStalled
		}
		t.Reset(2 * time.Millisecond)
		select {
		case <-h.wakeup:
		case <-t.C:
		}
	}
}

// RunFanout runs one fan-out case of system (Chat or NATS): it starts the
// server, connects cfg.Subscribers subscribers and one publisher in this
// process, sends cfg.Warmup then cfg.Events events of PayloadSize bytes,
// and reports what the subscribers received.
func RunFanout(ctx context.Context, system string, cfg FanoutConfig) (FanoutResult, error) {
	var start startFunc
	switch system {
	case Chat:
		start = startChat
	case NATS:
		start = startNATS
	default:
		return FanoutResult{}, fmt.Errorf("natsbench: unknown system %q (want %q or %q)", system, Chat, NATS)
	}
	return runFanout(ctx, system, start, cfg, nil)
}

// startFunc sets a system up with its subscribers.
type startFunc func(ctx context.Context, subs []*subscriber) (fanoutSystem, error)

// serverUsage is what a server process has used so far.
type serverUsage struct {
	CPU           time.Duration // user + system
	Reads, Writes int64         // read and write system calls
	Switches      int64         // context switches of its threads, voluntary or not
	Preempted     int64         // the involuntary ones
	RunqWait      time.Duration // its threads' time runnable but waiting for a CPU
}

// runFanout runs one case against the system start sets up. usage, when
// not nil, reads the server process's usage, around the measured events.
func runFanout(ctx context.Context, system string, start startFunc, cfg FanoutConfig, usage func() (serverUsage, error)) (FanoutResult, error) {
	if cfg.Subscribers < 1 || cfg.Events < 1 || cfg.Warmup < 0 || cfg.Window < 0 || cfg.Rate < 0 {
		return FanoutResult{}, fmt.Errorf("natsbench: bad fan-out config %+v", cfg)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Stall <= 0 {
		cfg.Stall = 2 * time.Second
	}
	h := &harness{start: time.Now(), wakeup: make(chan struct{}, 1)}
	for i := 0; i < cfg.Subscribers; i++ {
		h.subs = append(h.subs, &subscriber{h: h, slowAbove: cfg.SlowAbove})
	}
	sys, err := start(ctx, h.subs)
	if err != nil {
		return FanoutResult{}, err
	}
	defer sys.close()

	deadline := time.Now().Add(cfg.Timeout)
	res := FanoutResult{System: system, Subscribers: cfg.Subscribers, Events: cfg.Events,
		Expected: int64(cfg.Events) * int64(cfg.Subscribers)}
	payload := make([]byte, PayloadSize)
	var seq uint64
	send := func(n int, rate float64) error {
		begin := time.Now()
		for i := 0; i < n; i++ {
			if rate > 0 {
				if d := time.Duration(float64(i)/rate*1e9) - time.Since(begin); d > 0 {
					time.Sleep(d)
				}
			}
			if cfg.Window > 0 && i%8 == 0 {
				if err := h.waitUntil(int64(seq)-int64(cfg.Window)+8, cfg.Stall, deadline); err != nil {
					return err
				}
			}
			fillPayload(payload, seq, h.now())
			if err := sys.publish(payload); err != nil {
				return fmt.Errorf("natsbench: %s: publish event %d: %w", system, seq, err)
			}
			seq++
		}
		return sys.flush()
	}

	// Warm-up: every subscriber must have it all before the measurement.
	if cfg.Warmup > 0 {
		if err := send(cfg.Warmup, 0); err != nil && !errors.Is(err, errStalled) {
			return res, err
		}
		if err := h.waitUntil(int64(cfg.Warmup), cfg.Stall, deadline); err != nil {
			return res, fmt.Errorf("natsbench: %s: warm-up not delivered: %w", system, err)
		}
	}
	for _, s := range h.subs {
		s.mu.Lock()
		s.measured = true
		s.gaps = 0
		s.lat.reset()
		s.mu.Unlock()
	}
	var u0 serverUsage
	self := os.Getpid()
	c0, st0 := procRunqWait(self), stealTime()
	if usage != nil {
		if u0, err = usage(); err != nil {
			return res, err
		}
	}
	base := h.total()
	begin := h.now()
	err = send(cfg.Events, cfg.Rate)
	if err == nil {
		err = h.waitUntil(int64(cfg.Warmup+cfg.Events), cfg.Stall, deadline)
	}
	if usage != nil {
		u1, uerr := usage()
		if uerr != nil && err == nil {
			err = uerr
		}
		res.ServerCPU = u1.CPU - u0.CPU
		res.ServerReads, res.ServerWrites = u1.Reads-u0.Reads, u1.Writes-u0.Writes
		res.ServerSwitches, res.ServerPreempted = u1.Switches-u0.Switches, u1.Preempted-u0.Preempted
		res.ServerRunqWait = u1.RunqWait - u0.RunqWait
		res.ClientRunqWait = procRunqWait(self) - c0
		res.Steal = stealTime() - st0
	}
	if errors.Is(err, errStalled) {
		res.Stalled, err = true, nil
	}
	if err != nil {
		return res, err
	}
	res.SlowConsumers, res.ClientDrops = sys.counters()
	for _, s := range h.subs {
		if s.dead.Load() {
			res.Disconnected++
		}
	}
	res.Delivered = h.total() - base
	sys.close() // no deliveries after this; the closes are not disconnects

	all := new(hist)
	var last int64
	for _, s := range h.subs {
		s.mu.Lock()
		all.merge(&s.lat)
		res.Gaps += s.gaps
		for _, x := range s.slow {
			res.Slow = append(res.Slow, SlowDelivery{Sent: h.start.Add(time.Duration(x[0])), Latency: time.Duration(x[1])})
		}
		if s.last > last {
			last = s.last
		}
		if s.bad > 0 && err == nil {
			err = fmt.Errorf("natsbench: %s: %d malformed payloads received", system, s.bad)
		}
		s.mu.Unlock()
	}
	res.Lost = res.Expected - res.Delivered
	res.Elapsed = time.Duration(last - begin)
	res.P50, res.P99 = all.quantile(0.50), all.quantile(0.99)
	res.lat = all
	slices.SortFunc(res.Slow, func(a, b SlowDelivery) int { return a.Sent.Compare(b.Sent) })
	return res, err
}
