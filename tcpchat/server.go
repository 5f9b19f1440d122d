package tcpchat

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/netpoll"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Server is the event chat server: it accepts framed-TCP connections (and
// HTTP on the same port), runs namespaces, rooms and broadcasts. Create one
// with NewServer; its methods are safe for concurrent use. Like
// net/http.Server, Serve returns ErrServerClosed after Shutdown or Close.
type Server struct {
	opts    Options
	metrics *metrics
	dur     *durableServer
	lim     *limiter // limits.go

	mu        sync.Mutex
	closed    bool                      // guarded by mu
	listeners map[net.Listener]struct{} // guarded by mu
	conns     map[*conn]bool            // guarded by mu; true once the handshake is done
	nss       map[string]*Namespace     // guarded by mu
	dynamicNS int                       // guarded by mu; namespaces in nss that clients created
	started   bool                      // guarded by mu; heartbeat and HTTP running
	stop      chan struct{}             // closed by Close/Shutdown

	mux    *http.ServeMux
	httpLn *chanListener
	httpS  *http.Server

	// poller watches the sockets of idle connections (park.go); set by
	// startLocked, nil where there is none. Closed after the connections.
	poller *netpoll.Poller
	wsRaw  *ws.Upgrader // upgrades GET /ws on the raw connection (websocket.go)

	// httpIdle bounds how long an HTTP keep-alive socket may stay idle:
	// the constant httpIdle; a field so that tests lower it (SetHTTPIdle
	// in export_test.go) before Serve, which reads it.
	httpIdle time.Duration

	wg sync.WaitGroup // every goroutine the server starts

	lastRefusal atomic.Int64 // monoNow of the last refusal logged
}

// NewServer returns a server with opts (zero fields take their defaults).
func NewServer(opts Options) *Server {
	opts.setDefaults()
	s := &Server{
		opts:      opts,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]bool),
		nss:       make(map[string]*Namespace),
		stop:      make(chan struct{}),
		mux:       http.NewServeMux(),
		dur:       newDurableServer(),
		httpIdle:  httpIdle,
	}
	s.lim = newLimiter(s)
	s.metrics = newMetrics(s)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	s.mux.Handle("GET /metrics", s.metrics.handler(s.opts.MetricsToken, s.knownHost))
	s.initWeb() // GET /ws, GET / and TLS (websocket.go, web.go, tls.go)
	return s
}

// HandleHTTP adds an HTTP handler on the chat's port (HTTP requests are
// told from framed clients by their first bytes). /healthz and /metrics
// are built in.
func (s *Server) HandleHTTP(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

func (s *Server) roomEvent(e RoomEvent) {
	if s.opts.OnRoomEvent != nil {
		s.opts.OnRoomEvent(e)
	}
}

// Of returns the namespace called name, creating it. Names start with "/".
// A namespace made (or taken over) by Of is never freed.
func (s *Server) Of(name string) *Namespace {
	if name == "" {
		name = "/"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.ofLocked(name)
	if ns.dynamic { // the program declares it now: it stays
		ns.dynamic = false
		s.dynamicNS--
	}
	return ns
}

func (s *Server) ofLocked(name string) *Namespace {
	if ns, ok := s.nss[name]; ok {
		return ns
	}
	ns := &Namespace{name: name, srv: s}
	ns.adapter = s.opts.Adapter(adapterHost{srv: s, ns: name})
	s.nss[name] = ns
	return ns
}

// errTooManyNamespaces refuses a connect that would create a namespace
// over Options.MaxNamespaces.
var errTooManyNamespaces = errors.New("too many namespaces on this server; retry later")

// namespace returns the namespace a client asks for, pinned (unpin
// releases it): an existing one, or a new one when Options.NewNamespace,
// NamespacePattern and MaxNamespaces allow it; nil and why otherwise. A
// new one is set up by NewNamespace before it is returned to anyone.
func (s *Server) namespace(name string) (*Namespace, error) {
	o := &s.opts
	s.mu.Lock()
	if ns, ok := s.nss[name]; ok {
		ns.pins++
		s.mu.Unlock()
		if ns.ready != nil {
			<-ns.ready // its creator's connect is setting it up
		}
		return ns, nil
	}
	if o.NewNamespace == nil || checkName(name) != nil || name[0] != '/' {
		s.mu.Unlock()
		return nil, errUnknownNamespace
	}
	if o.NamespacePattern != "" {
		if ok, _ := path.Match(o.NamespacePattern, name); !ok {
			s.mu.Unlock()
			return nil, errUnknownNamespace
		}
	}
	if o.MaxNamespaces > 0 && s.dynamicNS >= o.MaxNamespaces {
		s.mu.Unlock()
		s.metrics.nsRefused.Add(1)
		return nil, errTooManyNamespaces
	}
	ns := s.ofLocked(name)
	ns.dynamic, ns.pins, ns.ready = true, 1, make(chan struct{})
	s.dynamicNS++
	s.mu.Unlock()
	defer close(ns.ready)
	o.NewNamespace(ns)
	return ns, nil
}

// errUnknownNamespace refuses a connect to a namespace that does not
// exist and may not be created.
var errUnknownNamespace = errors.New("unknown namespace")

// unpin ends a connect to ns (joined or refused) and frees ns if it is
// empty.
func (s *Server) unpin(ns *Namespace) {
	s.mu.Lock()
	ns.pins--
	s.freeIfEmptyLocked(ns)
}

// freeIfEmpty frees a namespace a client created once no socket is in it
// and no connect is under way. Only with the memory adapter: a multi-node
// adapter's subscription is kept (a namespace created again while its bus
// is down would stay local).
func (s *Server) freeIfEmpty(ns *Namespace) {
	s.mu.Lock() // ns.dynamic too is guarded by s.mu (Of may change it)
	s.freeIfEmptyLocked(ns)
}

// freeIfEmptyLocked is freeIfEmpty with s.mu held; it unlocks it.
func (s *Server) freeIfEmptyLocked(ns *Namespace) {
	if _, local := ns.adapter.(*MemoryAdapter); !local || !ns.dynamic || ns.pins > 0 || ns.sockets.Load() > 0 || s.nss[ns.name] != ns || s.closed {
		s.mu.Unlock()
		return
	}
	delete(s.nss, ns.name)
	s.dynamicNS--
	s.mu.Unlock()
	if err := ns.adapter.Close(); err != nil {
		s.logf("tcpchat: namespace %s freed: closing its adapter: %v", ns.name, err)
	}
}

// Namespaces returns the number of namespaces.
func (s *Server) Namespaces() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.nss)
}

// Recovers reports whether the server recovers sessions (connection state
// recovery): it has a RecoveryStore, or a Store, and not NoRecovery.
func (s *Server) Recovers() bool { return s.opts.RecoveryStore != nil }

// Connections returns the number of open connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// start runs the heartbeat and the in-process HTTP server once; it reports
// false after Close.
func (s *Server) startLocked() bool {
	if s.closed {
		return false
	}
	if s.started {
		return true
	}
	s.started = true
	if p, err := netpoll.New(); err == nil {
		s.poller = p
	} else if !errors.Is(err, netpoll.ErrUnsupported) {
		s.logf("tcpchat: %v: idle connections keep a goroutine each", err)
	}
	s.httpLn = newChanListener()
	s.httpS = &http.Server{Handler: http.HandlerFunc(s.serveHTTP), ReadHeaderTimeout: s.opts.HandshakeTimeout,
		IdleTimeout: s.httpIdle, ConnContext: s.connContext, ConnState: s.httpConnState}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.httpS.Serve(s.httpLn)
	}()
	go func() {
		defer s.wg.Done()
		s.heartbeat()
	}()
	if s.opts.Store != nil || s.opts.RecoveryStore != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.expireLoop() // durable.go
		}()
	}
	return true
}

// ListenAndServe listens on the TCP address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("tcpchat: listen on %s: %w", addr, err)
	}
	return s.Serve(l)
}

// Serve accepts connections on l until Shutdown or Close (then it returns
// ErrServerClosed) or an accept error. It closes l when it returns.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if !s.startLocked() {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTooManyFiles) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logf("tcpchat: accept: %v; retrying in %v", err, delay)
				select {
				case <-time.After(delay):
				case <-s.stop:
				}
				continue
			}
			return fmt.Errorf("tcpchat: accept: %w", err)
		}
		delay = 0
		adm, tc, reason := s.lim.admit(nc) // limits.go
		if adm == refused {
			s.logRefusal(nc.RemoteAddr().String(), reason)
			refuse(nc, reason)
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			tc.Close()
			return ErrServerClosed
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(tc, adm == admitHTTP)
	}
}

// httpIdle bounds how long an HTTP keep-alive connection may stay idle.
const httpIdle = 30 * time.Second

// serveHTTP serves the HTTP requests of the port; a socket accepted over
// the connection cap gets /healthz and /metrics only, one request.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	sc, _ := r.Context().Value(connKey{}).(httpSock)
	pc := sc.pc
	if pc != nil {
		// Where a WebSocket upgrade's handshake packet must come by
		// (initWebSocket's handler): the first request's by sniff's
		// deadline, a later one's by its header's (prefixConn.setBy).
		switch pc.hdr.Swap(hdrNone) {
		case hdrFirst:
			pc.setBy(sc.first)
		case hdrAwaited:
		default:
			pc.setBy(time.Time{})
		}
	}
	if pc != nil && pc.reserve {
		w.Header().Set("Connection", "close")
		if r.URL.Path != "/healthz" && r.URL.Path != "/metrics" {
			http.Error(w, "the server is at its connection limit; retry later", http.StatusServiceUnavailable)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// logRefusal logs a refused connection, at most once a second.
func (s *Server) logRefusal(remote, reason string) {
	now := monoNow()
	if last := s.lastRefusal.Load(); now-last > int64(time.Second) && s.lastRefusal.CompareAndSwap(last, now) {
		s.logf("tcpchat: %s: connection refused: %s (logged once a second; counted in /metrics)", remote, reason)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// serveConn reads the first bytes of a connection and dispatches it;
// reserve marks a socket accepted over the connection cap.
func (s *Server) serveConn(nc net.Conn, reserve bool) {
	defer s.wg.Done()
	s.sniff(nc, reserve, time.Time{})
}

// sniff dispatches a connection by its first bytes. For the decrypted
// bytes of a TLS connection (no TLS inside TLS) tlsBy is the deadline of
// the handshakes that sniffing the outer connection set, which bounds
// this one too; it is zero for a connection just accepted: the handshake
// timeout from now. A reserve socket (over the connection cap) may only
// be HTTP, quickly.
func (s *Server) sniff(nc net.Conn, reserve bool, tlsBy time.Time) {
	inTLS := !tlsBy.IsZero()
	deadline := tlsBy
	if !inTLS {
		wait := s.opts.HandshakeTimeout
		if reserve {
			wait = min(wait, reserveWait)
		}
		deadline = time.Now().Add(wait)
	}
	nc.SetReadDeadline(deadline)
	var head [5]byte
	if _, err := io.ReadFull(nc, head[:]); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			s.metrics.hsTimeouts.Add(1)
		}
		s.logf("tcpchat: %s: no protocol preamble: %v", nc.RemoteAddr(), err)
		nc.Close()
		return
	}
	plainRefused := !inTLS && s.opts.TLSConfig != nil && !s.opts.Plaintext
	switch {
	case plainRefused && head[0] != 0x16:
		s.refusePlaintext(nc, head[:]) // tls.go
	case reserve && bytes.Equal(head[:], wire.Preamble):
		refuse(nc, "the server is at its connection limit") // limits.go
	case bytes.Equal(head[:], wire.Preamble):
		// A fresh goroutine with a small stack serves the connection: the
		// frames of the sniffing (and of TLS) are not kept under every
		// idle connection's read.
		t := newFramedTransport(nc, s.opts.MaxFrame)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveAndDone(t, true, deadline)
	case bytes.Equal(head[:4], wire.Preamble[:4]):
		fmt.Fprintf(nc, "wiredojo: protocol version %d is not supported; this server speaks version %d\n", head[4], wire.Version)
		nc.Close()
	case head[0] == 0x16 && !inTLS && s.opts.TLSConfig != nil:
		s.serveTLS(nc, head[:], reserve, deadline) // then sniffs the decrypted bytes (tls.go)
	case head[0] == 0x16:
		s.logf("tcpchat: %s: TLS ClientHello refused: TLS is not configured on this server", nc.RemoteAddr())
		nc.Close()
	case !reserve && string(head[:]) == "GET /" && peekWebSocketPath(nc):
		s.upgradeRaw(newPrefixConn(nc, head[:], false), deadline) // websocket.go
	case isHTTPMethod(head[:]):
		// The socket keeps the deadline set above for its first request's
		// header (hdrFirst: prefixConn.SetReadDeadline).
		pc := newPrefixConn(nc, head[:], reserve)
		pc.hdr.Store(hdrFirst)
		if !s.httpLn.push(pc, deadline) {
			nc.Close()
		}
	default:
		fmt.Fprintf(nc, "wiredojo: unrecognised protocol: framed clients start with the preamble %q, HTTP clients with a request line\n", wire.Preamble)
		nc.Close()
	}
}

func isHTTPMethod(b []byte) bool {
	for _, m := range []string{"GET ", "HEAD", "POST", "PUT ", "DELET", "OPTIO", "PATCH", "CONNE", "TRACE"} {
		if bytes.HasPrefix(b, []byte(m)) {
			return true
		}
	}
	return false
}

// ServeTransport runs the event protocol on an established transport (for
// example an upgraded WebSocket connection, one packet per message): the
// handshake packet comes first, no preamble. It blocks until the
// connection ends and closes t.
func (s *Server) ServeTransport(t Transport) { s.serveTransport(t, false, time.Time{}) }

// ServePollable is ServeTransport for a transport whose idle reads can
// wait in the server's poller: it returns once the connection parks (or
// ends), and the server serves it on without a goroutine while nothing
// is to be read. Where the server has no poller it blocks as
// ServeTransport does.
func (s *Server) ServePollable(t Pollable) { s.serveTransport(t, true, time.Time{}) }

// serveTransport is ServeTransport; with poll it returns when the
// connection parks, and the server's poller serves it on (park.go). by is
// when the handshake packet must have come (zero: the handshake timeout
// from now; conn.serve).
func (s *Server) serveTransport(t Transport, poll bool, by time.Time) {
	s.mu.Lock()
	if !s.startLocked() {
		s.mu.Unlock()
		t.Close()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	s.serveAndDone(t, poll, by)
}

func (s *Server) serveAndDone(t Transport, poll bool, by time.Time) {
	defer s.wg.Done()
	s.serve(t, poll, by)
}

func (s *Server) serve(t Transport, poll bool, by time.Time) {
	c := &conn{srv: s, t: t}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		t.Close()
		return
	}
	s.conns[c] = false
	s.mu.Unlock()
	c.serve(poll, by)
}

func (s *Server) ready(c *conn) {
	s.mu.Lock()
	if _, ok := s.conns[c]; ok {
		s.conns[c] = true
	}
	s.mu.Unlock()
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// heartbeat pings every ready connection each interval, with one encoded
// packet shared by all, and with a poller wakes the parked connections past
// their heartbeat deadline every parkSweep (park.go).
func (s *Server) heartbeat() {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	var sweep <-chan time.Time
	if s.poller != nil {
		st := time.NewTicker(parkSweep(&s.opts))
		defer st.Stop()
		sweep = st.C
	}
	var batch []*conn
	for {
		select {
		case <-s.stop:
			return
		case <-sweep:
			batch = s.wakeOverdue(batch)
			continue
		case <-t.C:
		}
		batch = batch[:0]
		s.mu.Lock()
		for c, ready := range s.conns {
			if ready {
				batch = append(batch, c)
			}
		}
		s.mu.Unlock()
		s.lim.sweep() // limits.go
		m := newMessage()
		m.buf = (&wire.Packet{Type: wire.TypePing}).AppendTo(m.buf)
		for _, c := range batch {
			c.offer(m, sendForce) // a ping never waits for a busy queue
			// Let the writer the ping started (a parked connection has
			// none) send it and end before the next starts: a round
			// over 19,000 idle connections otherwise had 2,000-2,700
			// writer goroutines at once, whose records (480 bytes each)
			// the runtime keeps for good, 55-80 bytes per connection.
			runtime.Gosched()
		}
		m.Release()
		clear(batch)
	}
}

// stopAccepting marks the server closed and closes its listeners (the HTTP
// one too), and returns the connections open at that moment and the HTTP
// server (nil without one), which Shutdown and Close each end their way.
func (s *Server) stopAccepting() ([]*conn, *http.Server) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.stop)
	}
	for l := range s.listeners {
		l.Close()
	}
	if s.httpS != nil {
		s.httpLn.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return conns, s.httpS
}

// Shutdown stops accepting, tells every client the server is shutting down
// (an error packet after the packets already queued), waits for the
// connections to end, then returns. If ctx ends first it closes what is
// left and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	conns, httpS := s.stopAccepting()
	if httpS != nil {
		httpS.Shutdown(ctx)
	}
	for _, c := range conns {
		c.shutdown(wire.CodeShutdown, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.closePoller()
		return s.closeAdapters()
	case <-ctx.Done():
		s.Close()
		<-done
		return ctx.Err()
	}
}

// Close closes the listeners and every connection at once and waits for
// the server's goroutines to end.
func (s *Server) Close() error {
	conns, httpS := s.stopAccepting()
	if httpS != nil {
		httpS.Close()
	}
	for _, c := range conns {
		c.cut(ErrServerClosed)
	}
	s.wg.Wait()
	s.closePoller()
	return s.closeAdapters()
}

// closePoller ends the poller once no connection is left to use it.
func (s *Server) closePoller() {
	s.mu.Lock()
	p := s.poller
	s.mu.Unlock()
	if p != nil {
		p.Close()
	}
}

func (s *Server) closeAdapters() error {
	s.dur.cancel() // durable.go: store calls still running give up
	// Close outside s.mu: an adapter's Close waits for its handlers, and
	// they may report room events, whose observer may call the server.
	s.mu.Lock()
	adapters := make([]Adapter, 0, len(s.nss))
	for _, ns := range s.nss {
		adapters = append(adapters, ns.adapter)
	}
	s.mu.Unlock()
	var errs []error
	for _, a := range adapters {
		if err := a.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// newID returns a random 12-character URL-safe id.
func newID() string {
	var b [9]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// chanListener is the in-process listener feeding HTTP connections to the
// net/http server, each with the deadline of its handshakes (sniff's).
type chanListener struct {
	ch   chan pushedConn
	done chan struct{}
	once sync.Once

	// last is the connection Accept returned last, and its deadline:
	// http.Server.Serve calls ConnContext (connContext, which takes it
	// with taken) on the same goroutine right after Accept, before the
	// next Accept. Only that goroutine uses it.
	last pushedConn
}

// pushedConn is a connection handed to the HTTP server and the deadline
// its first request's handshakes must meet.
type pushedConn struct {
	c  net.Conn
	by time.Time
}

func newChanListener() *chanListener {
	return &chanListener{ch: make(chan pushedConn), done: make(chan struct{})}
}

// push hands c to the HTTP server; by is when its first request's
// handshakes (its header, a WebSocket handshake packet after it) must be
// done. It reports false once the listener is closed.
func (l *chanListener) push(c net.Conn, by time.Time) bool {
	select {
	case l.ch <- pushedConn{c, by}:
		return true
	case <-l.done:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case p := <-l.ch:
		l.last = p
		return p.c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// taken returns the deadline pushed with c if c is the connection Accept
// returned last (zero otherwise), and forgets it: called by connContext on
// Accept's goroutine.
func (l *chanListener) taken(c net.Conn) time.Time {
	p := l.last
	l.last = pushedConn{}
	if p.c != c {
		return time.Time{}
	}
	return p.by
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// prefixConn replays bytes already read (sniff's head, up to 8 bytes)
// before reading from the connection. It is 32 bytes: an idle WebSocket
// connection holds it under its ws.Conn.
type prefixConn struct {
	net.Conn
	head    [8]byte // once read, an HTTP socket's handshake deadline (setBy)
	off     uint8   // head[off:end] is still to be read
	end     uint8
	reserve bool // accepted over the connection cap (limits.go)
	// hdr says, for an HTTP socket, whether a request's header is
	// awaited (hdrFirst: the first, from sniff on, by sniff's deadline;
	// hdrAwaited: a later one, from its first byte after the socket went
	// idle, hdrIdle, between requests, or from net/http's header deadline
	// when its first bytes came with the request before: SetReadDeadline)
	// or came (hdrNone in serveHTTP), or a read met its deadline while it
	// was awaited (hdrTimedOut: the handshake timeout from the accept, or
	// net/http's ReadHeaderTimeout, counted when the socket closes; an
	// idle socket's deadline, httpIdle, is not). Atomic: the HTTP server
	// reads in the background while a handler runs.
	hdr atomic.Uint32
}

// The states of prefixConn.hdr.
const (
	hdrNone      = iota // not an HTTP socket's, or its request's header came
	hdrAwaited          // a request's header is awaited
	hdrTimedOut         // a read met the deadline while it was awaited
	hdrIdle             // between a keep-alive socket's requests (httpConnState)
	hdrIdleTimed        // hdrIdle, and net/http set the idle deadline (SetReadDeadline)
	hdrFirst            // the first request's header is awaited, by sniff's deadline
)

// setBy records, in head once its bytes have all been read (an HTTP
// socket's, whose first request line is longer), when the handshake
// packet of a WebSocket upgraded by the request being served must come
// (zero: unknown, the handshake timeout from the upgrade). The 8 bytes
// would be dead otherwise; a field would take prefixConn past its 32
// bytes. Only net/http's goroutine of the connection writes and reads it
// (httpConnState, SetReadDeadline, serveHTTP and the handler); Read, which
// its background reader calls, no longer touches head.
func (c *prefixConn) setBy(t time.Time) {
	if c.off != c.end {
		return
	}
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	binary.LittleEndian.PutUint64(c.head[:], uint64(ns))
}

// by is what setBy recorded last: zero if nothing was. Valid once serveHTTP
// ran for the request (which records it for every request).
func (c *prefixConn) by() time.Time {
	if c.off != c.end {
		return time.Time{}
	}
	if ns := int64(binary.LittleEndian.Uint64(c.head[:])); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// newPrefixConn returns nc with the bytes head (at most 8) read first.
func newPrefixConn(nc net.Conn, head []byte, reserve bool) *prefixConn {
	c := &prefixConn{Conn: nc, reserve: reserve}
	c.end = uint8(copy(c.head[:], head))
	return c
}

// buffered reports the prefix bytes not read yet.
func (c *prefixConn) buffered() int { return int(c.end - c.off) }

func (c *prefixConn) Read(p []byte) (int, error) {
	if c.off < c.end {
		n := copy(p, c.head[c.off:c.end])
		c.off += uint8(n)
		return n, nil
	}
	n, err := c.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		if !c.hdr.CompareAndSwap(hdrAwaited, hdrTimedOut) {
			c.hdr.CompareAndSwap(hdrFirst, hdrTimedOut)
		}
	} else if h := c.hdr.Load(); n > 0 && (h == hdrIdle || h == hdrIdleTimed) {
		c.hdr.Store(hdrAwaited) // the next request started
	}
	return n, err
}

// SetReadDeadline also marks a keep-alive socket's next request's header
// as awaited when no read can: when its first bytes came with the request
// before it (pipelined), net/http has them already and reads no more
// before it bounds the rest by ReadHeaderTimeout. Between requests it sets
// two deadlines: the idle one (IdleTimeout, httpIdle) and then, once it
// has the next request's first 4 bytes (bufio.Reader.Peek, reading only
// if it must), the header's. So the second deadline after the socket
// went idle, with no read in between, is the header's.
//
// While the first request's header is awaited (hdrFirst) it ignores
// net/http's header deadline (ReadHeaderTimeout from when it starts to
// read): the socket keeps sniff's, the handshake timeout from the accept,
// as every other handshake does; else a client that sent its first bytes
// just in time had a second timeout for the rest. The zero deadline
// net/http sets once the header is in is kept.
func (c *prefixConn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() {
		switch c.hdr.Load() {
		case hdrFirst:
			return nil
		case hdrIdle:
			c.hdr.Store(hdrIdleTimed)
		case hdrIdleTimed:
			c.hdr.Store(hdrAwaited)
			c.setBy(t) // the header's deadline: a handshake after it too
		case hdrAwaited:
			// The header's deadline, once a read had marked it awaited
			// (its first bytes came after the socket went idle).
			c.setBy(t)
		}
	}
	return c.Conn.SetReadDeadline(t)
}
