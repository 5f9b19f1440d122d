package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// Harness tells Run how to make stores.
type Harness struct {
	// Open returns a fresh, empty store with opts. The harness closes it
	// (t.Cleanup) unless the test did.
	Open func(t *testing.T, opts store.Options) store.Store
	// Reopen, when set, closes s and opens the same data again with opts:
	// Run then checks that everything written survives.
	Reopen func(t *testing.T, s store.Store, opts store.Options) store.Store
	// ByteBounds says that the store applies Limits.ReplayMaxBytes,
	// ReplayTotalBytes and SessionTotalBytes and fills Stats.ReplayBytes,
	// SessionBytes and SessionsDropped: Run then checks them. A store
	// that leaves it false is not checked for them (its docs say so).
	ByteBounds bool
}

// Clock is a fake clock for store.Options.Now, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to a fixed instant.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t     *testing.T
	h     Harness
	clock *Clock
	opts  store.Options
	s     store.Store
	ctx   context.Context
}

func newEnv(t *testing.T, h Harness, l store.Limits) *env {
	e := &env{t: t, h: h, clock: NewClock(), ctx: context.Background()}
	e.opts = store.Options{Limits: l, Now: e.clock.Now}
	e.s = h.Open(t, e.opts)
	return e
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) msg(event string, payload string) store.Message {
	return store.Message{Namespace: "/chat", Event: event, Rooms: []string{"r1"}, Except: []string{"x"}, Payload: []byte(payload)}
}

func (e *env) append(m store.Message, to ...string) (store.ID, []uint64) {
	e.t.Helper()
	id, offs, err := e.s.Append(e.ctx, m, to, nil)
	e.must(err)
	return id, offs
}

func (e *env) pending(client string, after uint64) []store.Message {
	e.t.Helper()
	msgs, err := e.s.Pending(e.ctx, client, after, 0, nil)
	e.must(err)
	return msgs
}

func offsets(msgs []store.Message) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Offset
	}
	return out
}

func (e *env) wantOffsets(client string, want ...uint64) []store.Message {
	e.t.Helper()
	msgs := e.pending(client, 0)
	if got := offsets(msgs); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		e.t.Fatalf("pending offsets of %q = %v, want %v", client, got, want)
	}
	return msgs
}

// Run runs the conformance suite against the stores h makes.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		l    store.Limits
		f    func(e *env)
	}{
		{"AppendPending", store.Limits{}, testAppendPending},
		{"FanOutDedupe", store.Limits{}, testFanOutDedupe},
		{"AppendBatch", store.Limits{}, testAppendBatch},
		{"AckOne", store.Limits{}, testAckOne},
		{"AckBatch", store.Limits{}, testAckBatch},
		{"InvalidInput", store.Limits{}, testInvalid},
		{"RetentionMaxMessages", store.Limits{MaxMessages: 3}, testMaxMessages},
		{"RetentionMaxAge", store.Limits{MaxAge: time.Minute}, testMaxAge},
		{"QueueExpiry", store.Limits{QueueTTL: time.Hour}, testQueueTTL},
		{"QueuesPurge", store.Limits{}, testQueuesPurge},
		{"Claim", store.Limits{QueueTTL: time.Hour}, testClaim},
		{"MaxClients", store.Limits{MaxClients: 2, QueueTTL: time.Hour}, testMaxClients},
		{"Subscriptions", store.Limits{}, testSubscriptions},
		{"Replay", store.Limits{}, testReplay},
		{"ReplayRetention", store.Limits{ReplayMax: 2, ReplayWindow: time.Minute}, testReplayRetention},
		{"Sessions", store.Limits{}, testSessions},
		{"Concurrent", store.Limits{}, testConcurrent},
		{"LargePayload", store.Limits{}, testLargePayload},
		{"Closed", store.Limits{}, testClosed},
	}
	if h.Reopen != nil {
		tests = append(tests, struct {
			name string
			l    store.Limits
			f    func(e *env)
		}{"Reopen", store.Limits{}, testReopen})
	}
	if h.ByteBounds {
		tests = append(tests, []struct {
			name string
			l    store.Limits
			f    func(e *env)
		}{
			{"ReplayMaxBytes", store.Limits{ReplayMaxBytes: 4*boundedEntrySize + 100}, testReplayMaxBytes},
			{"ReplayTotalBytes", store.Limits{ReplayTotalBytes: 4*boundedEntrySize + 100}, testReplayTotalBytes},
			{"SessionTotalBytes", store.Limits{SessionTotalBytes: 3*boundedSessionSize + 100}, testSessionTotalBytes},
		}...)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.f(newEnv(t, h, tc.l))
		})
	}
}

func testAppendPending(e *env) {
	id1, offs := e.append(e.msg("a", "one"), "alice", "bob")
	if !slices.Equal(offs, []uint64{1, 1}) {
		e.t.Fatalf("offsets = %v, want [1 1]", offs)
	}
	e.clock.Advance(time.Second)
	id2, offs := e.append(e.msg("b", "two"), "alice")
	if !slices.Equal(offs, []uint64{2}) {
		e.t.Fatalf("offsets = %v, want [2]", offs)
	}
	if id1 == id2 || id1.IsZero() {
		e.t.Fatalf("ids %v and %v: want distinct, non-zero", id1, id2)
	}
	msgs := e.wantOffsets("alice", 1, 2)
	m := msgs[0]
	if m.ID != id1 || m.Namespace != "/chat" || m.Event != "a" || string(m.Payload) != "one" ||
		!slices.Equal(m.Rooms, []string{"r1"}) || !slices.Equal(m.Except, []string{"x"}) {
		e.t.Fatalf("message = %+v", m)
	}
	if !m.Created.Equal(e.clock.Now().Add(-time.Second)) {
		e.t.Fatalf("created = %v, want %v", m.Created, e.clock.Now().Add(-time.Second))
	}
	if msgs[1].ID != id2 || string(msgs[1].Payload) != "two" {
		e.t.Fatalf("second message = %+v", msgs[1])
	}
	bob := e.wantOffsets("bob", 1)
	if bob[0].ID != id1 {
		e.t.Fatalf("bob got id %v, want the same id %v", bob[0].ID, id1)
	}
	if got := e.pending("alice", 1); len(got) != 1 || got[0].ID != id2 {
		e.t.Fatalf("pending after 1 = %+v", got)
	}
	got, err := e.s.Pending(e.ctx, "alice", 0, 1, nil)
	e.must(err)
	if len(got) != 1 || got[0].Offset != 1 {
		e.t.Fatalf("pending limit 1 = %v", offsets(got))
	}
	if got := e.pending("nobody", 0); len(got) != 0 {
		e.t.Fatalf("pending of unknown client = %v", got)
	}

	// an empty recipient list appends nothing but still gives an id
	id3, offs := e.append(e.msg("c", "none"))
	if id3.IsZero() || len(offs) != 0 {
		e.t.Fatalf("empty to: id %v offsets %v", id3, offs)
	}
}

// AppendBatch appends in the batch's order, gives each entry its id and
// offsets, and an entry that fails (here: too large) fails alone.
func testAppendBatch(e *env) {
	batch := []store.Appending{
		{Message: e.msg("a", "one"), To: []string{"alice", "bob", "alice"}},
		{Message: store.Message{Namespace: "/chat", Event: "huge", Payload: make([]byte, store.MaxPayload+1)}, To: []string{"alice"}},
		{Message: e.msg("b", "two"), To: []string{"alice"}},
	}
	e.s.AppendBatch(e.ctx, batch)
	if b := batch[0]; b.Err != nil || b.ID.IsZero() || !slices.Equal(b.Offsets, []uint64{1, 1}) {
		e.t.Fatalf("first entry: id %v offsets %v err %v; want an id, offsets [1 1]", b.ID, b.Offsets, b.Err)
	}
	if b := batch[1]; !errors.Is(b.Err, store.ErrPayloadTooLarge) || !b.ID.IsZero() || len(b.Offsets) != 0 {
		e.t.Fatalf("too large entry: id %v offsets %v err %v; want ErrPayloadTooLarge alone", b.ID, b.Offsets, b.Err)
	}
	if b := batch[2]; b.Err != nil || !slices.Equal(b.Offsets, []uint64{2}) || b.ID == batch[0].ID {
		e.t.Fatalf("third entry: id %v offsets %v err %v; want a new id, offsets [2]", b.ID, b.Offsets, b.Err)
	}
	msgs := e.wantOffsets("alice", 1, 2)
	if msgs[0].ID != batch[0].ID || msgs[1].ID != batch[2].ID || string(msgs[1].Payload) != "two" {
		e.t.Fatalf("alice's queue holds %v, %v; want the batch's first and third", msgs[0].ID, msgs[1].ID)
	}
	e.wantOffsets("bob", 1)

	// A longer batch keeps its order, and entries reuse their Offsets.
	long := make([]store.Appending, 100)
	for i := range long {
		long[i] = store.Appending{Message: e.msg("n", strconv.Itoa(i)), To: []string{"carol"}, Offsets: make([]uint64, 0, 1)}
	}
	e.s.AppendBatch(e.ctx, long)
	for i, m := range e.pending("carol", 0) {
		if b := long[i]; b.Err != nil || m.ID != b.ID || string(m.Payload) != strconv.Itoa(i) || m.Offset != uint64(i+1) || !slices.Equal(b.Offsets, []uint64{m.Offset}) {
			e.t.Fatalf("carol's message %d: %q offset %d id %v; entry %d: id %v offsets %v err %v", i, m.Payload, m.Offset, m.ID, i, b.ID, b.Offsets, b.Err)
		}
	}
	if n := len(e.pending("carol", 0)); n != len(long) {
		e.t.Fatalf("carol has %d messages, want %d", n, len(long))
	}
}

func testFanOutDedupe(e *env) {
	_, offs := e.append(e.msg("a", "x"), "alice", "bob", "alice", "carol")
	if !slices.Equal(offs, []uint64{1, 1, 1}) {
		e.t.Fatalf("offsets = %v, want [1 1 1] (alice once)", offs)
	}
	e.wantOffsets("alice", 1)
	many := make([]string, 40)
	for i := range many {
		many[i] = fmt.Sprintf("c%02d", i%20)
	}
	_, offs = e.append(e.msg("b", "y"), many...)
	if len(offs) != 20 {
		e.t.Fatalf("%d offsets for 20 distinct clients", len(offs))
	}
	e.wantOffsets("c07", 1)
}

func testAckOne(e *env) {
	var ids []store.ID
	for i := range 4 {
		id, _ := e.append(e.msg("e", fmt.Sprint(i)), "alice", "bob")
		ids = append(ids, id)
	}
	e.must(store.AckOne(e.ctx, e.s, "alice", ids[1])) // out of order
	e.wantOffsets("alice", 1, 3, 4)
	if err := store.AckOne(e.ctx, e.s, "alice", ids[1]); !errors.Is(err, store.ErrNotPending) {
		e.t.Fatalf("duplicate ack: %v, want ErrNotPending", err)
	}
	if err := store.AckOne(e.ctx, e.s, "alice", store.ID{1, 2, 3}); !errors.Is(err, store.ErrNotPending) {
		e.t.Fatalf("unknown id: %v, want ErrNotPending", err)
	}
	if err := store.AckOne(e.ctx, e.s, "nobody", ids[0]); !errors.Is(err, store.ErrNotPending) {
		e.t.Fatalf("ack for unknown client: %v, want ErrNotPending", err)
	}
	e.must(store.AckOne(e.ctx, e.s, "alice", ids[0]))
	e.must(store.AckOne(e.ctx, e.s, "alice", ids[3]))
	e.must(store.AckOne(e.ctx, e.s, "alice", ids[2]))
	e.wantOffsets("alice")
	e.wantOffsets("bob", 1, 2, 3, 4) // acks are per client
	_, offs := e.append(e.msg("e", "next"), "alice")
	if !slices.Equal(offs, []uint64{5}) {
		e.t.Fatalf("offset after acks = %v, want [5] (offsets are never reused)", offs)
	}
	st := e.s.Stats()
	if st.Acked != 4 || st.AckNotPending != 3 || st.Appended != 9 {
		e.t.Fatalf("stats = %+v, want Acked 4, AckNotPending 3, Appended 9", st)
	}
}

func testAckBatch(e *env) {
	var ids []store.ID
	for i := range 5 {
		id, _ := e.append(e.msg("e", fmt.Sprint(i)), "alice", "bob")
		ids = append(ids, id)
	}
	// out of order, a repeat within the batch and an unknown id
	n, err := e.s.AckBatch(e.ctx, "alice", []store.ID{ids[3], ids[1], ids[3], {1, 2, 3}})
	e.must(err)
	if n != 2 {
		e.t.Fatalf("AckBatch removed %d, want 2", n)
	}
	e.wantOffsets("alice", 1, 3, 5)
	if n, err := e.s.AckBatch(e.ctx, "nobody", ids[:2]); err != nil || n != 0 {
		e.t.Fatalf("AckBatch for an unknown client = %d, %v; want 0, nil", n, err)
	}
	if n, err := e.s.AckBatch(e.ctx, "alice", nil); err != nil || n != 0 {
		e.t.Fatalf("AckBatch of no ids = %d, %v; want 0, nil", n, err)
	}
	if _, err := e.s.AckBatch(e.ctx, "a\x00b", ids[:1]); !errors.Is(err, store.ErrInvalidName) {
		e.t.Fatalf("AckBatch for an invalid client id: %v, want ErrInvalidName", err)
	}
	if n, err := e.s.AckBatch(e.ctx, "alice", []store.ID{ids[4], ids[0], ids[2]}); err != nil || n != 3 {
		e.t.Fatalf("AckBatch of the rest = %d, %v; want 3, nil", n, err)
	}
	e.wantOffsets("alice")
	e.wantOffsets("bob", 1, 2, 3, 4, 5) // acks are per client
	e.must(store.AckOne(e.ctx, e.s, "bob", ids[0]))
	n, err = e.s.AckBatch(e.ctx, "bob", ids[:2])
	e.must(err)
	if n != 1 {
		e.t.Fatalf("AckBatch after AckOne removed %d, want 1", n)
	}
	e.wantOffsets("bob", 3, 4, 5)
	st := e.s.Stats()
	if st.Acked != 7 || st.AckNotPending != 5 {
		e.t.Fatalf("stats = %+v, want Acked 7, AckNotPending 5 (a repeat, an unknown id, 2 for an unknown client, 1 acked before)", st)
	}
}

func testInvalid(e *env) {
	bad := []string{"", "a\x00b", string(bytes.Repeat([]byte("x"), store.MaxNameLen+1))}
	for _, c := range bad {
		if _, _, err := e.s.Append(e.ctx, e.msg("a", "x"), []string{"ok", c}, nil); !errors.Is(err, store.ErrInvalidName) {
			e.t.Errorf("Append to %q: %v, want ErrInvalidName", c, err)
		}
		if _, err := e.s.Pending(e.ctx, c, 0, 0, nil); !errors.Is(err, store.ErrInvalidName) {
			e.t.Errorf("Pending(%q): %v, want ErrInvalidName", c, err)
		}
		if err := e.s.Subscribe(e.ctx, "ok", store.Sub{Namespace: "/chat", Room: c}); !errors.Is(err, store.ErrInvalidName) {
			e.t.Errorf("Subscribe room %q: %v, want ErrInvalidName", c, err)
		}
	}
	// the rejected fan-out appended nothing, not even to the valid client
	e.wantOffsets("ok")
	m := e.msg("a", "x")
	m.Namespace = ""
	if _, _, err := e.s.Append(e.ctx, m, []string{"ok"}, nil); !errors.Is(err, store.ErrInvalidName) {
		e.t.Errorf("Append with empty namespace: %v", err)
	}
	if _, _, err := e.s.AppendReplay(e.ctx, m); !errors.Is(err, store.ErrInvalidName) {
		e.t.Errorf("AppendReplay with empty namespace: %v", err)
	}
	if err := e.s.SaveSession(e.ctx, store.Session{}); !errors.Is(err, store.ErrInvalidName) {
		e.t.Errorf("SaveSession without id: %v", err)
	}
}

// testMaxMessages: a full queue refuses new messages (the other
// recipients get them) and keeps every pending one; an ack makes room.
func testMaxMessages(e *env) {
	var ids []store.ID
	for i := range 3 {
		id, _ := e.append(e.msg("e", fmt.Sprint(i)), "alice")
		ids = append(ids, id)
	}
	for i := 3; i < 5; i++ {
		id, offs, err := e.s.Append(e.ctx, e.msg("e", fmt.Sprint(i)), []string{"bob", "alice"}, nil)
		var qf *store.QueueFullError
		if !errors.As(err, &qf) || !errors.Is(err, store.ErrQueueFull) || len(qf.Clients) != 1 || qf.Clients[0] != "alice" || qf.Max != 3 {
			e.t.Fatalf("append %d to a full queue: %v, want a QueueFullError for alice", i, err)
		}
		if id.IsZero() || len(offs) != 2 || offs[0] != uint64(i-2) || offs[1] != 0 {
			e.t.Fatalf("append %d: id %v offsets %v, want bob's offset and 0 for alice", i, id, offs)
		}
	}
	msgs := e.wantOffsets("alice", 1, 2, 3)
	if string(msgs[0].Payload) != "0" {
		e.t.Fatalf("oldest kept payload %q, want \"0\"", msgs[0].Payload)
	}
	e.wantOffsets("bob", 1, 2)
	if st := e.s.Stats(); st.RefusedFull != 2 {
		e.t.Fatalf("RefusedFull = %d, want 2", st.RefusedFull)
	}
	e.must(store.AckOne(e.ctx, e.s, "alice", ids[0]))
	if _, _, err := e.s.Append(e.ctx, e.msg("e", "5"), []string{"alice"}, nil); err != nil {
		e.t.Fatalf("append after an ack made room: %v", err)
	}
	batch := []store.Appending{{Message: e.msg("e", "6"), To: []string{"alice", "bob"}}}
	e.s.AppendBatch(e.ctx, batch)
	if b := batch[0]; !errors.Is(b.Err, store.ErrQueueFull) || b.ID.IsZero() || len(b.Offsets) != 2 || b.Offsets[0] != 0 || b.Offsets[1] != 3 {
		e.t.Fatalf("AppendBatch to a full queue: %+v, want QueueFullError, bob's offset 3", b)
	}
	q, err := e.s.Queues(e.ctx)
	e.must(err)
	if len(q) != 2 || q[0].Depth != 3 || q[0].NextOffset != 5 || q[1].Depth != 3 {
		e.t.Fatalf("queues = %+v", q)
	}
}

func testMaxAge(e *env) {
	e.append(e.msg("e", "old"), "alice")
	e.clock.Advance(50 * time.Second)
	e.append(e.msg("e", "new"), "alice")
	e.clock.Advance(20 * time.Second) // first is 70s old, second 20s
	e.wantOffsets("alice", 2)
	e.must(e.s.Expire(e.ctx))
	if st := e.s.Stats(); st.DroppedAge != 1 {
		e.t.Fatalf("DroppedAge = %d, want 1", st.DroppedAge)
	}
	q, err := e.s.Queues(e.ctx)
	e.must(err)
	if len(q) != 1 || q[0].Depth != 1 {
		e.t.Fatalf("queues after expire = %+v", q)
	}
	e.clock.Advance(time.Minute)
	e.wantOffsets("alice")
}

func testQueueTTL(e *env) {
	sub := store.Sub{Namespace: "/chat", Room: "lobby"}
	e.must(e.s.Touch(e.ctx, "alice"))
	e.must(e.s.Subscribe(e.ctx, "alice", sub))
	e.must(e.s.Touch(e.ctx, "bob"))
	e.must(e.s.Subscribe(e.ctx, "bob", sub))
	e.append(e.msg("e", "x"), "alice", "bob")
	e.clock.Advance(50 * time.Minute)
	e.must(e.s.Touch(e.ctx, "bob"))
	if msgs, err := e.s.Peek(e.ctx, "alice", 0, 0, nil); err != nil || len(msgs) != 1 { // an operator's peek
		e.t.Fatalf("peek = %d messages, %v", len(msgs), err)
	}
	e.clock.Advance(20 * time.Minute) // alice idle 70 min (the peek does not count), bob 20
	e.must(e.s.Expire(e.ctx))
	q, err := e.s.Queues(e.ctx)
	e.must(err)
	if len(q) != 1 || q[0].Client != "bob" || q[0].Depth != 1 {
		e.t.Fatalf("queues = %+v, want only bob with 1 message", q)
	}
	mem, err := e.s.Members(e.ctx, sub)
	e.must(err)
	if !slices.Equal(mem, []string{"bob"}) {
		e.t.Fatalf("members = %v, want [bob]", mem)
	}
	subs, err := e.s.Subscriptions(e.ctx, "alice")
	e.must(err)
	if len(subs) != 0 {
		e.t.Fatalf("alice's subscriptions = %v, want none", subs)
	}
	if st := e.s.Stats(); st.ExpiredQueues != 1 {
		e.t.Fatalf("ExpiredQueues = %d, want 1", st.ExpiredQueues)
	}
}

func testQueuesPurge(e *env) {
	e.append(e.msg("e", "1"), "bob", "alice")
	e.clock.Advance(time.Second)
	e.append(e.msg("e", "2"), "alice")
	q, err := e.s.Queues(e.ctx)
	e.must(err)
	if len(q) != 2 || q[0].Client != "alice" || q[0].Depth != 2 || q[1].Client != "bob" || q[1].Depth != 1 {
		e.t.Fatalf("queues = %+v", q)
	}
	if !q[0].Oldest.Equal(e.clock.Now().Add(-time.Second)) || q[0].NextOffset != 3 {
		e.t.Fatalf("alice's queue = %+v", q[0])
	}
	n, err := e.s.Purge(e.ctx, "alice")
	e.must(err)
	if n != 2 {
		e.t.Fatalf("purged %d, want 2", n)
	}
	e.wantOffsets("alice")
	_, offs := e.append(e.msg("e", "3"), "alice")
	if !slices.Equal(offs, []uint64{3}) {
		e.t.Fatalf("offset after purge = %v, want [3]", offs)
	}
	n, err = e.s.Purge(e.ctx, "nobody")
	e.must(err)
	if n != 0 {
		e.t.Fatalf("purge of unknown client = %d", n)
	}
	if st := e.s.Stats(); st.Purged != 2 {
		e.t.Fatalf("Purged = %d, want 2", st.Purged)
	}
	// reading or acking for an unknown client creates no queue
	e.pending("ghost", 0)
	if n, err := e.s.AckBatch(e.ctx, "ghost", []store.ID{{1}}); err != nil || n != 0 {
		e.t.Fatalf("AckBatch for an unknown client = %d, %v; want 0, nil", n, err)
	}
	q, err = e.s.Queues(e.ctx)
	e.must(err)
	if len(q) != 2 {
		e.t.Fatalf("queues after Pending/AckBatch of an unknown client = %+v, want alice and bob only", q)
	}
}

func testSubscriptions(e *env) {
	r1 := store.Sub{Namespace: "/chat", Room: "r1"}
	r2 := store.Sub{Namespace: "/chat", Room: "r2"}
	o1 := store.Sub{Namespace: "/other", Room: "r1"}
	e.must(e.s.Subscribe(e.ctx, "bob", r1))
	e.must(e.s.Subscribe(e.ctx, "alice", r1))
	e.must(e.s.Subscribe(e.ctx, "alice", r1)) // idempotent
	e.must(e.s.Subscribe(e.ctx, "alice", o1))
	e.must(e.s.Subscribe(e.ctx, "alice", r2))
	mem, err := e.s.Members(e.ctx, r1)
	e.must(err)
	if !slices.Equal(mem, []string{"alice", "bob"}) {
		e.t.Fatalf("members of r1 = %v", mem)
	}
	subs, err := e.s.Subscriptions(e.ctx, "alice")
	e.must(err)
	if !slices.Equal(subs, []store.Sub{r1, r2, o1}) {
		e.t.Fatalf("alice's subscriptions = %v", subs)
	}
	e.must(e.s.Unsubscribe(e.ctx, "alice", r1))
	e.must(e.s.Unsubscribe(e.ctx, "alice", r1)) // absent: no error
	mem, err = e.s.Members(e.ctx, r1)
	e.must(err)
	if !slices.Equal(mem, []string{"bob"}) {
		e.t.Fatalf("members of r1 after leave = %v", mem)
	}
	mem, err = e.s.Members(e.ctx, store.Sub{Namespace: "/chat", Room: "empty"})
	e.must(err)
	if len(mem) != 0 {
		e.t.Fatalf("members of an unknown room = %v", mem)
	}
}

func testReplay(e *env) {
	head, err := e.s.ReplayHead(e.ctx, "/chat")
	e.must(err)
	got, err := e.s.Replay(e.ctx, "/chat", 0, 0, nil)
	e.must(err)
	if head != 0 || len(got) != 0 {
		e.t.Fatalf("empty log: head %d, entries %v", head, got)
	}
	for i := 1; i <= 3; i++ {
		_, off, err := e.s.AppendReplay(e.ctx, e.msg("b", fmt.Sprint(i)))
		e.must(err)
		if off != uint64(i) {
			e.t.Fatalf("replay offset %d, want %d", off, i)
		}
	}
	other := e.msg("b", "o")
	other.Namespace = "/other"
	if _, off, err := e.s.AppendReplay(e.ctx, other); err != nil || off != 1 {
		e.t.Fatalf("other namespace: offset %d, %v; want 1 (logs are per namespace)", off, err)
	}
	got, err = e.s.Replay(e.ctx, "/chat", 1, 0, nil)
	e.must(err)
	if !slices.Equal(offsets(got), []uint64{2, 3}) || string(got[0].Payload) != "2" || !slices.Equal(got[0].Rooms, []string{"r1"}) {
		e.t.Fatalf("replay after 1 = %+v", got)
	}
	got, err = e.s.Replay(e.ctx, "/chat", 0, 2, nil)
	e.must(err)
	if !slices.Equal(offsets(got), []uint64{1, 2}) {
		e.t.Fatalf("replay limit 2 = %v", offsets(got))
	}
	got, err = e.s.Replay(e.ctx, "/chat", 3, 0, nil)
	e.must(err)
	if len(got) != 0 {
		e.t.Fatalf("replay at head = %v", offsets(got))
	}
	head, err = e.s.ReplayHead(e.ctx, "/chat")
	e.must(err)
	if head != 3 {
		e.t.Fatalf("head = %d, want 3", head)
	}
	if _, err := e.s.Replay(e.ctx, "/chat", 9, 0, nil); !errors.Is(err, store.ErrReplayGap) {
		e.t.Fatalf("replay after an offset never issued: %v, want ErrReplayGap", err)
	}
	if _, err := e.s.Replay(e.ctx, "/none", 5, 0, nil); !errors.Is(err, store.ErrReplayGap) {
		e.t.Fatalf("replay of an unknown log after 5: %v, want ErrReplayGap", err)
	}
}

func testReplayRetention(e *env) {
	for i := 1; i <= 3; i++ {
		_, _, err := e.s.AppendReplay(e.ctx, e.msg("b", fmt.Sprint(i)))
		e.must(err)
	}
	if _, err := e.s.Replay(e.ctx, "/chat", 0, 0, nil); !errors.Is(err, store.ErrReplayGap) {
		e.t.Fatalf("replay from 0 after trimming entry 1: %v, want ErrReplayGap", err)
	}
	got, err := e.s.Replay(e.ctx, "/chat", 1, 0, nil)
	e.must(err)
	if !slices.Equal(offsets(got), []uint64{2, 3}) {
		e.t.Fatalf("replay after 1 = %v", offsets(got))
	}
	e.clock.Advance(2 * time.Minute)
	if _, err := e.s.Replay(e.ctx, "/chat", 1, 0, nil); !errors.Is(err, store.ErrReplayGap) {
		e.t.Fatalf("replay past the window: %v, want ErrReplayGap", err)
	}
	got, err = e.s.Replay(e.ctx, "/chat", 3, 0, nil)
	e.must(err)
	if len(got) != 0 {
		e.t.Fatalf("replay at head past the window = %v", offsets(got))
	}
	e.must(e.s.Expire(e.ctx))
	if st := e.s.Stats(); st.ReplayTrimmed != 3 || st.ReplayAppended != 3 {
		e.t.Fatalf("stats = %+v, want ReplayTrimmed 3, ReplayAppended 3", st)
	}
}

func testSessions(e *env) {
	s := store.Session{ID: "s1", Client: "alice", Namespace: "/chat", Rooms: []string{"a", "b"}, Offset: 42}
	e.must(e.s.SaveSession(e.ctx, s))
	e.must(e.s.SaveSession(e.ctx, store.Session{ID: "s2", Client: "bob", Namespace: "/chat"}))
	e.clock.Advance(time.Minute)
	got, err := e.s.TakeSession(e.ctx, "s1")
	e.must(err)
	if got.ID != "s1" || got.Client != "alice" || got.Namespace != "/chat" || !slices.Equal(got.Rooms, s.Rooms) || got.Offset != 42 {
		e.t.Fatalf("session = %+v", got)
	}
	if !got.Expires.Equal(e.clock.Now().Add(time.Minute)) {
		e.t.Fatalf("expires = %v, want %v", got.Expires, e.clock.Now().Add(time.Minute))
	}
	if _, err := e.s.TakeSession(e.ctx, "s1"); !errors.Is(err, store.ErrSessionNotFound) {
		e.t.Fatalf("second take: %v, want ErrSessionNotFound", err)
	}
	e.clock.Advance(90 * time.Second)
	if _, err := e.s.TakeSession(e.ctx, "s2"); !errors.Is(err, store.ErrSessionNotFound) {
		e.t.Fatalf("take after the window: %v, want ErrSessionNotFound", err)
	}
	if _, err := e.s.TakeSession(e.ctx, "never"); !errors.Is(err, store.ErrSessionNotFound) {
		e.t.Fatalf("unknown session: %v", err)
	}
}

func testConcurrent(e *env) {
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m := e.msg("c", fmt.Sprintf("%d/%d", w, i))
				if _, _, err := e.s.Append(e.ctx, m, []string{"alice", fmt.Sprintf("w%d", w)}, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		e.t.Fatal(err)
	}
	msgs := e.pending("alice", 0)
	if len(msgs) != workers*each {
		e.t.Fatalf("%d pending, want %d", len(msgs), workers*each)
	}
	last := make(map[int]int)
	for i, m := range msgs {
		if m.Offset != uint64(i+1) {
			e.t.Fatalf("message %d has offset %d", i, m.Offset)
		}
		var w, n int
		fmt.Sscanf(string(m.Payload), "%d/%d", &w, &n)
		if prev, ok := last[w]; ok && n <= prev {
			e.t.Fatalf("worker %d's messages out of order: %d after %d", w, n, prev)
		}
		last[w] = n
	}
	e.wantOffsets("w3", func() []uint64 {
		var o []uint64
		for i := 1; i <= each; i++ {
			o = append(o, uint64(i))
		}
		return o
	}()...)
}

func testLargePayload(e *env) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	e.append(store.Message{Namespace: "/chat", Event: "big", Payload: big}, "alice")
	if msgs := e.pending("alice", 0); len(msgs) != 1 || !bytes.Equal(msgs[0].Payload, big) {
		e.t.Fatal("1 MiB payload did not round-trip")
	}
	huge := store.Message{Namespace: "/chat", Event: "huge", Payload: make([]byte, store.MaxPayload+1)}
	if _, _, err := e.s.Append(e.ctx, huge, []string{"alice"}, nil); !errors.Is(err, store.ErrPayloadTooLarge) {
		e.t.Fatalf("payload above MaxPayload: %v, want ErrPayloadTooLarge", err)
	}
}

func testClosed(e *env) {
	e.must(e.s.Close())
	if _, _, err := e.s.Append(e.ctx, e.msg("a", "x"), []string{"alice"}, nil); !errors.Is(err, store.ErrClosed) {
		e.t.Errorf("Append after Close: %v", err)
	}
	if _, err := e.s.Pending(e.ctx, "alice", 0, 0, nil); !errors.Is(err, store.ErrClosed) {
		e.t.Errorf("Pending after Close: %v", err)
	}
	if _, err := e.s.AckBatch(e.ctx, "alice", []store.ID{{1}}); !errors.Is(err, store.ErrClosed) {
		e.t.Errorf("AckBatch after Close: %v", err)
	}
	if _, err := e.s.Queues(e.ctx); !errors.Is(err, store.ErrClosed) {
		e.t.Errorf("Queues after Close: %v", err)
	}
}

func testReopen(e *env) {
	id, _ := e.append(e.msg("a", "1"), "alice", "bob")
	e.append(e.msg("a", "2"), "alice")
	e.must(store.AckOne(e.ctx, e.s, "bob", id))
	sub := store.Sub{Namespace: "/chat", Room: "r"}
	e.must(e.s.Subscribe(e.ctx, "alice", sub))
	_, _, err := e.s.AppendReplay(e.ctx, e.msg("b", "r1"))
	e.must(err)
	e.must(e.s.SaveSession(e.ctx, store.Session{ID: "s", Client: "alice", Namespace: "/chat", Offset: 1}))

	e.s = e.h.Reopen(e.t, e.s, e.opts)

	msgs := e.wantOffsets("alice", 1, 2)
	if msgs[0].ID != id || string(msgs[1].Payload) != "2" {
		e.t.Fatalf("after reopen: %+v", msgs)
	}
	e.wantOffsets("bob")
	_, offs := e.append(e.msg("a", "3"), "alice", "bob")
	if !slices.Equal(offs, []uint64{3, 2}) {
		e.t.Fatalf("offsets after reopen = %v, want [3 2]", offs)
	}
	mem, err := e.s.Members(e.ctx, sub)
	e.must(err)
	if !slices.Equal(mem, []string{"alice"}) {
		e.t.Fatalf("members after reopen = %v", mem)
	}
	got, err := e.s.Replay(e.ctx, "/chat", 0, 0, nil)
	e.must(err)
	if len(got) != 1 || string(got[0].Payload) != "r1" {
		e.t.Fatalf("replay after reopen = %+v", got)
	}
	if _, off, err := e.s.AppendReplay(e.ctx, e.msg("b", "r2")); err != nil || off != 2 {
		e.t.Fatalf("replay offset after reopen = %d, %v; want 2", off, err)
	}
	if s, err := e.s.TakeSession(e.ctx, "s"); err != nil || s.Client != "alice" {
		e.t.Fatalf("session after reopen = %+v, %v", s, err)
	}
}

// testClaim: the first claim of a client id issues a token (or keeps the
// one given), later claims need it, Purge keeps it and the expiry of the
// idle queue frees the id.
func testClaim(e *env) {
	tok, err := e.s.Claim(e.ctx, "alice", "")
	e.must(err)
	if len(tok) != 32 {
		e.t.Fatalf("issued token %q, want 32 hex digits", tok)
	}
	if got, err := e.s.Claim(e.ctx, "alice", tok); err != nil || got != tok {
		e.t.Fatalf("claim with the token = %q, %v; want %q", got, err, tok)
	}
	for _, bad := range []string{"", "x" + tok[1:], tok + "0"} {
		if _, err := e.s.Claim(e.ctx, "alice", bad); !errors.Is(err, store.ErrClaimed) {
			e.t.Fatalf("claim with %q: %v, want ErrClaimed", bad, err)
		}
	}
	if got, err := e.s.Claim(e.ctx, "bob", "mine"); err != nil || got != "mine" {
		e.t.Fatalf("first claim of bob with a token = %q, %v; want it kept", got, err)
	}
	q, err := e.s.Queues(e.ctx)
	e.must(err)
	if len(q) != 2 || q[0].Client != "alice" || q[1].Client != "bob" {
		e.t.Fatalf("queues = %+v, want alice and bob", q)
	}
	e.append(e.msg("e", "x"), "alice")
	_, err = e.s.Purge(e.ctx, "alice")
	e.must(err)
	if _, err := e.s.Claim(e.ctx, "alice", ""); !errors.Is(err, store.ErrClaimed) {
		e.t.Fatalf("claim after purge without the token: %v, want ErrClaimed", err)
	}
	e.clock.Advance(2 * time.Hour)
	e.must(e.s.Expire(e.ctx))
	tok2, err := e.s.Claim(e.ctx, "alice", "")
	if err != nil || tok2 == tok {
		e.t.Fatalf("claim after expiry = %q, %v; want a new token", tok2, err)
	}
}

// testMaxClients: at Limits.MaxClients client ids a Claim of a new one is
// refused (ErrTooManyClients) and creates nothing, a known one is still
// claimed, and the expiry of an idle queue frees a place.
func testMaxClients(e *env) {
	tok, err := e.s.Claim(e.ctx, "alice", "")
	e.must(err)
	e.clock.Advance(30 * time.Minute)
	_, err = e.s.Claim(e.ctx, "bob", "")
	e.must(err)
	if _, err := e.s.Claim(e.ctx, "carol", ""); !errors.Is(err, store.ErrTooManyClients) {
		e.t.Fatalf("claim of a third client id at MaxClients 2: %v, want ErrTooManyClients", err)
	}
	if got, err := e.s.Claim(e.ctx, "alice", tok); err != nil || got != tok {
		e.t.Fatalf("claim of a known client id at the bound = %q, %v; want its token", got, err)
	}
	if _, err := e.s.Claim(e.ctx, "alice", ""); !errors.Is(err, store.ErrClaimed) {
		e.t.Fatalf("claim of a known client id without its token at the bound: %v, want ErrClaimed", err)
	}
	q, err := e.s.Queues(e.ctx)
	e.must(err)
	if len(q) != 2 {
		e.t.Fatalf("queues after the refusal = %+v, want alice and bob only", q)
	}
	e.clock.Advance(45 * time.Minute) // both idle 45 min of the TTL's 60: neither expires
	e.must(e.s.Expire(e.ctx))
	if _, err := e.s.Claim(e.ctx, "carol", ""); !errors.Is(err, store.ErrTooManyClients) {
		e.t.Fatalf("claim of carol before any queue expired: %v, want ErrTooManyClients", err)
	}
	_, err = e.s.Claim(e.ctx, "alice", tok)
	e.must(err)
	e.clock.Advance(30 * time.Minute) // bob idle 75 min: expires; alice idle 30
	e.must(e.s.Expire(e.ctx))
	if _, err := e.s.Claim(e.ctx, "carol", ""); err != nil {
		e.t.Fatalf("claim of carol after bob's queue expired: %v", err)
	}
	if _, err := e.s.Claim(e.ctx, "dave", ""); !errors.Is(err, store.ErrTooManyClients) {
		e.t.Fatalf("claim of dave with alice and carol held: %v, want ErrTooManyClients", err)
	}
}

// The entries and sessions of the byte bound cases: what each counts.
var (
	boundedEntrySize   = store.ReplayEntrySize(1000, []string{"r1"}, []string{"x"})
	boundedSessionSize = store.SessionSize(&store.Session{ID: "s1", Client: "c", Namespace: "/chat", Rooms: []string{"room"}})
)

// appendBounded appends an entry of boundedEntrySize bytes to ns's log a
// second after the one before (so that the oldest is plain) and returns
// its offset.
func (e *env) appendBounded(ns string) uint64 {
	e.t.Helper()
	e.clock.Advance(time.Second)
	m := e.msg("b", string(bytes.Repeat([]byte{'p'}, 1000)))
	m.Namespace = ns
	_, off, err := e.s.AppendReplay(e.ctx, m)
	e.must(err)
	return off
}

// wantReplay checks that ns's log holds the entries after `after` up to
// head, and that those from `after` on are gone (a gap).
func (e *env) wantReplay(ns string, after, head uint64) {
	e.t.Helper()
	got, err := e.s.Replay(e.ctx, ns, after, 0, nil)
	e.must(err)
	var want []uint64
	for o := after + 1; o <= head; o++ {
		want = append(want, o)
	}
	if !slices.Equal(offsets(got), want) {
		e.t.Fatalf("replay of %s after %d = %v, want %v", ns, after, offsets(got), want)
	}
	if after > 0 {
		if _, err := e.s.Replay(e.ctx, ns, after-1, 0, nil); !errors.Is(err, store.ErrReplayGap) {
			e.t.Fatalf("replay of %s after %d: %v, want ErrReplayGap (entry %d dropped for the byte bound)", ns, after-1, err, after)
		}
	}
}

// testReplayMaxBytes: a namespace's log keeps its newest entries within
// ReplayMaxBytes (four of the ten), the oldest dropped first.
func testReplayMaxBytes(e *env) {
	for range 10 {
		e.appendBounded("/chat")
	}
	e.wantReplay("/chat", 6, 10)
	st := e.s.Stats()
	if st.ReplayBytes != uint64(4*boundedEntrySize) || st.ReplayTrimmed != 6 || st.ReplayAppended != 10 {
		e.t.Fatalf("stats: ReplayBytes %d (bound %d), ReplayTrimmed %d, ReplayAppended %d; want %d, 6, 10",
			st.ReplayBytes, e.opts.Limits.ReplayMaxBytes, st.ReplayTrimmed, st.ReplayAppended, 4*boundedEntrySize)
	}
	// another namespace has a bound of its own
	e.appendBounded("/other")
	e.wantReplay("/other", 0, 1)
	e.wantReplay("/chat", 6, 10)
}

// testReplayTotalBytes: the logs of two namespaces together keep the
// newest entries within ReplayTotalBytes, the oldest of either first.
func testReplayTotalBytes(e *env) {
	for range 5 {
		e.appendBounded("/a")
		e.appendBounded("/b")
	}
	// a1 b1 a2 b2 a3 b3 a4 b4 a5 b5: the four newest stay
	e.wantReplay("/a", 3, 5)
	e.wantReplay("/b", 3, 5)
	if st := e.s.Stats(); st.ReplayBytes != uint64(4*boundedEntrySize) || st.ReplayTrimmed != 6 {
		e.t.Fatalf("stats: ReplayBytes %d (bound %d), ReplayTrimmed %d; want %d, 6",
			st.ReplayBytes, e.opts.Limits.ReplayTotalBytes, st.ReplayTrimmed, 4*boundedEntrySize)
	}
	// entries that age out give their bytes back
	e.clock.Advance(e.opts.Limits.WithDefaults().ReplayWindow + time.Minute)
	e.must(e.s.Expire(e.ctx))
	if st := e.s.Stats(); st.ReplayBytes != 0 {
		e.t.Fatalf("ReplayBytes %d after every entry expired, want 0", st.ReplayBytes)
	}
}

// testSessionTotalBytes: the sessions keep within SessionTotalBytes, the
// oldest dropped first (and counted); a taken or expired session gives its
// bytes back.
func testSessionTotalBytes(e *env) {
	for i := 1; i <= 6; i++ {
		e.clock.Advance(time.Second)
		e.must(e.s.SaveSession(e.ctx, store.Session{ID: fmt.Sprintf("s%d", i), Client: "c", Namespace: "/chat", Rooms: []string{"room"}}))
	}
	st := e.s.Stats()
	if st.SessionBytes != uint64(3*boundedSessionSize) || st.SessionsDropped != 3 || st.SessionsSaved != 6 {
		e.t.Fatalf("stats: SessionBytes %d (bound %d), SessionsDropped %d, SessionsSaved %d; want %d, 3, 6",
			st.SessionBytes, e.opts.Limits.SessionTotalBytes, st.SessionsDropped, st.SessionsSaved, 3*boundedSessionSize)
	}
	for _, id := range []string{"s1", "s2", "s3"} {
		if _, err := e.s.TakeSession(e.ctx, id); !errors.Is(err, store.ErrSessionNotFound) {
			e.t.Fatalf("take %s, dropped for the bound: %v, want ErrSessionNotFound", id, err)
		}
	}
	if got, err := e.s.TakeSession(e.ctx, "s6"); err != nil || got.Client != "c" || !slices.Equal(got.Rooms, []string{"room"}) {
		e.t.Fatalf("take s6, the newest: %+v, %v", got, err)
	}
	if st := e.s.Stats(); st.SessionBytes != uint64(2*boundedSessionSize) {
		e.t.Fatalf("SessionBytes %d after a take, want %d (the taken session's bytes given back)", st.SessionBytes, 2*boundedSessionSize)
	}
	e.clock.Advance(e.opts.Limits.WithDefaults().SessionWindow + time.Minute)
	e.must(e.s.Expire(e.ctx))
	if st := e.s.Stats(); st.SessionBytes != 0 {
		e.t.Fatalf("SessionBytes %d after every session expired, want 0", st.SessionBytes)
	}
}
