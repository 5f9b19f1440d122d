package engine

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/socketio/engineio"
)

// Defaults of Options, those of the reference server.
const (
	DefaultPingInterval   = 25 * time.Second
	DefaultPingTimeout    = 20 * time.Second
	DefaultMaxPayload     = 1_000_000
	DefaultUpgradeTimeout = 10 * time.Second
	DefaultSendQueue      = 1024
	// DefaultSendQueueBytes is Options.SendQueueBytes's default, 8 MiB, as
	// a chat connection's (tcpchat.DefaultSendQueueBytes): 1024 packets
	// of up to MaxPayload each would be about 1 GiB for one session that
	// does not poll.
	DefaultSendQueueBytes = 8 << 20
	DefaultInbox          = 64
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// PingInterval is how often the server pings; PingTimeout how long it
	// waits for the pong before it ends the session.
	PingInterval, PingTimeout time.Duration
	// MaxPayload bounds a POST body and a WebSocket message, in bytes (the
	// reference's maxHttpBufferSize); it is announced in the open packet.
	MaxPayload int
	// UpgradeTimeout bounds an upgrade from the WebSocket's opening to
	// the client's upgrade packet.
	UpgradeTimeout time.Duration
	// SendQueue bounds the packets queued for one session; a session whose
	// queue overflows ends with ErrQueueFull (a *QueueFullError).
	SendQueue int
	// SendQueueBytes bounds the bytes of the packets' Data queued for one
	// session (negative: no bound); a session whose queue would go over
	// it ends with ErrQueueFull, as at SendQueue packets. An empty queue
	// always takes the packets of one Send, so that a packet of up to
	// MaxPayload is never refused for good.
	SendQueueBytes int
	// Inbox bounds the received messages not yet read; a full inbox makes
	// the transport wait (a POST is not answered, a WebSocket is not read).
	Inbox int
	// InboxWait, when set, is called for each message posted (polling)
	// that found its session's inbox full and waited, on the goroutine of
	// the POST: it must not block. (A WebSocket session's messages go to
	// Next directly, not through the inbox.)
	InboxWait func()
	// Origins lists the other origins whose pages may connect, as
	// ws.Upgrader.Origins ("https://example.com", "*.example.com", "*").
	// A request without Origin is always allowed, one from a page of the
	// same host when that host is known (Hosts); another is refused with
	// 403. Responses to a listed origin carry CORS headers (the origin,
	// with credentials).
	Origins []string
	// Hosts names the server for same-origin pages besides IP addresses
	// and localhost (ws.KnownHost): a page of the same origin under
	// another name may be a DNS-rebinding attack and is refused unless
	// Origins lists it.
	Hosts []string
	// AllowRequest, when set, decides instead of the Origin policy
	// whether a request is served (false: 403, as for a refused origin);
	// the CORS headers still follow Origins.
	AllowRequest func(r *http.Request) bool
	// AdmitPolling, when set, is asked before a polling session opens
	// (the handshake GET): an error refuses it with 503 and the error's
	// text (a server's connection limits), release ends the count once,
	// when the session ends or moves to a WebSocket (whose socket the
	// HTTP server's listener counts, as it counts a session that starts
	// on a WebSocket).
	AdmitPolling func(r *http.Request) (release func(), err error)
	// NoUpgrades makes the open packet offer no upgrade: polling sessions
	// stay on polling.
	NoUpgrades bool
	// KeepRequest makes each session keep the headers and the query of
	// the request that opened it (Session.Header, Session.Query); without
	// it a session holds neither (about 1 KB of an ordinary browser's
	// request, up to the HTTP server's header limit of a hostile one).
	KeepRequest bool
	// Logf, when set, receives one line per refused request or failed
	// session.
	Logf func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = DefaultPingTimeout
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	if o.UpgradeTimeout <= 0 {
		o.UpgradeTimeout = DefaultUpgradeTimeout
	}
	if o.SendQueue <= 0 {
		o.SendQueue = DefaultSendQueue
	}
	if o.SendQueueBytes == 0 {
		o.SendQueueBytes = DefaultSendQueueBytes
	}
	if o.Inbox <= 0 {
		o.Inbox = DefaultInbox
	}
}

// Server is the Engine.IO server, an http.Handler. It is safe for
// concurrent use.
type Server struct {
	opts     Options
	handler  func(*Session)
	sameHost *ws.Upgrader // Origin policy: same host only
	listed   *ws.Upgrader // Origin policy: opts.Origins
	upgrader *ws.Upgrader // after our own Origin check

	wg sync.WaitGroup // session handlers, WebSocket readers, writers

	mu       sync.Mutex
	sessions map[string]*Session // guarded by mu
	closed   bool                // guarded by mu
}

// NewServer returns a Server that hands each new session to handler, in a
// goroutine of its own; the session ends when handler returns, unless it
// called Session.Detach.
func NewServer(opts Options, handler func(*Session)) *Server {
	opts.defaults()
	return &Server{
		opts:     opts,
		handler:  handler,
		sameHost: &ws.Upgrader{},
		listed:   &ws.Upgrader{Origins: opts.Origins},
		upgrader: &ws.Upgrader{Origins: []string{"*"}, MaxMessageSize: int64(opts.MaxPayload)},
		sessions: make(map[string]*Session),
	}
}

// Sessions returns the number of open sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Session returns the open session with this id, or nil.
func (s *Server) Session(id string) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

// Close ends every session (each client gets a close packet where the
// transport can carry it), refuses new ones and waits until every
// goroutine of the Server has returned, including the handlers.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	all := make([]*Session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		ss.closeWith(ErrClosed)
	}
	s.wg.Wait()
	return nil
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// track counts one more goroutine of the Server (the caller), unless the
// Server is closed; the caller calls s.wg.Done when it returns.
func (s *Server) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// goroutine runs f in a goroutine counted by the Server, unless the Server
// is closed.
func (s *Server) goroutine(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// The error codes of the reference server, sent with status 400 (403 for
// forbidden) as {"code":N,"message":"..."}.
type errorCode int

const (
	codeUnknownTransport errorCode = iota
	codeUnknownSID
	codeBadHandshakeMethod
	codeBadRequest
	codeForbidden
	codeUnsupportedProtocolVersion
)

var codeMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code errorCode) {
	status := http.StatusBadRequest
	if code == codeForbidden {
		status = http.StatusForbidden
	}
	s.logf("engine: %s %s %s: refused: %s", r.RemoteAddr, r.Method, r.URL.RequestURI(), codeMessages[code])
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%d,"message":%q}`, code, codeMessages[code])
}

// cors checks the Origin and adds the CORS headers for a listed one. It
// reports false when the origin is refused.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	listed := origin != "" && len(s.opts.Origins) > 0 && s.listed.OriginAllowed(origin, r.Host)
	if s.opts.AllowRequest != nil {
		if !s.opts.AllowRequest(r) {
			return false
		}
	} else if origin != "" && !listed && !(s.sameHost.OriginAllowed(origin, r.Host) && ws.KnownHost(r.Host, s.opts.Hosts)) {
		return false
	}
	if !listed {
		return true
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
	return true
}

// ServeHTTP answers one Engine.IO request: a handshake, a poll, a POST, a
// WebSocket (new, or upgrading a polling session) or a CORS preflight.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.cors(w, r) {
		s.refuse(w, r, codeForbidden)
		return
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		if v := r.Header.Get("Access-Control-Request-Headers"); v != "" {
			h.Set("Access-Control-Allow-Headers", v)
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	q := r.URL.Query()
	if q.Get("EIO") != "4" {
		s.refuse(w, r, codeUnsupportedProtocolVersion)
		return
	}
	transport := q.Get("transport")
	if transport != "polling" && transport != "websocket" {
		s.refuse(w, r, codeUnknownTransport)
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		if r.Method != http.MethodGet {
			s.refuse(w, r, codeBadHandshakeMethod)
			return
		}
		s.handshake(w, r, transport)
		return
	}
	s.mu.Lock()
	ss := s.sessions[sid]
	s.mu.Unlock()
	if ss == nil {
		s.refuse(w, r, codeUnknownSID)
		return
	}
	switch {
	case transport == "websocket" && r.Method == http.MethodGet:
		ss.upgrade(w, r)
	case transport == "polling" && r.Method == http.MethodGet:
		ss.poll(w, r)
	case transport == "polling" && r.Method == http.MethodPost:
		ss.post(w, r)
	default:
		s.refuse(w, r, codeBadRequest)
	}
}

// newSID returns a random session id, 20 URL-safe characters.
func newSID() string {
	var b [15]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// handshake opens a session on transport.
func (s *Server) handshake(w http.ResponseWriter, r *http.Request, transport string) {
	var c *ws.Conn
	if transport == "websocket" {
		var err error
		if c, err = s.upgrader.UpgradeHTTP(w, r); err != nil {
			s.logf("engine: %s: WebSocket upgrade refused: %v", r.RemoteAddr, err)
			return
		}
	}
	var release func()
	if c == nil && s.opts.AdmitPolling != nil {
		var err error
		if release, err = s.opts.AdmitPolling(r); err != nil {
			s.logf("engine: %s: polling session refused: %v", r.RemoteAddr, err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"code":%d,"message":%q}`, codeForbidden, err.Error())
			return
		}
	}
	ss := newSession(s, r, newSID(), c)
	ss.admitted = release
	h := engineio.Handshake{
		SID:          ss.id,
		PingInterval: int(s.opts.PingInterval / time.Millisecond),
		PingTimeout:  int(s.opts.PingTimeout / time.Millisecond),
		MaxPayload:   s.opts.MaxPayload,
	}
	if c == nil && !s.opts.NoUpgrades {
		h.Upgrades = []string{"websocket"}
	}
	open := engineio.OpenPacket(h)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		if release != nil {
			release()
		}
		if c != nil {
			c.CloseNow()
		} else {
			http.Error(w, "server closed", http.StatusServiceUnavailable)
		}
		return
	}
	s.sessions[ss.id] = ss
	s.wg.Add(1) // the handler, which reads a WebSocket session too
	s.mu.Unlock()
	ss.startPing()
	if c != nil {
		// From this goroutine, before the handler can send anything (a
		// failed write ends the session, which the handler's first read
		// reports).
		ss.Write(open)
	}
	go func() {
		defer s.wg.Done()
		s.handler(ss)
		if !ss.detached {
			ss.closeWith(ErrClosed)
		}
	}()
	if c == nil {
		writePayload(w, engineio.AppendText(nil, open))
	}
}

// writePayload answers a poll.
func writePayload(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	w.Write(body)
}

// readBody reads a POST body of at most max bytes; ok is false when it is
// larger (the answer, 413, was written).
func readBody(w http.ResponseWriter, r *http.Request, max int) (body []byte, ok bool, err error) {
	if r.ContentLength > int64(max) {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return nil, false, nil
	}
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, int64(max)))
	if err != nil {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return nil, false, nil
		}
		return nil, false, err
	}
	return body, true, nil
}
