package tcpchat

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/framing/ws"
)

// WebSocketPath is where the server upgrades HTTP requests to WebSocket.
const WebSocketPath = "/ws"

// wsTransport is the Transport of the event protocol over WebSocket: one
// packet per binary message, no length prefix (the message has one). A
// message is read into a pooled buffer, kept between packets (up to
// wsKeepBuffer) while the connection is busy and given back when it parks
// (park.go); ws.Conn gives its own read buffer back whenever it has
// nothing buffered.
type wsTransport struct {
	c      *ws.Conn
	bufp   *[]byte // pooled; nil while parked
	closed atomic.Bool
}

// wsBufPool holds the message buffers of WebSocket transports.
var wsBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// newWebSocketTransport returns the Transport over an open WebSocket
// connection: each packet travels as one binary message. A text message
// is refused with close status 1003 (unsupported data).
func newWebSocketTransport(c *ws.Conn) Transport { return &wsTransport{c: c} }

// wsKeepBuffer is the largest read buffer kept between packets; a larger
// one (after a large message) is dropped so an idle connection holds little.
const wsKeepBuffer = 64 << 10

func (t *wsTransport) ReadPacket() ([]byte, error) {
	if t.bufp == nil {
		t.bufp = wsBufPool.Get().(*[]byte)
	} else if cap(*t.bufp) > wsKeepBuffer {
		*t.bufp = nil
	}
	op, msg, err := t.c.AppendMessage((*t.bufp)[:0])
	if err != nil {
		return nil, t.readError(err)
	}
	*t.bufp = msg
	if op != ws.OpBinary {
		// Close with the handshake so the peer reads the reason; bounded
		// by the ws package's close timeout.
		t.closed.Store(true)
		t.c.Close(ws.StatusUnsupportedData, "event packets travel in binary messages")
		return nil, ErrTextMessage
	}
	return msg, nil
}

// Buffered reports the bytes read from the connection but not yet
// returned as packets.
func (t *wsTransport) Buffered() int { return t.c.Buffered() }

// NetConn returns the WebSocket's connection, for the poller (park.go).
func (t *wsTransport) NetConn() net.Conn { return t.c.NetConn() }

// SetWake does nothing: only the server closes the connection (park.go).
func (t *wsTransport) SetWake(func()) {}

// ReleaseRead gives the message buffer back to its pool (a large one is
// dropped).
func (t *wsTransport) ReleaseRead() {
	if t.bufp == nil {
		return
	}
	if cap(*t.bufp) > wsKeepBuffer {
		*t.bufp = nil
	}
	*t.bufp = (*t.bufp)[:0]
	wsBufPool.Put(t.bufp)
	t.bufp = nil
}

// readError maps the ws package's final read errors to the ones the
// connection code understands: a normal close is io.EOF, a message over
// the limit a *framing.TooLargeError.
func (t *wsTransport) readError(err error) error {
	var ce *ws.CloseError
	var big *ws.MessageTooBigError
	switch {
	case errors.As(err, &ce) && (ce.Code == ws.StatusNormalClosure || ce.Code == ws.StatusGoingAway || ce.Code == ws.StatusNoStatus):
		return io.EOF
	case errors.As(err, &big):
		return fmt.Errorf("%w (ws: message too big: closed with status 1009)", &framing.TooLargeError{Len: uint32(min(big.Size, 1<<32-1)), Max: int(big.Max)})
	case errors.Is(err, ws.ErrClosed) && t.closed.Load():
		return net.ErrClosed
	}
	return err
}

// WritePackets sends the batch (the packets the connection's send queue
// held) with ws.Conn.WriteMessages: one binary message each, all framed
// into one write where they fit (16 KiB; a large packet joins the frames
// before it in one writev). It leaves no write deadline behind: framing/ws
// answers the peer's pings by itself, on the same connection, and a
// deadline of this batch's, once passed, would fail those pongs and end
// the connection (clients that heartbeat with WebSocket pings).
func (t *wsTransport) WritePackets(payloads [][]byte) error {
	err := t.c.WriteMessages(ws.OpBinary, payloads)
	t.c.SetWriteDeadline(time.Time{})
	return err
}

func (t *wsTransport) SetReadDeadline(d time.Time) error  { return t.c.SetReadDeadline(d) }
func (t *wsTransport) SetWriteDeadline(d time.Time) error { return t.c.SetWriteDeadline(d) }
func (t *wsTransport) RemoteAddr() net.Addr               { return t.c.RemoteAddr() }

// wsCloseWait bounds the close frame Close tries to send before it drops
// the connection.
const wsCloseWait = 100 * time.Millisecond

// Close sends a close frame (status 1001, going away) if the connection can
// take it within a short bound, then closes the connection at once.
func (t *wsTransport) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	t.c.SetWriteDeadline(time.Now().Add(wsCloseWait))
	var buf [ws.MaxControlPayload]byte
	t.c.WriteFrame(true, ws.OpClose, ws.AppendClosePayload(buf[:0], ws.StatusGoingAway, ""))
	return t.c.CloseNow()
}

// CloseWrite ends the sending side after a final packet: it sends a normal
// close frame; the reader then sees the peer's answer and ends.
func (t *wsTransport) CloseWrite() error {
	var buf [ws.MaxControlPayload]byte
	return t.c.WriteFrame(true, ws.OpClose, ws.AppendClosePayload(buf[:0], ws.StatusNormalClosure, ""))
}

// sameHostOrigin reports whether origin ("http://host:port") names host.
func sameHostOrigin(origin, host string) bool {
	_, h, ok := strings.Cut(origin, "://")
	return ok && strings.EqualFold(h, host)
}

// knownHost reports whether a same-origin browser page with this Host
// header may be upgraded: ws.KnownHost with the names of Options.Hosts, the
// same rule socket.io's sessions use.
func (s *Server) knownHost(hostport string) bool { return ws.KnownHost(hostport, s.opts.Hosts) }

// initWebSocket adds GET /ws: it upgrades the request (Origin checked
// against Options.Origins; a page of the same host is always allowed, a
// client without Origin too) and runs the event protocol on the connection
// until it ends. A page accepted as same-origin must also name the server
// by an IP address, localhost or a name of Options.Hosts (knownHost).
func (s *Server) initWebSocket() {
	max := int64(s.opts.MaxWebSocketMessage)
	listed := &ws.Upgrader{Origins: s.opts.Origins, MaxMessageSize: max}
	sameHost := &ws.Upgrader{MaxMessageSize: max} // no list: same host only
	// One upgrader, one policy, for requests through the handler below and
	// for those upgraded on the raw connection (upgradeRaw).
	s.wsRaw = &ws.Upgrader{MaxMessageSize: max,
		CheckOrigin: func(origin, host string) (int, string) {
			same := sameHostOrigin(origin, host)
			u := sameHost
			switch {
			case len(s.opts.Origins) > 0 && (!same || !s.knownHost(host)):
				u = listed // the allow-list decides
			case same && !s.knownHost(host):
				return http.StatusForbidden, fmt.Sprintf("Host %q is not an IP address, localhost or a name this server is configured with (DNS rebinding?)", host)
			}
			if !u.OriginAllowed(origin, host) {
				return http.StatusForbidden, fmt.Sprintf("origin %q is not allowed (check the server's origin allow-list)", origin)
			}
			return 0, ""
		}}
	s.mux.HandleFunc("GET "+WebSocketPath, func(w http.ResponseWriter, r *http.Request) {
		c, err := s.wsRaw.UpgradeHTTP(w, r)
		if err != nil {
			s.logf("tcpchat: %s: WebSocket upgrade refused: %v", r.RemoteAddr, err)
			return
		}
		// The handshake packet must come by the deadline of the request's
		// header (serveHTTP recorded it): the first request's, sniff's
		// from the accept, as on the raw path (upgradeRaw); a later one's
		// on a keep-alive socket, the handshake timeout from its first
		// bytes. Not a timeout of its own from now: a header that came at
		// 0.9 of the timeout gave the packet up to 1.9 of it.
		var by time.Time
		if sc, ok := r.Context().Value(connKey{}).(httpSock); ok {
			by = sc.pc.by()
		}
		s.serveTransport(newWebSocketTransport(c), true, by) // returns when it parks
	})
}

// upgradeRaw upgrades a WebSocket request for WebSocketPath on the
// connection itself (its first bytes, already read, replayed by nc):
// ws.Upgrader.Upgrade reads the request into a pooled buffer and parses it
// in place, where net/http's handler left about 11 KiB of garbage per
// upgrade (its request, header maps and contexts, a 4 KiB bufio.Reader
// and a 4 KiB bufio.Writer a hijack does not give back), which made the
// server's peak while thousands of clients connect (3.0 KiB per
// connection at 19,000) and, through the span records and collector
// metadata of that peak, part of what stays. The same checks as the
// handler's (initWebSocket). The upgrade must end by deadline, sniff's:
// the handshake timeout from the accept, as for a TLS handshake (a
// copy of the upgrader bounds it by what is left of it, not by a timeout
// of its own from now, which made up to twice the timeout), and so must
// the handshake packet that follows it; a request that meets it is
// counted with the handshake timeouts.
func (s *Server) upgradeRaw(nc net.Conn, deadline time.Time) {
	u := *s.wsRaw
	u.HandshakeTimeout = max(time.Until(deadline), 1) // 0 would mean ws's default
	c, err := u.Upgrade(nc, nil)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) { // the request's header came too late
			s.metrics.hsTimeouts.Add(1)
		}
		s.logf("tcpchat: %s: WebSocket upgrade refused: %v", nc.RemoteAddr(), err)
		nc.Close()
		return
	}
	s.serveTransport(newWebSocketTransport(c), true, deadline) // returns when it parks
}

// IsWebSocketURL reports whether addr is a ws:// or wss:// URL, which
// Dial reaches over WebSocket instead of framed TCP.
func IsWebSocketURL(addr string) bool {
	return strings.HasPrefix(addr, "ws://") || strings.HasPrefix(addr, "wss://")
}

// dialWebSocket opens the WebSocket transport to a ws:// or wss:// URL.
func dialWebSocket(ctx context.Context, url string, cfg *tls.Config, maxMessage int) (Transport, error) {
	c, err := ws.Dial(ctx, url, &ws.DialOptions{TLSConfig: cfg, MaxMessageSize: int64(maxMessage)})
	if err != nil {
		return nil, err
	}
	return newWebSocketTransport(c), nil
}

// dialFramed opens a framed-TCP transport to addr (HOST:PORT), over TLS
// when cfg is set, and sends the preamble.
func dialFramed(ctx context.Context, addr string, cfg *tls.Config, maxFrame int) (Transport, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			cfg = cfg.Clone()
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		nc = tc
	}
	// The preamble waits for the handshake, to leave in the same write.
	return &framedTransport{conn: nc, r: framing.NewReader(nc, maxFrame), preamble: true}, nil
}

// ErrTextMessage is the reason recorded when a WebSocket peer sends a text
// message: event packets travel in binary messages only, and the
// connection was closed with status 1003 (unsupported data).
var ErrTextMessage = errors.New("tcpchat: text WebSocket message refused: event packets travel in binary messages")
