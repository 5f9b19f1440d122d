package tcpchat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Limits on what connections may cost the server (docs/SECURITY.md): a cap
// on the sockets open at once (Options.MaxConnections, and the process's
// descriptor limit less Options.FDHeadroom), and per remote address (an
// IPv4 address, an IPv6 /64) the sockets open, the connection attempts per
// second and the packets per second over all its connections. Over a limit
// the server refuses new work (a new connection, or reading more from
// that address) instead of cutting clients already served.

// reserveWait bounds how long a socket accepted over the cap may take to
// ask for /healthz or /metrics.
const reserveWait = 2 * time.Second

// maxReservePerAddr bounds the sockets over the cap of one address.
const maxReservePerAddr = 2

// addrIdle is how long the state of an address without sockets is kept
// (its attempt bucket must outlive a connect-close loop).
const addrIdle = 10 * time.Second

// maxIdleAddrs bounds the addresses without sockets whose state is kept
// (those with sockets are bounded by the connection cap): an attacker
// with many source addresses (an IPv6 /48 holds 65,536 /64s) otherwise
// made the server keep one per attempt over the last addrIdle. Over the
// bound, entries without sockets are forgotten whatever their age, down
// to a batch (1/idleEvictBatch of the bound) under it: first all those
// whose buckets are full again (forgetting them changes nothing), then,
// if they were fewer, others in the map's order, whose addresses'
// buckets start full again (forgetLocked).
// One entry costs about 144 bytes (the *addrState's 64-byte object, its
// map slot and the slots free at the map's load; TestAddrStateBytes
// measures it), so the bound holds about 9 MiB.
const maxIdleAddrs = 1 << 16

// An eviction pass frees 1/idleEvictBatch of maxIdleAddrs:
// one pass over the map per that many new addresses.
const idleEvictBatch = 8

// addrState is what the server knows of one remote address.
type addrState struct {
	conns    int    // guarded by limiter.mu
	reserve  int    // guarded by limiter.mu; its sockets over the cap (health and metrics)
	attempts bucket // guarded by limiter.mu
	last     int64  // guarded by limiter.mu; monoNow of the last close

	mu     sync.Mutex // the readers of its connections share the bucket
	events bucket     // guarded by mu
}

// limiter counts the server's sockets.
type limiter struct {
	srv *Server
	max int // open sockets allowed; 0: no cap

	mu      sync.Mutex
	open    int                       // guarded by mu; accepted sockets not closed
	reserve int                       // guarded by mu; sockets over the cap, for health and metrics
	addrs   map[netip.Addr]*addrState // guarded by mu
	busy    int                       // guarded by mu; entries of addrs with sockets (conns or reserve)
	full    bool                      // guarded by mu; the cap was reached and logged
	maxIdle int                       // guarded by mu; entries of addrs without sockets kept at most (maxIdleAddrs; tests lower it)

	// forgetting is set (and logged) when the idle bound is first met,
	// and cleared by the sweep after a round without evictions;
	// forgottenSeen is addrsForgotten at the last sweep.
	forgetting    bool  // guarded by mu
	forgottenSeen int64 // guarded by mu

	refusedCap, refusedAddrConns, refusedAddrRate, addrWaits, addrsForgotten atomic.Int64
}

func newLimiter(s *Server) *limiter {
	l := &limiter{srv: s, addrs: make(map[netip.Addr]*addrState), maxIdle: maxIdleAddrs}
	o := &s.opts
	l.max = max(o.MaxConnections, 0)
	if o.FDHeadroom >= 0 {
		if fds := fdLimit(); fds > 0 {
			byFD := max(fds-o.FDHeadroom, 1)
			if l.max == 0 || byFD < l.max {
				l.max = byFD
			}
		}
	}
	return l
}

// addrKey is the key of a remote address: IPv6 addresses count per /64.
func addrKey(a net.Addr) (netip.Addr, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}, false
		}
		return maskAddr(ap.Addr()), true
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	return maskAddr(ip), ok
}

func maskAddr(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// admission is what admit decided for a new socket.
type admission uint8

const (
	admitted  admission = iota
	admitHTTP           // over the cap: health and metrics only, within reserveWait
	refused
)

// admit counts a new socket; when it is admitted (or let in for health)
// the returned conn reports its close. reason says why it was refused.
func (l *limiter) admit(nc net.Conn) (admission, net.Conn, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	adm, st, reason := l.admitLocked(nc.RemoteAddr(), true)
	switch adm {
	case admitHTTP:
		return admitHTTP, &trackedConn{Conn: nc, l: l, st: st, reserve: true}, ""
	case admitted:
		return admitted, &trackedConn{Conn: nc, l: l, st: st}, ""
	}
	return refused, nil, reason
}

// admitLocked counts a new connection from remote (a socket, or with
// reserve false a session without a socket of its own, which is refused
// rather than let in for health over the cap) and returns its address's
// state (nil when remote names none). l.mu is held.
func (l *limiter) admitLocked(remote net.Addr, reserve bool) (admission, *addrState, string) {
	o := &l.srv.opts
	var key netip.Addr
	keyed := false
	if remote != nil {
		key, keyed = addrKey(remote)
	}
	now := monoNow()
	var st *addrState
	if keyed {
		st = l.addrs[key]
		if st == nil {
			st = l.newStateLocked(key)
		}
		if o.ConnRatePerAddr > 0 && !st.attempts.allow(now, o.ConnRatePerAddr, max(o.ConnBurstPerAddr, 1)) {
			l.refusedAddrRate.Add(1)
			return refused, nil, fmt.Sprintf("more than %.0f connection attempts per second from %s", o.ConnRatePerAddr, key)
		}
		if o.MaxConnsPerAddr > 0 && st.conns >= o.MaxConnsPerAddr {
			l.refusedAddrConns.Add(1)
			return refused, nil, fmt.Sprintf("%s has %d connections open, the most one address may have", key, st.conns)
		}
	}
	if l.max > 0 && l.open >= l.max {
		if !l.full {
			l.full = true
			l.srv.logf("tcpchat: %d sockets open, the most allowed (Options.MaxConnections, or the descriptor limit less %d kept free): refusing new connections; /healthz and /metrics still answer", l.open, o.FDHeadroom)
		}
		// The sockets kept for health and metrics: a few in all, and at
		// most maxReservePerAddr of one address, so that one flooding
		// address does not hold them all.
		if !reserve || l.reserve >= max(o.FDHeadroom/2, 1) || st != nil && st.reserve >= maxReservePerAddr {
			l.refusedCap.Add(1)
			return refused, nil, "the server is at its connection limit"
		}
		l.reserve++
		if st != nil {
			l.busyLocked(st)
			st.reserve++
		}
		return admitHTTP, st, ""
	}
	l.open++
	if st != nil {
		l.busyLocked(st)
		st.conns++
	}
	return admitted, st, ""
}

// newStateLocked adds the state of an address not known: over the bound
// on addresses without sockets it first forgets some of those
// (forgetLocked).
// l.mu is held.
func (l *limiter) newStateLocked(key netip.Addr) *addrState {
	if len(l.addrs)-l.busy >= l.maxIdle {
		l.forgetLocked()
	}
	st := &addrState{}
	l.addrs[key] = st
	return st
}

// forgetLocked forgets addresses without sockets, whatever their age,
// until a batch under the bound is kept: one pass over the map serves
// many new addresses. An address with sockets is never forgotten. It
// forgets first every address whose buckets are full again (blank:
// forgetting it changes no decision), and only if those are fewer than
// the batch others, in the map's order: an attacker churning many
// addresses cannot have its depleted buckets forgotten while entries
// that carry nothing are kept. One pass: it remembers up to a batch of
// the others on the way (a transient slice, one per batch of new
// addresses). The first pass of a burst is logged. l.mu is held.
func (l *limiter) forgetLocked() {
	n := len(l.addrs) - l.busy - (l.maxIdle - max(l.maxIdle/idleEvictBatch, 1))
	now := monoNow()
	forgot := 0
	var others []netip.Addr // up to n entries without sockets that are not blank
	for k, st := range l.addrs {
		switch {
		case st.conns != 0 || st.reserve != 0:
		case l.blank(st, now):
			delete(l.addrs, k)
			forgot++
		case len(others) < n:
			others = append(others, k)
		}
	}
	for _, k := range others[:min(max(n-forgot, 0), len(others))] {
		delete(l.addrs, k)
		forgot++
	}
	l.addrsForgotten.Add(int64(forgot))
	if !l.forgetting {
		l.forgetting = true
		l.srv.logf("tcpchat: limit state kept for %d addresses without sockets, the most allowed (many source addresses connecting?): forgetting some before their %v are up; a forgotten address's connection attempts are counted afresh, so the per-address attempt rate limit is weaker for it (counted in wiredojo_chat_addrs_forgotten_total; logged once per burst)", len(l.addrs)+forgot-l.busy, addrIdle)
	}
}

// blank reports whether st, an address without sockets, carries nothing
// a decision needs: its attempt bucket and its packet bucket are full
// again at now (or were never used, or have no rate), as a new entry's
// would be. l.mu is held; st.mu guards the packet bucket (uncontended:
// no connection of the address is left to read).
func (l *limiter) blank(st *addrState, now int64) bool {
	o := &l.srv.opts
	if !bucketFull(&st.attempts, now, o.ConnRatePerAddr, max(o.ConnBurstPerAddr, 1)) {
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return bucketFull(&st.events, now, o.EventRatePerAddr, max(o.EventBurstPerAddr, 1))
}

// bucketFull reports whether b, refilled at rate per second up to burst
// (bucket.allow), would hold burst tokens at now: never used, without a
// rate, or refilled since.
func bucketFull(b *bucket, now int64, rate float64, burst int) bool {
	if b.last == 0 || rate <= 0 {
		return true
	}
	return b.tokens+float64(now-b.last)*rate/1e9 >= float64(burst)
}

// busyLocked counts st among the addresses with sockets if it had none,
// before a socket is counted in it. l.mu is held.
func (l *limiter) busyLocked(st *addrState) {
	if st.conns == 0 && st.reserve == 0 {
		l.busy++
	}
}

// ErrOverLimit is AdmitSession's refusal: the server is at its connection
// cap, or the address at its connections or connection attempts per
// second (the error says which).
var ErrOverLimit = errors.New("tcpchat: connection refused")

// AdmitSession counts a connection that holds no socket of its own (a
// Socket.IO polling session, whose requests may come over any sockets)
// against the limits a new socket meets: the connection cap and, for the
// address of remote ("IP:port"), its connections open and connection
// attempts per second, with the same metrics. It returns the function
// that ends the count (idempotent: call it when the session ends, or
// when it moves to a socket the server counts), or an error matching
// ErrOverLimit that says why.
func (s *Server) AdmitSession(remote string) (release func(), err error) {
	var ra net.Addr
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		ra = net.TCPAddrFromAddrPort(ap)
	}
	l := s.lim
	l.mu.Lock()
	adm, st, reason := l.admitLocked(ra, false)
	l.mu.Unlock()
	if adm != admitted {
		s.logRefusal(remote, reason)
		return nil, fmt.Errorf("%w: %s", ErrOverLimit, reason)
	}
	t := &trackedConn{l: l, st: st}
	return func() { t.once.Do(func() { l.closed(t) }) }, nil
}

// closed is called once per admitted socket.
func (l *limiter) closed(t *trackedConn) {
	l.mu.Lock()
	if t.reserve {
		l.reserve--
		if t.st != nil {
			t.st.reserve--
			t.st.last = monoNow()
			l.idleLocked(t.st)
		}
	} else {
		l.open--
		if t.st != nil {
			t.st.conns--
			t.st.last = monoNow()
			l.idleLocked(t.st)
		}
		if l.full && l.open < l.max {
			l.full = false
			l.srv.logf("tcpchat: %d sockets open: accepting new connections again", l.open)
		}
	}
	l.mu.Unlock()
}

// idleLocked uncounts st from the addresses with sockets once its last
// socket is gone. l.mu is held.
func (l *limiter) idleLocked(st *addrState) {
	if st.conns == 0 && st.reserve == 0 {
		l.busy--
	}
}

// sweep forgets addresses without sockets that have been idle for
// addrIdle, and ends a burst of forgetting (forgetLocked) after a round
// without one.
func (l *limiter) sweep() {
	now := monoNow()
	l.mu.Lock()
	for k, st := range l.addrs {
		if st.conns == 0 && st.reserve == 0 && now-st.last > int64(addrIdle) {
			delete(l.addrs, k)
		}
	}
	if n := l.addrsForgotten.Load(); l.forgetting && n == l.forgottenSeen {
		l.forgetting = false
		l.srv.logf("tcpchat: no address forgotten early since the last heartbeat round; limit state kept for %d addresses (%d forgotten early since the server started)", len(l.addrs), n)
	} else {
		l.forgottenSeen = n
	}
	l.mu.Unlock()
}

// state returns the state of the address of a, if it has sockets.
func (l *limiter) state(a net.Addr) *addrState {
	key, ok := addrKey(a)
	if !ok {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addrs[key]
}

// waitEvent takes one token of the packet rate of c's address, waiting for
// it (the connection is not read meanwhile: TCP slows the sender). It
// reports false when the server closed during the wait. Before it waits,
// the writers parked in c's read batch start: what the batch sent others
// so far must not wait with it.
func (l *limiter) waitEvent(c *conn, now int64) bool {
	o := &l.srv.opts
	st := c.addr
	waited := false
	for {
		st.mu.Lock()
		ok := st.events.allow(now, o.EventRatePerAddr, max(o.EventBurstPerAddr, 1))
		st.mu.Unlock()
		if ok {
			return true
		}
		if !waited {
			waited = true
			l.addrWaits.Add(1)
			c.kickParked()
		}
		select {
		case <-l.srv.stop:
			return false
		case <-time.After(time.Duration(max(1e9/o.EventRatePerAddr, 1e5))):
		}
		now = monoNow()
	}
}

// refuse answers a refused socket without reading from it: an error packet
// (code 10) that a framed client reads as the reason, then a close.
func refuse(nc net.Conn, reason string) {
	p := wire.Packet{Type: wire.TypeError, Code: wire.CodeTooManyConnections, Reason: reason}
	nc.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	nc.Write(framing.AppendFrame(nil, p.AppendTo(nil)))
	nc.Close()
}

// trackedConn reports its close to the limiter once.
type trackedConn struct {
	net.Conn
	l       *limiter
	st      *addrState
	reserve bool
	once    sync.Once
}

func (t *trackedConn) Close() error {
	err := t.Conn.Close()
	t.once.Do(func() { t.l.closed(t) })
	return err
}

// errNoRawSocket is what trackedConn.SyscallConn returns for a connection
// without a socket of its own (one from a Listener of the caller's).
var errNoRawSocket = fmt.Errorf("tcpchat: the connection has no raw socket: %w", errors.ErrUnsupported)

// SyscallConn returns the socket's raw connection, so that the framed
// transport's reader reads it by hand (framing.Reader: a frame's header
// and payload in one read system call, its buffer borrowed only once bytes
// are there); without it every server connection read the header and the
// payload with a read each. Wrappers that replay bytes already read
// (prefixConn) or decrypt them (TLS) have no SyscallConn, so they are read
// through their Read.
func (t *trackedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := t.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errNoRawSocket
}

// CloseWrite half-closes the socket when it can.
func (t *trackedConn) CloseWrite() error {
	if cw, ok := t.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return t.Close()
}

// connKey is the context key of an HTTP request's httpSock.
type connKey struct{}

// httpSock is what an HTTP request's context holds of its socket.
type httpSock struct {
	pc    *prefixConn
	first time.Time // by when the first request's handshakes must be done (sniff's deadline)
}

// connContext gives each HTTP request its socket (a *prefixConn) and the
// deadline sniff set it: serveHTTP lets the requests of sockets accepted
// over the cap reach /healthz and /metrics only, one request per socket,
// marks each request's header as come (handshake timeouts, prefixConn.hdr),
// and a WebSocket upgraded by the first request must have its handshake
// packet by that deadline too (prefixConn.setBy).
func (s *Server) connContext(ctx context.Context, c net.Conn) context.Context {
	first := s.httpLn.taken(c)
	if pc, ok := c.(*prefixConn); ok {
		return context.WithValue(ctx, connKey{}, httpSock{pc, first})
	}
	return ctx
}

// httpConnState counts the HTTP sockets closed because a request's header
// did not come within the handshake timeout, and marks a keep-alive
// socket idle between requests (prefixConn.hdr): the next request's
// header is awaited from its first byte.
func (s *Server) httpConnState(c net.Conn, st http.ConnState) {
	pc, ok := c.(*prefixConn)
	switch {
	case !ok:
	case st == http.StateIdle:
		pc.setBy(time.Time{}) // the next request's is recorded when its header is awaited
		pc.hdr.Store(hdrIdle)
	case st == http.StateClosed && pc.hdr.Load() == hdrTimedOut:
		s.metrics.hsTimeouts.Add(1)
	}
}
