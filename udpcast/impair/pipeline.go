package impair

import (
	"math"
	"math/rand/v2"
	"time"
)

// Stats counts what each stage of a Pipeline did. Every packet pushed is
// counted once in In; Out counts packets (copies included) handed out by Pop.
type Stats struct {
	In           uint64 `json:"in"`            // packets pushed
	Lost         uint64 `json:"lost"`          // dropped by the loss stage
	Duplicated   uint64 `json:"duplicated"`    // extra copies made
	Reordered    uint64 `json:"reordered"`     // packets sent ahead of the delay
	Delayed      uint64 `json:"delayed"`       // packets given a delay > 0
	RateDelayed  uint64 `json:"rate_delayed"`  // packets that waited for the rate limit
	QueueDropped uint64 `json:"queue_dropped"` // packets (or copies) refused at the queue limit
	Out          uint64 `json:"out"`           // packets released by Pop
}

// item is one scheduled packet.
type item struct {
	due   int64
	order uint64
	buf   []byte
}

// Pipeline applies a Config to a stream of packets. Times are nanoseconds on
// any monotonic clock the caller chooses (for instance time.Since(start)).
//
// Buffers handed out by Pop belong to the pipeline; give each back with
// Release once sent. In steady state the pipeline allocates nothing.
//
// A Pipeline is not safe for concurrent use: one goroutine owns it.
type Pipeline struct {
	cfg   Config
	limit int
	rng   *rand.Rand
	bad   bool // Gilbert–Elliott state

	// PushKeyed's decisions: a generator reseeded per packet from the seed
	// and the packet's key, and its own burst state.
	keySrc  rand.PCG
	keyRand *rand.Rand
	keyBad  bool

	heap     []item
	free     [][]byte
	order    uint64
	rateFree int64 // when the rate limiter is next idle
	held     *item // zero-delay reorder: waits for the next packet
	heldItem item
	stats    Stats
}

// New returns a pipeline for cfg. cfg should have passed Validate.
func New(cfg Config) *Pipeline {
	limit := cfg.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	p := &Pipeline{
		cfg:   cfg,
		limit: limit,
		rng:   rand.New(rand.NewPCG(cfg.Seed, 0x77697265646f6a6f)),
	}
	p.keyRand = rand.New(&p.keySrc)
	return p
}

// PushKeyed is Push with decisions (loss, duplicate, reorder, jitter) that
// are a function of the seed and key alone: the same key under the same
// seed meets the same fate whatever was pushed before it or between. Give
// a packet's own identity as its key (a wiredojo-udp datagram's sequence
// number, say), so that the same seed drops the same messages run after
// run although other traffic shares the path. Keyed packets do not
// consume the sequence Push draws from. With a burst model the good/bad
// state still follows the keyed packets in the order they come.
func (p *Pipeline) PushKeyed(now int64, pkt []byte, key uint64) int {
	p.keySrc.Seed(splitmix(p.cfg.Seed^splitmix(key)), 0x6b65796564)
	rng, bad := p.rng, p.bad
	p.rng, p.bad = p.keyRand, p.keyBad
	n := p.Push(now, pkt)
	p.keyBad = p.bad
	p.rng, p.bad = rng, bad
	return n
}

// splitmix is SplitMix64's finaliser: spreads nearby keys over the seed
// space.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Config returns the pipeline's configuration.
func (p *Pipeline) Config() Config { return p.cfg }

// Stats returns the counters so far.
func (p *Pipeline) Stats() Stats { return p.stats }

// Len returns the number of packets the pipeline holds.
func (p *Pipeline) Len() int {
	n := len(p.heap)
	if p.held != nil {
		n++
	}
	return n
}

// lose runs the loss stage.
func (p *Pipeline) lose() bool {
	if g := p.cfg.Burst; g != nil {
		// netem's loss_gilb_ell: move between states, then lose with the
		// probability of the state we are in.
		if p.bad {
			if p.rng.Float64() < g.R {
				p.bad = false
			}
		} else if p.rng.Float64() < g.P {
			p.bad = true
		}
		if p.bad {
			return p.rng.Float64() < g.LossBad
		}
		return p.rng.Float64() < g.LossGood
	}
	return p.cfg.Loss > 0 && p.rng.Float64() < p.cfg.Loss
}

// Push offers one packet at time now. The pipeline copies pkt, so the
// caller may reuse it at once. It returns the number of copies scheduled
// (0 when lost or refused).
func (p *Pipeline) Push(now int64, pkt []byte) int {
	p.stats.In++
	if p.lose() {
		p.stats.Lost++
		p.releaseHeld(now)
		return 0
	}
	copies := 1
	if p.cfg.Duplicate > 0 && p.rng.Float64() < p.cfg.Duplicate {
		copies = 2
		p.stats.Duplicated++
	}
	scheduled := 0
	for range copies {
		if p.schedule(now, pkt) {
			scheduled++
		}
	}
	p.releaseHeld(now)
	return scheduled
}

// schedule runs reorder, delay+jitter, rate and the queue limit for one
// copy.
func (p *Pipeline) schedule(now int64, pkt []byte) bool {
	reorder := p.cfg.Reorder > 0 && p.rng.Float64() < p.cfg.Reorder
	due := now
	if !reorder {
		d := float64(p.cfg.Delay)
		if p.cfg.Jitter > 0 {
			d += (p.rng.Float64()*2 - 1) * float64(p.cfg.Jitter)
		}
		if d > 0 {
			due += int64(d)
			p.stats.Delayed++
		}
	}
	waited := false
	if p.cfg.Rate > 0 {
		tx := int64(math.Ceil(float64(len(pkt)) * 8 / p.cfg.Rate * float64(time.Second)))
		if p.rateFree > due {
			due = p.rateFree
			waited = true
		}
		due += tx
	}
	if p.Len() >= p.limit {
		p.stats.QueueDropped++
		return false
	}
	if p.cfg.Rate > 0 {
		p.rateFree = due
		if waited {
			p.stats.RateDelayed++
		}
	}
	it := item{due: due, order: p.order, buf: append(p.getBuf(len(pkt)), pkt...)}
	p.order++
	if reorder {
		p.stats.Reordered++
		if p.cfg.Delay == 0 && p.cfg.Jitter == 0 && p.held == nil {
			// Nothing to overtake: hold this packet back until the next
			// one has gone, so the two swap places.
			p.heldItem = it
			p.held = &p.heldItem
			return true
		}
	}
	p.push(it)
	return true
}

// releaseHeld schedules a packet held for a zero-delay reorder once a later
// packet has been scheduled (or lost).
func (p *Pipeline) releaseHeld(now int64) {
	if p.held == nil || p.held.order+1 == p.order {
		return
	}
	it := *p.held
	p.held = nil
	it.due = max(it.due, now)
	it.order = p.order
	p.order++
	p.push(it)
}

// Flush releases a packet held back for reordering so that it is due now;
// call it when the stream ends.
func (p *Pipeline) Flush(now int64) {
	if p.held != nil {
		it := *p.held
		p.held = nil
		it.due = max(it.due, now)
		it.order = p.order
		p.order++
		p.push(it)
	}
}

// NextDue returns when the next packet is due, and false when the pipeline
// holds nothing that Pop could return.
func (p *Pipeline) NextDue() (int64, bool) {
	if len(p.heap) == 0 {
		return 0, false
	}
	return p.heap[0].due, true
}

// Pop returns the next packet due at or before now. The buffer belongs to
// the pipeline: pass it to Release when done.
func (p *Pipeline) Pop(now int64) ([]byte, bool) {
	if len(p.heap) == 0 || p.heap[0].due > now {
		return nil, false
	}
	it := p.pop()
	p.stats.Out++
	return it.buf, true
}

// Release gives a buffer returned by Pop back to the pipeline.
func (p *Pipeline) Release(b []byte) {
	if cap(b) > 0 {
		p.free = append(p.free, b[:0])
	}
}

func (p *Pipeline) getBuf(n int) []byte {
	for len(p.free) > 0 {
		b := p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
		if cap(b) >= n {
			return b
		}
	}
	return make([]byte, 0, max(n, 2048))
}

// The heap orders items by due time, then by push order (so packets with
// the same due time keep their order).
func less(a, b *item) bool {
	return a.due < b.due || (a.due == b.due && a.order < b.order)
}

func (p *Pipeline) push(it item) {
	p.heap = append(p.heap, it)
	i := len(p.heap) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if !less(&p.heap[i], &p.heap[parent]) {
			break
		}
		p.heap[i], p.heap[parent] = p.heap[parent], p.heap[i]
		i = parent
	}
}

func (p *Pipeline) pop() item {
	h := p.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = item{}
	h = h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && less(&h[r], &h[l]) {
			m = r
		}
		if !less(&h[m], &h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	p.heap = h
	return top
}
