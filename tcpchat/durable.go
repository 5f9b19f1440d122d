package tcpchat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Durable queues (docs/PROTOCOL.md, "Durable queues"). With Options.Store
// set, a connection whose handshake names a client id is durable: its room
// joins are recorded in the store (they outlive the connection), durable
// emits are appended to its queue before they are sent, and after the
// client's getAll the server sends it its pending queued events, at most
// maxInflight unacknowledged at a time, in offset order.

// maxInflight bounds the queued events sent on one connection and not yet
// acknowledged; the rest wait in the store.
const maxInflight = 256

// namespaceRoom is the hidden durable room every durable client id joins
// in each namespace it connects to: a durable emit to a whole namespace
// goes to its members.
const namespaceRoom = "\x01namespace"

// ErrNoStore is returned by EmitDurable on a server without Options.Store.
var ErrNoStore = errors.New("tcpchat: durable emits need a store (Options.Store)")

// DurableTarget names the recipients of a durable emit: client ids and the
// durable members of rooms (members that are offline included). With both
// empty, every client id that ever connected to the namespace (and whose
// queue has not expired) is a recipient.
type DurableTarget struct {
	Clients []string
	Rooms   []string
}

// DurableResult says what a durable emit did.
type DurableResult struct {
	ID         string // the message id, 32 hex digits
	Recipients int    // queues it was appended to
}

// durableConn is the durable state of one connection.
type durableConn struct {
	mu       sync.Mutex // serialises pumps; guards the fields below
	on       bool       // the client sent getAll
	sent     uint64     // highest offset considered on this connection
	inflight int        // sent and not yet acknowledged
	more     bool       // a pump stopped at maxInflight
	nss      []string   // namespaces joined (copy for pumps)
	buf      []store.Message

	// After a store error the connection tries again (retryLocked): the
	// namespaces whose durable rooms could not be read, then the pump.
	retry     *time.Timer   // guarded by mu; set while a retry waits
	retryWait time.Duration // guarded by mu; the wait before the next retry
	rejoin    []*Socket     // guarded by mu; sockets whose durable rooms wait

	pmu     sync.Mutex
	pumping bool // guarded by pmu; a pump runs
	again   bool // guarded by pmu; pump was called while one ran

	ackMu  sync.Mutex
	acks   []store.ID // guarded by ackMu; waiting for the ack worker
	acking bool       // guarded by ackMu; the ack worker runs

	// emitSlots holds one token per durable emit of this connection's
	// client (Socket.EmitDurableAsync) waiting for the store; made at the
	// first such emit.
	emitSlots chan struct{} // guarded by ackMu
}

// durableServer is the durable state of a server.
type durableServer struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	byClient map[string][]*conn // guarded by mu; durable connections per client id
	sentHigh map[string]uint64  // guarded by mu; highest offset ever sent per client id

	emits         atomic.Int64
	appended      atomic.Int64
	delivered     atomic.Int64
	redelivered   atomic.Int64
	acked         atomic.Int64
	ackNotPending atomic.Int64
	badAcks       atomic.Int64
	storeErrors   atomic.Int64
	batches       atomic.Int64 // store writes of the durable writer (AppendBatch calls)
	backlogWaits  atomic.Int64 // durable emits that waited for room in the backlog
	connWaits     atomic.Int64 // client durable emits that waited: maxDurablePerConn of their connection's were waiting

	slots   chan struct{} // one per durable emit queued and not yet answered
	emitMu  sync.Mutex
	waiting []durableEmit // guarded by emitMu; durable emits for the writer, in order
	writing bool          // guarded by emitMu; the durable writer runs
}

func newDurableServer() *durableServer {
	ctx, cancel := context.WithCancel(context.Background())
	return &durableServer{ctx: ctx, cancel: cancel, byClient: make(map[string][]*conn), sentHigh: make(map[string]uint64),
		slots: make(chan struct{}, maxDurableBacklog)}
}

// expireLoop applies the store's age limits until the server closes.
func (s *Server) expireLoop() {
	t := time.NewTicker(s.opts.ExpireInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		ctx, cancel := s.storeCtx()
		if st := s.opts.Store; st != nil {
			if err := st.Expire(ctx); err != nil {
				s.durableError("expire", err)
			}
		}
		if st := s.opts.RecoveryStore; st != nil && st != s.opts.Store {
			if err := st.Expire(ctx); err != nil {
				s.durableError("expire recovery state", err)
			}
		}
		cancel()
	}
}

func (s *Server) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.dur.ctx, s.opts.WriteTimeout)
}

// durableRegister makes c durable after its handshake (explicit client id
// and a store) once the store let it claim the id with token, and returns
// the id's resume token for the welcome. A refusal comes with the error
// code to answer: the id belongs to another client, or the store cannot
// tell (an id is never handed out unchecked). A resumed session proved
// itself with its session id: it keeps the id without the token.
func (s *Server) durableRegister(c *conn, token string) (string, uint16, error) {
	ctx, cancel := s.storeCtx()
	defer cancel()
	st := s.opts.Store
	tok, err := st.Claim(ctx, c.clientID, token)
	if errors.Is(err, store.ErrClaimed) && c.resumed {
		tok, err = "", st.Touch(ctx, c.clientID)
	}
	switch {
	case errors.Is(err, store.ErrClaimed):
		s.metrics.refusedIDs.Add(1)
		return "", wire.CodeClientIDTaken, fmt.Errorf("%w: client id %q belongs to another client: give its resume token", ErrClientIDTaken, c.clientID)
	case errors.Is(err, store.ErrTooManyClients):
		s.metrics.refusedNewIDs.Add(1)
		// The client is told the bound, not the store's error: a store
		// wraps it with its own context (a bolt file's path on the
		// server).
		bound := "the server keeps no more client ids"
		if le := (*store.ClientLimitError)(nil); errors.As(err, &le) {
			bound = fmt.Sprintf("the server keeps at most %d client ids, and this one is new", le.Max)
		}
		return "", wire.CodeTooManyConnections, fmt.Errorf("%w: client id %q: %s; connect with a client id this server knows, or with none, or retry once idle ones have expired", ErrTooManyClientIDs, c.clientID, bound)
	case err != nil:
		s.dur.storeErrors.Add(1)
		s.logf("tcpchat: store: claim %q: %v", c.clientID, err)
		return "", wire.CodeUnavailable, fmt.Errorf("%w: the store cannot check client id %q now; retry later", ErrHandshake, c.clientID)
	}
	c.durState()
	c.durable = true
	s.dur.mu.Lock()
	s.dur.byClient[c.clientID] = append(s.dur.byClient[c.clientID], c)
	s.dur.mu.Unlock()
	return tok, 0, nil
}

// durState returns the connection's durable state, made at its first use:
// the handshake of a durable connection, or the first durable emit of a
// client without a client id (Socket.EmitDurableAsync). A connection that
// uses neither holds none (184 bytes less for each idle connection).
func (c *conn) durState() *durableConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dur == nil {
		c.dur = new(durableConn)
	}
	return c.dur
}

func (s *Server) durableUnregister(c *conn) {
	if !c.durable {
		return
	}
	s.dur.mu.Lock()
	cs := s.dur.byClient[c.clientID]
	if i := slices.Index(cs, c); i >= 0 {
		cs = slices.Delete(cs, i, i+1)
	}
	if len(cs) == 0 {
		delete(s.dur.byClient, c.clientID)
	} else {
		s.dur.byClient[c.clientID] = cs
	}
	s.dur.mu.Unlock()
	c.dur.mu.Lock()
	if c.dur.retry != nil {
		c.dur.retry.Stop()
		c.dur.retry = nil
	}
	c.dur.rejoin = nil
	c.dur.mu.Unlock()
}

// retryLocked, called with c.dur.mu held after a store call failed for c,
// tries again after a wait that doubles up to retryMaxWait, while c is
// open: the durable rooms of the sockets in c.dur.rejoin, then the pump.
// Without it, a store that refuses for a moment (a Redis that is back
// refuses with go-redis's last dial error for up to a second, until its
// pool's probe succeeds) would leave the queue unsent and the rooms not
// joined until the next emit or reconnect.
func (c *conn) retryLocked() {
	d := c.dur
	if d.retry != nil || c.isClosed() {
		return
	}
	d.retryWait = min(max(2*d.retryWait, retryMinWait), retryMaxWait)
	d.retry = time.AfterFunc(d.retryWait, func() {
		d.mu.Lock()
		d.retry = nil
		rejoin := d.rejoin
		d.rejoin = nil
		d.mu.Unlock()
		if c.isClosed() {
			return
		}
		for _, s := range rejoin {
			if !s.gone.Load() {
				c.durableRooms(s)
			}
		}
		c.pump()
	})
}

// The waits between tries after a store error.
const (
	retryMinWait = 50 * time.Millisecond
	retryMaxWait = 5 * time.Second
)

// durableJoined records a namespace connect of a durable connection: the
// client id becomes a durable member of the namespace, and its durable
// rooms of that namespace are joined again.
func (c *conn) durableJoined(s *Socket) {
	c.dur.mu.Lock()
	c.dur.nss = append(c.dur.nss, s.ns.name)
	c.dur.mu.Unlock()
	c.durableRooms(s)
}

// durableRooms makes the client id a durable member of s's namespace and
// joins s to the client id's durable rooms there; after a store error it
// tries again later (retryLocked).
func (c *conn) durableRooms(s *Socket) {
	st := c.srv.opts.Store
	ctx, cancel := c.srv.storeCtx()
	defer cancel()
	failed := func(op string, err error) {
		c.srv.durableError(op, err)
		c.dur.mu.Lock()
		c.dur.rejoin = append(c.dur.rejoin, s)
		c.retryLocked()
		c.dur.mu.Unlock()
	}
	if err := st.Subscribe(ctx, c.clientID, store.Sub{Namespace: s.ns.name, Room: namespaceRoom}); err != nil {
		failed("subscribe", err)
		return
	}
	subs, err := st.Subscriptions(ctx, c.clientID)
	if err != nil {
		failed("subscriptions", err)
		return
	}
	var rooms []string
	for _, sub := range subs {
		if sub.Namespace == s.ns.name && sub.Room != namespaceRoom {
			rooms = append(rooms, sub.Room)
		}
	}
	if len(rooms) > 0 {
		// All of them, even beyond Options.MaxRoomsPerConn: they count
		// against it, so the connection's further joins are refused, but
		// a room the client id is a durable member of is never left out.
		s.addRooms(-1, rooms)
	}
}

func (c *conn) durableLeft(ns string) {
	c.dur.mu.Lock()
	if i := slices.Index(c.dur.nss, ns); i >= 0 {
		c.dur.nss = slices.Delete(c.dur.nss, i, i+1)
	}
	c.dur.mu.Unlock()
}

func (s *Server) durableError(op string, err error) {
	s.dur.storeErrors.Add(1)
	s.logf("tcpchat: store: %s: %v", op, err)
}

// subscribe records durable room memberships of a socket's client id.
func (s *Socket) subscribe(rooms []string, join bool) {
	if !s.c.durable {
		return
	}
	st := s.c.srv.opts.Store
	ctx, cancel := s.c.srv.storeCtx()
	defer cancel()
	for _, r := range rooms {
		sub := store.Sub{Namespace: s.ns.name, Room: r}
		var err error
		if join {
			err = st.Subscribe(ctx, s.c.clientID, sub)
		} else {
			err = st.Unsubscribe(ctx, s.c.clientID, sub)
		}
		if err != nil {
			s.c.srv.durableError("room "+r, err)
		}
	}
}

// EmitDurable marshals args to a JSON array and appends the event to the
// queue of every recipient (see DurableTarget) before sending it to those
// connected: it returns once the store holds it (for bolt, fsynced). Each
// recipient receives it until it acknowledges it (received).
func (ns *Namespace) EmitDurable(ctx context.Context, to DurableTarget, event string, args ...any) (DurableResult, error) {
	if err := checkName(event); err != nil {
		return DurableResult{}, err
	}
	buf, err := appendArgs(nil, args)
	if err != nil {
		return DurableResult{}, err
	}
	return ns.EmitDurableRaw(ctx, to, event, buf)
}

// EmitDurableRaw is EmitDurable with arguments that are already a JSON
// array (unchecked): it saves marshalling them, for example to queue
// arguments that arrived as JSON. ctx bounds the wait for room in the
// server's queue of durable emits; once queued, the emit waits for its
// store write, which Options.WriteTimeout bounds.
func (ns *Namespace) EmitDurableRaw(ctx context.Context, to DurableTarget, event string, args []byte) (DurableResult, error) {
	type answer struct {
		res DurableResult
		err error
	}
	ch := make(chan answer, 1)
	if err := ns.srv.queueDurable(ctx, durableEmit{ns: ns, ctx: ctx, to: to, event: event, args: args,
		done: func(r DurableResult, err error) { ch <- answer{r, err} }}); err != nil {
		return DurableResult{}, err
	}
	a := <-ch
	return a.res, a.err
}

// EmitDurableAsync is EmitDurableRaw without waiting for the store: done
// runs once with the result when the store holds the event (or refused
// it), at once when the emit is invalid. Emits queued one after another
// are appended in that order. It waits only while the server holds
// maxDurableBacklog durable emits not yet written. Pending emits of every
// caller share store writes (bolt: one transaction and one fsync for up to
// maxDurableBatch emits), which is what makes many emits in flight fast.
// done runs on the server's durable writer: it must not block (an Ack
// from Event.AckFunc is fine). args must not change until done runs.
func (ns *Namespace) EmitDurableAsync(to DurableTarget, event string, args []byte, done func(DurableResult, error)) {
	if err := ns.srv.queueDurable(context.Background(), durableEmit{ns: ns, ctx: context.Background(), to: to, event: event, args: args, done: done}); err != nil {
		done(DurableResult{}, err)
	}
}

// Packet limits. A durable emit that a client asks for (the built-in
// durable event, through Socket.EmitDurableAsync) and the acknowledgement
// of a queued event the server sent are flow-controlled: the first by the
// store (at most maxDurablePerConn of a connection's emits wait for it; a
// connection with that many is not read until one is answered) and by the
// server-wide backlog, the second by the in-flight window of queued events
// (maxInflight). Neither counts against the packet rate limits
// (Options.RateLimit, EventRatePerAddr): a pipelining publisher is paced
// by its store writes, not cut. A packet must still find a token when it
// arrives, and an acknowledgement with nothing in flight (an unknown or
// repeated one) counts.

// maxDurablePerConn bounds the durable emits of one connection's client
// waiting for the store; more wait (the connection is not read meanwhile).
const maxDurablePerConn = 1024

// EmitDurableAsync is Namespace.EmitDurableAsync for an emit that this
// socket's client asked for (as the built-in durable event does): the
// packet being handled does not count against the packet rate limits, and
// at most 1024 of the connection's emits wait for the store at once; with
// that many waiting, the call waits until one is answered (from a handler:
// the connection is not read meanwhile, which slows the client). The store
// paces such a client instead of the rate limit cutting it; an emit
// refused at once (an invalid name, no store) counts as usual. Call it
// from one of the socket's handlers.
func (s *Socket) EmitDurableAsync(to DurableTarget, event string, args []byte, done func(DurableResult, error)) {
	c := s.c
	d := c.durState()
	d.ackMu.Lock()
	if d.emitSlots == nil {
		d.emitSlots = make(chan struct{}, maxDurablePerConn)
	}
	slots := d.emitSlots
	d.ackMu.Unlock()
	select {
	case slots <- struct{}{}:
	default:
		c.srv.dur.connWaits.Add(1)
		select {
		case slots <- struct{}{}:
		case <-c.srv.stop:
			done(DurableResult{}, ErrServerClosed)
			return
		}
	}
	err := c.srv.queueDurable(context.Background(), durableEmit{ns: s.ns, ctx: context.Background(), to: to, event: event, args: args,
		done: func(r DurableResult, err error) {
			<-slots
			done(r, err)
		}})
	if err != nil { // refused at once: it counts like any packet
		<-slots
		done(DurableResult{}, err)
		return
	}
	c.free.Store(true)
}

// refund gives back the rate limit tokens of a flow-controlled packet;
// called by the reading goroutine after handling it.
func (c *conn) refund() {
	o := &c.srv.opts
	if o.RateLimit >= 0 {
		c.bucket.refund(o.RateBurst)
	}
	if st := c.addr; st != nil {
		st.mu.Lock()
		st.events.refund(max(o.EventBurstPerAddr, 1))
		st.mu.Unlock()
	}
}

// maxDurableBacklog bounds the durable emits of all callers that wait for
// the store or are being written; more wait for room.
const maxDurableBacklog = 4096

// maxDurableBatch bounds the emits of one store write.
const maxDurableBatch = 1024

// durableEmit is one durable emit waiting for its store write.
type durableEmit struct {
	ns    *Namespace
	ctx   context.Context // ends the emit when it ends before the write
	to    DurableTarget
	event string
	args  []byte
	done  func(DurableResult, error)
}

// queueDurable checks e and queues it for the durable writer, starting the
// writer when none runs.
func (s *Server) queueDurable(ctx context.Context, e durableEmit) error {
	if s.opts.Store == nil {
		return ErrNoStore
	}
	if err := checkName(e.event); err != nil {
		return err
	}
	for _, r := range e.to.Rooms {
		if err := checkName(r); err != nil {
			return err
		}
	}
	if len(e.args) == 0 {
		e.args = []byte("[]")
	}
	d := s.dur
	select {
	case <-s.stop:
		return ErrServerClosed
	default:
	}
	select {
	case d.slots <- struct{}{}:
	default:
		d.backlogWaits.Add(1)
		select {
		case d.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.stop:
			return ErrServerClosed
		}
	}
	d.emitMu.Lock()
	d.waiting = append(d.waiting, e)
	start := !d.writing
	d.writing = true
	d.emitMu.Unlock()
	if start {
		s.wg.Add(1)
		go s.durableWriter()
	}
	return nil
}

// durableWriter writes the waiting durable emits in batches, in the order
// they were queued, and ends when none are left.
func (s *Server) durableWriter() {
	defer s.wg.Done()
	d := s.dur
	var batch []durableEmit
	var apps []store.Appending
	for {
		d.emitMu.Lock()
		n := min(len(d.waiting), maxDurableBatch)
		if n == 0 {
			d.writing = false
			d.emitMu.Unlock()
			return
		}
		batch = append(batch[:0], d.waiting[:n]...)
		rest := copy(d.waiting, d.waiting[n:])
		clear(d.waiting[rest:])
		d.waiting = d.waiting[:rest]
		d.emitMu.Unlock()
		apps = s.writeDurable(batch, apps)
		clear(batch)
		for range n {
			<-d.slots
		}
	}
}

// writeDurable appends a batch of durable emits with one AppendBatch,
// answers each and wakes their connected recipients.
func (s *Server) writeDurable(batch []durableEmit, apps []store.Appending) []store.Appending {
	ctx, cancel := s.storeCtx()
	defer cancel()
	st := s.opts.Store
	members := make(map[store.Sub][]string) // one lookup per room and batch
	apps = apps[:0]
	queued := make([]*durableEmit, 0, len(batch))
	for i := range batch {
		e := &batch[i]
		if err := e.ctx.Err(); err != nil {
			e.done(DurableResult{}, err)
			continue
		}
		rooms := e.to.Rooms
		if len(e.to.Clients) == 0 && len(e.to.Rooms) == 0 {
			rooms = []string{namespaceRoom}
		}
		recips := append([]string(nil), e.to.Clients...)
		var err error
		for _, r := range rooms {
			sub := store.Sub{Namespace: e.ns.name, Room: r}
			m, ok := members[sub]
			if !ok {
				if m, err = st.Members(ctx, sub); err != nil {
					err = fmt.Errorf("members of room %q: %w", r, err)
					break
				}
				members[sub] = m
			}
			recips = append(recips, m...)
		}
		if err != nil {
			e.done(DurableResult{}, s.emitFailed(e.event, err))
			continue
		}
		apps = append(apps, store.Appending{Message: store.Message{Namespace: e.ns.name, Event: e.event, Rooms: e.to.Rooms, Payload: e.args}, To: recips})
		queued = append(queued, e)
	}
	if len(apps) == 0 {
		return apps
	}
	st.AppendBatch(ctx, apps)
	s.dur.batches.Add(1)
	wake := make(map[*Namespace][]string)
	for i, e := range queued {
		a := &apps[i]
		var full *store.QueueFullError
		if a.Err != nil && !errors.As(a.Err, &full) {
			e.done(DurableResult{}, s.emitFailed(e.event, a.Err))
			continue
		}
		n := 0 // a full queue refused its recipient: offset 0
		for _, off := range a.Offsets {
			if off != 0 {
				n++
			}
		}
		var err error
		if full != nil { // queued for the others; the sender is told
			err = fmt.Errorf("tcpchat: durable emit %q not queued for every recipient: %w", e.event, a.Err)
		}
		s.dur.emits.Add(1)
		s.dur.appended.Add(int64(n))
		e.done(DurableResult{ID: a.ID.String(), Recipients: n}, err)
		wake[e.ns] = append(wake[e.ns], a.To...)
	}
	for ns, clients := range wake {
		clients, _ = store.Dedupe(clients)
		s.wakeClients(clients)
		ns.adapter.WakeClients(clients) // the other nodes, with a multi-node adapter
	}
	for i := range apps {
		apps[i] = store.Appending{Offsets: apps[i].Offsets[:0]}
	}
	return apps
}

// emitFailed counts a durable emit that the store refused (in
// DurableStats.StoreErrors) and returns its error with what to do.
func (s *Server) emitFailed(event string, err error) error {
	s.durableError("durable emit "+event, err)
	var ne net.Error
	switch {
	case errors.Is(err, store.ErrDiskFull), errors.Is(err, store.ErrPayloadTooLarge):
		return fmt.Errorf("tcpchat: durable emit %q not queued: %w", event, err)
	case errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("tcpchat: durable emit %q not queued: %w (retry when it is back): %w", event, store.ErrUnreachable, err)
	}
	return fmt.Errorf("tcpchat: durable emit %q not queued: %w", event, err)
}

// wakeClients sends pending queued events to the local connections of
// these client ids (after a durable emit here, or, through
// AdapterHost.WakeClients, on another node).
func (s *Server) wakeClients(clients []string) {
	if s.opts.Store == nil {
		return
	}
	var cs []*conn
	s.dur.mu.Lock()
	for _, id := range clients {
		cs = append(cs, s.dur.byClient[id]...)
	}
	s.dur.mu.Unlock()
	for _, c := range cs {
		c.pump()
	}
}

// pump sends pending queued events after the connection's position, in
// offset order, until maxInflight are unacknowledged. Calls while a pump
// runs are coalesced: the running one reads the store once more.
func (c *conn) pump() {
	d := c.dur
	d.pmu.Lock()
	if d.pumping {
		d.again = true
		d.pmu.Unlock()
		return
	}
	d.pumping = true
	d.pmu.Unlock()
	for {
		c.pumpOnce()
		d.pmu.Lock()
		if !d.again {
			d.pumping = false
			d.pmu.Unlock()
			return
		}
		d.again = false
		d.pmu.Unlock()
	}
}

func (c *conn) pumpOnce() {
	srv := c.srv
	d := c.dur
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.on {
		return
	}
	for {
		if d.inflight >= maxInflight {
			d.more = true
			return
		}
		if c.isClosed() {
			return
		}
		ctx, cancel := srv.storeCtx()
		var err error
		d.buf, err = srv.opts.Store.Pending(ctx, c.clientID, d.sent, maxInflight-d.inflight, d.buf[:0])
		cancel()
		if err != nil {
			srv.durableError("pending for "+c.clientID, err)
			c.retryLocked()
			return
		}
		d.retryWait = 0
		if len(d.buf) == 0 {
			d.more = false
			return
		}
		srv.dur.mu.Lock()
		high := srv.dur.sentHigh[c.clientID]
		if last := d.buf[len(d.buf)-1].Offset; last > high {
			srv.dur.sentHigh[c.clientID] = last
		}
		srv.dur.mu.Unlock()
		for i := range d.buf {
			m := &d.buf[i]
			d.sent = m.Offset
			if !slices.Contains(d.nss, m.Namespace) {
				continue // another namespace: sent after a getAll there
			}
			p := wire.Packet{Type: wire.TypeQueued, Namespace: m.Namespace, Event: m.Event, MessageID: m.ID.String(),
				Offset: m.Offset, Args: m.Payload, Redelivered: m.Offset <= high}
			if !c.send(&p) {
				return
			}
			d.inflight++
			srv.dur.delivered.Add(1)
			if p.Redelivered {
				srv.dur.redelivered.Add(1)
			}
		}
		clear(d.buf)
	}
}

// getAll starts (or restarts) sending the queue after offset.
func (c *conn) getAll(offset uint64) {
	if !c.durable {
		c.srv.logf("tcpchat: %s: getAll ignored: durable queues need a store and a client id in the handshake", c.remoteAddr())
		return
	}
	c.dur.mu.Lock()
	c.dur.on, c.dur.sent, c.dur.inflight = true, offset, 0
	c.dur.mu.Unlock()
	c.pump()
}

// maxAckBacklog bounds the acknowledgements waiting for the ack worker of
// a connection; beyond it the reading goroutine acknowledges by itself (and
// stops reading meanwhile).
const maxAckBacklog = 1024

// received acknowledges one queued event. The store calls run on an ack
// worker, which hands the store every ack waiting at once in one AckBatch
// (bolt: one commit and its fsyncs for them all); the reading goroutine
// goes on, and the event leaves the connection's in-flight window at
// once: the window waits for the client, not for the store (an ack lost
// in a crash only means a redelivery). Unknown and duplicate acks are
// counted and otherwise ignored; a malformed message id too.
func (c *conn) received(msgID []byte) {
	if !c.durable {
		return
	}
	srv := c.srv
	id, err := store.ParseID(string(msgID))
	if err != nil {
		srv.dur.badAcks.Add(1)
		srv.logf("tcpchat: %s: received with %v: ignored", c.remoteAddr(), err)
		return
	}
	d := c.dur
	d.ackMu.Lock()
	if len(d.acks) >= maxAckBacklog {
		d.ackMu.Unlock()
		c.ackBatch([]store.ID{id})
		c.acked(1)
		return
	}
	d.acks = append(d.acks, id)
	start := !d.acking
	d.acking = true
	d.ackMu.Unlock()
	if start {
		srv.wg.Add(1)
		go c.ackLoop()
	}
	c.acked(1)
}

// ackLoop hands the waiting acks to the store, a batch at a time (what
// arrived while the last batch was written is the next one), and ends
// when none are left.
func (c *conn) ackLoop() {
	defer c.srv.wg.Done()
	d := c.dur
	var spare []store.ID
	for {
		d.ackMu.Lock()
		batch := d.acks
		d.acks = spare[:0]
		if len(batch) == 0 {
			d.acking = false
			d.ackMu.Unlock()
			return
		}
		d.ackMu.Unlock()
		c.ackBatch(batch)
		spare = batch
	}
}

// ackBatch removes ids from the connection's queue in the store and
// counts them.
func (c *conn) ackBatch(ids []store.ID) {
	srv := c.srv
	ctx, cancel := srv.storeCtx()
	n, err := srv.opts.Store.AckBatch(ctx, c.clientID, ids)
	cancel()
	if err != nil {
		srv.durableError("ack", err)
		return
	}
	srv.dur.acked.Add(int64(n))
	srv.dur.ackNotPending.Add(int64(len(ids) - n))
}

// acked lowers the in-flight count by n and sends more when it fell low.
// An acknowledgement of an event in flight is flow-controlled (it does
// not count against the packet rate limits).
func (c *conn) acked(n int) {
	c.dur.mu.Lock()
	if c.dur.inflight > 0 {
		c.free.Store(true)
	}
	c.dur.inflight = max(c.dur.inflight-n, 0)
	again := c.dur.more && c.dur.inflight <= maxInflight/2
	c.dur.mu.Unlock()
	if again {
		c.pump()
	}
}

// DurableStats are the counters of durable delivery since the server
// started.
type DurableStats struct {
	Emits         int64 // durable emits
	Appended      int64 // queue appends (one per recipient)
	Delivered     int64 // queued events sent (redeliveries included)
	Redelivered   int64 // queued events sent again
	Acked         int64 // received packets that removed a message
	AckNotPending int64 // received packets for unknown or already acknowledged ids
	BadAcks       int64 // received packets with a malformed message id
	StoreErrors   int64 // failed store operations
	Waiting       int   // durable emits queued for the store or being written, now (at most maxDurableBacklog)
	Batches       int64 // store writes of durable emits (Emits/Batches: emits per write)
	BacklogWaits  int64 // durable emits that waited for room because Waiting was at its bound
	ConnWaits     int64 // client durable emits that waited: their connection had 1024 waiting (Socket.EmitDurableAsync)
}

// DurableStats returns the durable delivery counters.
func (s *Server) DurableStats() DurableStats {
	d := s.dur
	return DurableStats{Emits: d.emits.Load(), Appended: d.appended.Load(), Delivered: d.delivered.Load(),
		Redelivered: d.redelivered.Load(), Acked: d.acked.Load(), AckNotPending: d.ackNotPending.Load(),
		BadAcks: d.badAcks.Load(), StoreErrors: d.storeErrors.Load(), Waiting: len(d.slots), Batches: d.batches.Load(),
		BacklogWaits: d.backlogWaits.Load(), ConnWaits: d.connWaits.Load()}
}

// seenMax bounds the message ids a client remembers for dedupe.
const seenMax = 4096

// handleQueued runs the handlers of a queued event unless its message id
// was handled already, then acknowledges it (received).
func (c *Client) handleQueued(s *ClientSocket, v *wire.View, e *ClientEvent) {
	id := string(v.MessageID)
	if _, dup := c.seen[id]; !dup {
		s.handle(v, e, id)
		if c.seen == nil {
			c.seen = make(map[string]struct{}, seenMax)
			c.seenRing = make([]string, seenMax)
		}
		if old := c.seenRing[c.seenNext]; old != "" {
			delete(c.seen, old)
		}
		c.seenRing[c.seenNext] = id
		c.seenNext = (c.seenNext + 1) % seenMax
		c.seen[id] = struct{}{}
	}
	c.writePacket(&wire.Packet{Type: wire.TypeReceived, Namespace: s.ns, MessageID: id, Offset: v.Offset})
}
