package tcpchat

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// ClientOptions configure a Client; zero fields take their defaults.
type ClientOptions struct {
	// Token is the server's access token, if it requires one.
	Token string
	// ClientID is the client's durable id (the server assigns one if empty).
	ClientID string
	// ResumeToken is the secret of ClientID that a server with a store
	// issued to its first connection (Client.ResumeToken): a server that
	// knows the id refuses a handshake without it (ErrClientIDTaken). Empty
	// for a new id; a server that knows the id without a token takes it.
	ResumeToken string
	// MaxFrame is the largest frame accepted from the server (default 1 MiB).
	MaxFrame int
	// HandshakeTimeout bounds dialing and the handshake (default 10 s).
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one write (default 10 s).
	WriteTimeout time.Duration
	// Addrs are more addresses of the same service (nodes that share a
	// Redis store, chat serve --redis), tried after Dial's addr. Dial and
	// every reconnection attempt try the addresses in turn, starting with
	// the one of the last connection, until one completes the handshake;
	// the backoff applies between rounds. A client id's durable queue and a
	// session saved in a shared store are found on any of them.
	Addrs []string
	// NoReconnect turns reconnection off: the client ends with the first
	// connection. By default it redials after a loss, with exponential
	// backoff between BackoffMin and BackoffMax (defaults 100 ms and 5 s)
	// and jitter, and rejoins its namespaces.
	NoReconnect bool
	BackoffMin  time.Duration
	BackoffMax  time.Duration
	// TLSConfig, when set, makes the default dialer open TLS before the
	// framed protocol; it is also used for wss:// URLs.
	TLSConfig *tls.Config
	// Dial opens the transport; the default dials TCP (TLS with
	// TLSConfig), sends the preamble and frames packets, or, for a ws:// or
	// wss:// URL, opens a WebSocket and sends one packet per message, or,
	// for a socketio://, http:// or https:// URL, opens a Socket.IO session
	// (socketio.go) and translates packets.
	Dial func(ctx context.Context, addr string) (Transport, error)
	// OnState observes connection changes: connected true after each
	// (re)connect, false with the error after each loss.
	OnState func(connected bool, err error)
	// Logf, when set, receives one line per notable event.
	Logf func(format string, args ...any)
}

func (o *ClientOptions) setDefaults() {
	if o.MaxFrame <= 0 {
		o.MaxFrame = framing.DefaultMaxFrame
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = 100 * time.Millisecond
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 5 * time.Second
	}
	if o.Dial == nil {
		maxFrame, cfg := o.MaxFrame, o.TLSConfig
		rec := new(sioRecovery) // the client's Socket.IO pids and offsets, across its reconnections
		o.Dial = func(ctx context.Context, addr string) (Transport, error) {
			if IsWebSocketURL(addr) {
				return dialWebSocket(ctx, addr, cfg, maxFrame) // websocket.go
			}
			if IsSocketIOURL(addr) {
				return dialSocketIO(ctx, addr, cfg, maxFrame, rec) // socketio.go
			}
			return dialFramed(ctx, addr, cfg, maxFrame)
		}
	}
}

// Client is a connection to a chat server that reconnects by itself. Its
// methods are safe for concurrent use. Handlers run on the client's single
// reading goroutine, in order.
type Client struct {
	addrs []string // Dial's addr, then ClientOptions.Addrs
	opts  ClientOptions

	mu       sync.Mutex
	t        Transport                // guarded by mu; nil while disconnected
	cur      int                      // guarded by mu; index in addrs of the last connection
	session  string                   // guarded by mu
	clientID string                   // guarded by mu
	resumeTk string                   // guarded by mu; the client id's resume token
	welcome  wire.Packet              // guarded by mu
	sockets  map[string]*ClientSocket // guarded by mu
	closed   bool                     // guarded by mu
	err      error                    // guarded by mu; why the client ended

	// Writes are queued and sent by a flusher goroutine that runs while
	// packets are pending, so a burst of emits becomes a few writes.
	wmu      sync.Mutex
	wcond    *sync.Cond // on wmu: signalled when the pending batch is taken
	pend     []byte     // guarded by wmu; encoded payloads back to back
	pendEnds []int      // guarded by wmu; end offset of each payload in pend
	flushing bool       // guarded by wmu; the flusher runs
	out      []byte     // owned by the flusher: the batch being written
	outEnds  []int      // owned by the flusher
	outList  [][]byte   // owned by the flusher

	// Message ids of recently handled durable events (owned by the
	// reading goroutine): a redelivered duplicate is acknowledged again
	// and not handled twice.
	seen     map[string]struct{}
	seenRing []string
	seenNext int

	done   chan struct{}
	ctx    context.Context    // ends with Close: bounds every reconnection
	cancel context.CancelFunc // called by Close and by the end of the loop
	wg     sync.WaitGroup
}

// Dial connects to the server at addr (or, failing that, at one of
// opts.Addrs) and completes the handshake. ctx bounds the first connection
// only. addr is HOST:PORT (framed TCP), a ws:// or wss:// URL (WebSocket)
// or a socketio://HOST:PORT, http:// or https:// URL (a Socket.IO server,
// the chat's /socket.io/ or another; a durable ClientID is refused there
// with ErrNotOverSocketIO).
func Dial(ctx context.Context, addr string, opts ClientOptions) (*Client, error) {
	opts.setDefaults()
	addrs := append([]string{addr}, opts.Addrs...)
	for _, a := range addrs {
		if opts.ClientID != "" && IsSocketIOURL(a) {
			return nil, &DialError{Addr: a, Err: fmt.Errorf("%w: a durable client id", ErrNotOverSocketIO)}
		}
	}
	c := &Client{addrs: addrs, opts: opts, sockets: make(map[string]*ClientSocket), done: make(chan struct{}), clientID: opts.ClientID, resumeTk: opts.ResumeToken}
	t, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.t = t
	c.wg.Add(1)
	go c.loop(t)
	return c, nil
}

func (c *Client) logf(format string, args ...any) {
	if c.opts.Logf != nil {
		c.opts.Logf(format, args...)
	}
}

// Addr returns the address of the current (or, while disconnected, the
// last) connection: Dial's addr or one of ClientOptions.Addrs.
func (c *Client) Addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addrs[c.cur]
}

// connect tries the addresses in turn, starting with the last one that
// worked, until one completes the handshake; ctx bounds them all.
func (c *Client) connect(ctx context.Context) (Transport, error) {
	c.mu.Lock()
	start := c.cur
	c.mu.Unlock()
	var errs []error
	for i := range c.addrs {
		k := (start + i) % len(c.addrs)
		t, err := c.connectTo(ctx, c.addrs[k])
		if err == nil {
			c.mu.Lock()
			c.cur = k
			c.mu.Unlock()
			return t, nil
		}
		if len(c.addrs) == 1 {
			return nil, err
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("tcpchat: no server of %d answered: %w", len(c.addrs), errors.Join(errs...))
}

// connectTo dials addr, sends the handshake and reads the welcome.
func (c *Client) connectTo(ctx context.Context, addr string) (Transport, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.HandshakeTimeout)
	defer cancel()
	t, err := c.opts.Dial(ctx, addr)
	if err != nil {
		return nil, &DialError{Addr: addr, Err: err}
	}
	// Close (through ctx) ends a handshake that the peer does not answer,
	// not only the dial.
	stop := context.AfterFunc(ctx, func() { t.Close() })
	defer stop()
	dl, _ := ctx.Deadline()
	c.mu.Lock()
	hs := wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, ClientID: c.clientID, SessionID: c.session, Token: c.opts.Token, ResumeToken: c.resumeTk}
	c.mu.Unlock()
	t.SetWriteDeadline(dl)
	if err := t.WritePackets([][]byte{hs.AppendTo(nil)}); err != nil {
		t.Close()
		return nil, fmt.Errorf("%w: send handshake to %s: %v", ErrHandshake, addr, err)
	}
	t.SetReadDeadline(dl)
	p, err := t.ReadPacket()
	if err != nil {
		t.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("%w: read welcome from %s: %v", ErrHandshake, addr, err)
	}
	w, err := wire.Decode(p)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrHandshake, addr, err)
	}
	switch w.Type {
	case wire.TypeWelcome:
		// The heartbeat bounds how long read waits for a silent server
		// (read): a welcome without one would let the server hold the
		// client for ever. Over Socket.IO the welcome is the transport's,
		// and the Engine.IO session has its own pings.
		if _, sio := t.(*sioTransport); !sio && (w.PingInterval == 0 || w.PingTimeout == 0) {
			t.Close()
			return nil, fmt.Errorf("%w: %s: the welcome has no heartbeat (ping interval %d ms, ping timeout %d ms)", ErrHandshake, addr, w.PingInterval, w.PingTimeout)
		}
	case wire.TypeError:
		t.Close()
		return nil, fmt.Errorf("%w: %w", ErrHandshake, &ServerError{Code: w.Code, Reason: w.Reason})
	default:
		t.Close()
		return nil, fmt.Errorf("%w: expected a welcome, got %s", ErrHandshake, w.Type)
	}
	if !stop() { // ctx ended as the welcome came: t is closed
		return nil, fmt.Errorf("%w: %s: %w", ErrHandshake, addr, ctx.Err())
	}
	t.SetReadDeadline(time.Time{})
	t.SetWriteDeadline(time.Time{})
	c.mu.Lock()
	c.welcome, c.session, c.clientID = w, w.SessionID, w.ClientID
	if w.ResumeToken != "" {
		c.resumeTk = w.ResumeToken
	}
	c.mu.Unlock()
	return t, nil
}

// SessionID returns the id of the current session.
func (c *Client) SessionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// ClientID returns the client's durable id.
func (c *Client) ClientID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clientID
}

// ResumeToken returns the resume token of the client's durable id: the
// one the server gave in its last welcome, else ClientOptions.ResumeToken.
// Keep it to connect again with the same ClientID later.
func (c *Client) ResumeToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resumeTk
}

// notConnected is ErrClosed after Close, else ErrNotConnected.
func (c *Client) notConnected() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	return ErrNotConnected
}

// Done is closed when the client has ended (Close, or a loss with
// NoReconnect); Err says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the client ended, nil while it runs.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close sends what is still queued, ends the connection and the
// reconnection loop, and waits for the client's goroutines.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.wg.Wait()
		return nil
	}
	c.closed = true
	if c.err == nil {
		c.err = ErrClosed
	}
	t := c.t
	close(c.done)
	c.mu.Unlock()
	c.cancel() // a reconnection's dial or handshake ends now
	// Let the flusher send what was emitted before Close (each of its
	// writes is bounded by WriteTimeout).
	c.wmu.Lock()
	for c.flushing {
		c.wcond.Wait()
	}
	c.wmu.Unlock()
	if t != nil {
		t.Close()
	}
	c.wg.Wait()
	return nil
}

// loop reads from t; after a loss it reconnects with backoff until Close.
func (c *Client) loop(t Transport) {
	defer c.wg.Done()
	defer c.cancel()
	for attempt, first := 0, true; ; first = false {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			t.Close()
			return
		}
		c.t = t
		var rejoin []*ClientSocket
		for _, s := range c.sockets {
			if !first && s.wanted() { // Connect joins the first time
				rejoin = append(rejoin, s)
			}
		}
		c.mu.Unlock()
		if c.opts.OnState != nil {
			c.opts.OnState(true, nil)
		}
		for _, s := range rejoin {
			s.sendConnect()
		}
		err := c.read(t)
		t.Close()
		c.mu.Lock()
		c.t = nil
		socks := make([]*ClientSocket, 0, len(c.sockets))
		for _, s := range c.sockets {
			socks = append(socks, s)
		}
		closed := c.closed
		c.mu.Unlock()
		for _, s := range socks {
			s.lost(err)
		}
		if c.opts.OnState != nil {
			c.opts.OnState(false, err)
		}
		if closed {
			return
		}
		if c.opts.NoReconnect {
			c.end(err)
			return
		}
		c.logf("tcpchat: connection to %s lost: %v; reconnecting", c.Addr(), err)
		for {
			d := c.opts.BackoffMin << min(attempt, 20)
			if d > c.opts.BackoffMax || d <= 0 {
				d = c.opts.BackoffMax
			}
			d = d/2 + rand.N(d/2+1)
			attempt++
			tm := time.NewTimer(d)
			select {
			case <-c.done:
				tm.Stop()
				return
			case <-tm.C:
			}
			nt, err := c.connect(c.ctx)
			if err == nil {
				t, attempt = nt, 0
				c.logf("tcpchat: reconnected to %s", c.Addr())
				break
			}
			if errors.Is(err, ErrClientIDTaken) { // retrying cannot help
				c.end(err)
				return
			}
			c.logf("tcpchat: reconnect (attempt %d): %v", attempt, err)
		}
	}
}

// end ends the client with err, unless Close came first.
func (c *Client) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.err = err
	c.closed = true
	close(c.done)
}

// read handles packets until the connection fails.
func (c *Client) read(t Transport) error {
	c.mu.Lock()
	idle := c.welcome.Interval() + c.welcome.Timeout()
	c.mu.Unlock()
	var v wire.View
	var ev ClientEvent
	var last int64
	every := min(int64(time.Second), int64(idle/4))
	for {
		if idle > 0 {
			if now := time.Now().UnixNano(); now-last > every {
				last = now
				t.SetReadDeadline(time.Unix(0, now).Add(idle))
			}
		}
		p, err := t.ReadPacket()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("tcpchat: server closed the connection: %w", err)
			}
			return fmt.Errorf("tcpchat: read: %w", err)
		}
		if err := wire.Parse(p, &v); err != nil {
			c.writePacket(&wire.Packet{Type: wire.TypeError, Code: wire.CodeBadPacket, Reason: err.Error()})
			return err
		}
		switch v.Type {
		case wire.TypePing:
			c.writePacket(&wire.Packet{Type: wire.TypePong})
		case wire.TypeError:
			return &ServerError{Code: v.Code, Reason: string(v.Reason)}
		case wire.TypeConnect, wire.TypeConnectError, wire.TypeDisconnect, wire.TypeEvent, wire.TypeAck, wire.TypeQueued:
			c.mu.Lock()
			s := c.sockets[string(v.Namespace)]
			c.mu.Unlock()
			if s == nil {
				continue
			}
			switch v.Type {
			case wire.TypeConnect:
				s.connected(string(v.SocketID))
				if c.opts.ClientID != "" { // durable: fetch the queue (durable.go)
					c.writePacket(&wire.Packet{Type: wire.TypeGetAll, Namespace: s.ns})
				}
			case wire.TypeQueued:
				c.handleQueued(s, &v, &ev)
			case wire.TypeConnectError:
				s.refused(string(v.Reason))
			case wire.TypeDisconnect:
				s.kicked(string(v.Reason))
			case wire.TypeEvent:
				s.handle(&v, &ev, "")
			case wire.TypeAck:
				s.gotAck(v.AckID, v.Args)
			}
		default:
			c.logf("tcpchat: ignoring a %s packet from the server", v.Type)
		}
	}
}

// maxPending bounds the bytes queued for writing; emitters wait beyond it.
const maxPending = 1 << 20

// writePacket encodes p and queues it; the flusher writes it shortly. A
// write that fails closes the connection (and the client reconnects).
func (c *Client) writePacket(p *wire.Packet) error {
	c.mu.Lock()
	t, closed := c.t, c.closed
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if t == nil {
		return ErrNotConnected
	}
	c.wmu.Lock()
	if c.wcond == nil {
		c.wcond = sync.NewCond(&c.wmu)
	}
	for len(c.pend) >= maxPending && c.flushing {
		c.wcond.Wait()
	}
	c.pend = p.AppendTo(c.pend)
	c.pendEnds = append(c.pendEnds, len(c.pend))
	if !c.flushing {
		c.flushing = true
		c.wg.Add(1)
		go c.flush()
	}
	c.wmu.Unlock()
	return nil
}

// flush writes pending packets in batches until none are left.
func (c *Client) flush() {
	defer c.wg.Done()
	for {
		c.wmu.Lock()
		if len(c.pendEnds) == 0 {
			c.flushing = false
			c.wcond.Broadcast()
			c.wmu.Unlock()
			return
		}
		c.pend, c.out = c.out[:0], c.pend
		c.pendEnds, c.outEnds = c.outEnds[:0], c.pendEnds
		c.wcond.Broadcast()
		c.wmu.Unlock()

		c.mu.Lock()
		t := c.t
		c.mu.Unlock()
		if t == nil {
			continue // disconnected: plain emits are at-most-once
		}
		c.outList = c.outList[:0]
		start := 0
		for _, end := range c.outEnds {
			c.outList = append(c.outList, c.out[start:end])
			start = end
		}
		t.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
		err := t.WritePackets(c.outList) // over WebSocket it clears the deadline after (wsTransport)
		clear(c.outList)
		if err != nil {
			c.logf("tcpchat: write to %s: %v", c.Addr(), err)
			t.Close()
		}
	}
}

func (c *Client) sendAck(ns string, id uint32, args []byte) error {
	return c.writePacket(&wire.Packet{Type: wire.TypeAck, Namespace: ns, AckID: id, Args: args})
}

// Socket returns the client's socket for namespace ns without connecting
// it (so handlers can be set first); see Connect.
func (c *Client) Socket(ns string) *ClientSocket {
	if ns == "" {
		ns = "/"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sockets[ns]
	if s == nil {
		s = &ClientSocket{c: c, ns: ns}
		c.sockets[ns] = s
	}
	return s
}

// Connect joins namespace ns with an auth payload (marshalled to JSON; nil
// for none) and waits for the server's answer. After a reconnect the client
// joins again by itself with the same auth. A refusal is a *ConnectError.
func (c *Client) Connect(ctx context.Context, ns string, auth any) (*ClientSocket, error) {
	if err := checkName(ns); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if auth != nil {
		b, err := json.Marshal(auth)
		if err != nil {
			return nil, fmt.Errorf("tcpchat: auth payload: %w", err)
		}
		raw = b
	}
	s := c.Socket(ns)
	ch := make(chan error, 1)
	s.mu.Lock()
	s.auth, s.want, s.waiter = raw, true, ch
	s.mu.Unlock()
	if err := s.sendConnect(); err != nil {
		return nil, err
	}
	select {
	case err := <-ch:
		return connectResult(s, err)
	case <-ctx.Done():
		return nil, fmt.Errorf("tcpchat: connect to namespace %q: %w", ns, ctx.Err())
	case <-c.done:
		// The answer may have come just before the end: select picks
		// at random among what is ready.
		select {
		case err := <-ch:
			return connectResult(s, err)
		default:
			return nil, ErrClosed
		}
	}
}

// connectResult is what Connect returns for the server's answer err.
func connectResult(s *ClientSocket, err error) (*ClientSocket, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// ClientSocket is a client's membership of one namespace. Its methods are
// safe for concurrent use.
type ClientSocket struct {
	c  *Client
	ns string

	mu           sync.Mutex
	auth         json.RawMessage              // guarded by mu
	want         bool                         // guarded by mu; rejoin after reconnect
	waiter       chan error                   // guarded by mu; a Connect waiting
	id           string                       // guarded by mu; empty while not connected
	handlers     handlerTable[ClientEvent]    // guarded by mu
	onConnect    []func(*ClientSocket)        // guarded by mu
	onDisconnect []func(*ClientSocket, error) // guarded by mu
	acks         ackTable                     // guarded by mu
}

// Namespace returns the socket's namespace name.
func (s *ClientSocket) Namespace() string { return s.ns }

// ID returns the socket id the server gave, empty while not connected.
func (s *ClientSocket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Client returns the socket's client.
func (s *ClientSocket) Client() *Client { return s.c }

// On sets the handler of event.
func (s *ClientSocket) On(event string, h ClientHandler) {
	s.mu.Lock()
	s.handlers.set(event, h)
	s.mu.Unlock()
}

// OnAny adds a handler run for every event, after the event's own handler.
func (s *ClientSocket) OnAny(h ClientHandler) {
	s.mu.Lock()
	s.handlers.addAny(h)
	s.mu.Unlock()
}

// OnConnect adds a function run after each successful (re)connect to the
// namespace, on the reading goroutine (join rooms again from here).
func (s *ClientSocket) OnConnect(fn func(*ClientSocket)) {
	s.mu.Lock()
	s.onConnect = append(s.onConnect, fn)
	s.mu.Unlock()
}

// OnDisconnect adds a function run when the socket leaves the namespace or
// the connection is lost.
func (s *ClientSocket) OnDisconnect(fn func(*ClientSocket, error)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
}

// Connected reports whether the namespace is joined now.
func (s *ClientSocket) Connected() bool { return s.ID() != "" }

func (s *ClientSocket) wanted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.want
}

func (s *ClientSocket) sendConnect() error {
	s.mu.Lock()
	auth := s.auth
	s.mu.Unlock()
	return s.c.writePacket(&wire.Packet{Type: wire.TypeConnect, Namespace: s.ns, Args: auth})
}

func (s *ClientSocket) connected(id string) {
	s.mu.Lock()
	s.id = id
	w := s.waiter
	s.waiter = nil
	fns := s.onConnect
	s.mu.Unlock()
	if w != nil {
		w <- nil
	}
	for _, fn := range fns {
		fn(s)
	}
}

func (s *ClientSocket) refused(reason string) {
	s.mu.Lock()
	s.want = false
	w := s.waiter
	s.waiter = nil
	s.mu.Unlock()
	err := &ConnectError{Namespace: s.ns, Reason: reason}
	if w != nil {
		w <- err
	}
	s.c.logf("tcpchat: %v", err)
}

// kicked handles a disconnect packet from the server.
func (s *ClientSocket) kicked(reason string) {
	s.mu.Lock()
	s.want = false
	s.mu.Unlock()
	s.lost(fmt.Errorf("tcpchat: server left namespace %q: %s", s.ns, reason))
}

// lost marks the socket disconnected and fails its pending acks.
func (s *ClientSocket) lost(err error) {
	s.mu.Lock()
	was := s.id != ""
	s.id = ""
	failed := s.acks.failAll()
	fns := s.onDisconnect
	s.mu.Unlock()
	for _, fn := range failed {
		fn(nil, ErrNoAck)
	}
	if was {
		for _, fn := range fns {
			fn(s, err)
		}
	}
}

// Disconnect leaves the namespace (and does not rejoin after reconnects).
func (s *ClientSocket) Disconnect() error {
	s.mu.Lock()
	s.want = false
	s.mu.Unlock()
	err := s.c.writePacket(&wire.Packet{Type: wire.TypeDisconnect, Namespace: s.ns, Reason: "client namespace disconnect"})
	s.lost(errors.New("tcpchat: client namespace disconnect"))
	return err
}

// handle runs the handlers of an event; msgID is the message id of a
// durable (queued) event, empty for a plain one.
func (s *ClientSocket) handle(v *wire.View, e *ClientEvent, msgID string) {
	var m matched[ClientEvent]
	s.mu.Lock()
	s.handlers.match(v.Event, &m)
	s.mu.Unlock()
	if m.none() {
		return
	}
	*e = ClientEvent{Namespace: s.ns, Name: m.name(v.Event, nil), Args: v.Args, Socket: s, reply: replyTo(v, s.ns, s.c)}
	if msgID != "" {
		e.MessageID, e.Offset, e.Redelivered = msgID, v.Offset, v.Redelivered
	}
	m.run(e)
}

func (s *ClientSocket) gotAck(id uint32, args []byte) {
	s.mu.Lock()
	fn := s.acks.takeFunc(id)
	s.mu.Unlock()
	if fn != nil {
		fn(args, nil)
	}
}

// Emit sends an event with args (each marshalled to JSON). Plain emits are
// at-most-once: while disconnected it returns ErrNotConnected.
func (s *ClientSocket) Emit(event string, args ...any) error {
	if err := checkName(event); err != nil {
		return err
	}
	buf, err := appendArgs(make([]byte, 0, 64), args)
	if err != nil {
		return err
	}
	return s.EmitRaw(event, buf)
}

// EmitRaw is Emit with arguments that are already a JSON array
// (unchecked): it saves marshalling them and allocates nothing in steady
// state.
func (s *ClientSocket) EmitRaw(event string, args json.RawMessage) error {
	if !s.Connected() {
		return s.c.notConnected()
	}
	return s.c.writePacket(&wire.Packet{Type: wire.TypeEvent, Namespace: s.ns, Event: event, Args: args})
}

// EmitWithAck sends an event and waits until ctx ends for the server's
// answer (a JSON array, the caller's to keep). It is EmitWithAckFunc with
// args marshalled and a done that hands the answer over; a connection or
// namespace lost first ends the wait with ErrNoAck. Do not call it from a
// handler of this client: start a goroutine.
func (s *ClientSocket) EmitWithAck(ctx context.Context, event string, args ...any) (json.RawMessage, error) {
	buf, err := appendArgs(make([]byte, 0, 64), args)
	if err != nil {
		return nil, err
	}
	type answer struct {
		args json.RawMessage
		err  error
	}
	ch := make(chan answer, 1) // done runs once and must not block
	id, err := s.emitWithAck(event, buf, func(args json.RawMessage, err error) {
		ch <- answer{append(json.RawMessage(nil), args...), err}
	})
	if err != nil {
		return nil, err
	}
	select {
	case a := <-ch:
		return a.args, a.err
	case <-ctx.Done():
		s.mu.Lock()
		s.acks.takeFunc(id) // an answer after this finds nobody waiting
		s.mu.Unlock()
		return nil, fmt.Errorf("tcpchat: no ack for %q: %w", event, ctx.Err())
	}
}

// EmitWithAckFunc sends an event whose arguments are already a JSON array
// (unchecked, as EmitRaw) and returns without waiting for the answer: done
// runs once, later, with the server's answer, or with ErrNoAck when the
// connection or the namespace is lost first. It runs on the client's
// reading goroutine, in the order the answers arrive, and must not block;
// the answer is valid only while it runs. When EmitWithAckFunc returns an
// error, done does not run. It is the client's one way to emit with an
// ack: EmitWithAck is written on it.
//
// This is how to keep many emits in flight on one connection: a durable
// emit through the server's built-in "durable" event is acknowledged once
// stored, and emits in flight share the server's store writes. Bound how
// many are in flight (a window): the server stops reading a connection
// that sends faster than it stores.
func (s *ClientSocket) EmitWithAckFunc(event string, args json.RawMessage, done func(json.RawMessage, error)) error {
	_, err := s.emitWithAck(event, args, done)
	return err
}

// emitWithAck is EmitWithAckFunc returning the emit's ack id, which a
// caller that gives up takes back from the table.
func (s *ClientSocket) emitWithAck(event string, args json.RawMessage, done func(json.RawMessage, error)) (uint32, error) {
	if err := checkName(event); err != nil {
		return 0, err
	}
	s.mu.Lock()
	if s.id == "" {
		s.mu.Unlock()
		return 0, s.c.notConnected()
	}
	id := s.acks.registerFunc(done)
	s.mu.Unlock()
	if err := s.c.writePacket(&wire.Packet{Type: wire.TypeEvent, Namespace: s.ns, Event: event, HasAck: true, AckID: id, Args: args}); err != nil {
		s.mu.Lock()
		mine := s.acks.takeFunc(id) != nil
		s.mu.Unlock()
		if mine {
			return 0, err
		}
		// the connection was lost meanwhile, and done ran with ErrNoAck
	}
	return id, nil
}
