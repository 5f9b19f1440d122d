package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/socketio"
	"github.com/wiredojo/wiredojo/socketio/engineio"
)

// DefaultMaxMessage bounds a message received when Options.MaxMessage is
// zero.
const DefaultMaxMessage = 1 << 20

// maxOpenBody bounds the body of the polling handshake's answer.
const maxOpenBody = 64 << 10

// maxOpenHead bounds the status line and header of the polling
// handshake's answer (net/http's ReadResponse bounds neither).
const maxOpenHead = 64 << 10

// maxPingMillis bounds the open packet's pingInterval and pingTimeout:
// the longest delay of a JavaScript timer (the reference server's pings run
// on them), about 24.8 days. Their sum in time.Duration cannot overflow.
const maxPingMillis = 1<<31 - 1

// Options configure Dial; the zero value is fine.
type Options struct {
	// TLSConfig is used for https:// URLs, and makes a socketio:// URL
	// use TLS (https, then wss).
	TLSConfig *tls.Config
	// MaxMessage bounds a message received from the server (default
	// DefaultMaxMessage).
	MaxMessage int
}

// Message is one whole Socket.IO packet and, for a BinaryEvent or a
// BinaryAck, its attachments (Packet.Attachments of them).
type Message struct {
	Packet      socketio.Packet
	Attachments [][]byte
}

// Conn is an Engine.IO session carrying Socket.IO packets. One goroutine
// may Read while another Writes; Close may come from any goroutine.
type Conn struct {
	ws      *ws.Conn // nil when polling only
	poll    *poller  // non-nil when polling only
	hs      engineio.Handshake
	silence time.Duration // pingInterval + pingTimeout

	// reader's
	rbuf    []byte
	early   []engineio.Packet // packets that came with the open packet
	pending Message           // a binary packet awaiting attachments
	last    time.Time         // when the server last sent something

	// writer's
	wbuf  []byte
	wlist [][]byte

	// wsem (one slot) is held by a Write on the WebSocket and by a pong
	// Read sends: each sets the WebSocket's write deadline for its own
	// writes. A channel, not a mutex, so that the pong waits for it only
	// within the read's bounds: a Write blocked on a server that does not
	// read (no write deadline) would otherwise hold Read for ever.
	wsem chan struct{}

	mu        sync.Mutex
	deadline  time.Time // the caller's read deadline; guarded by mu
	wdeadline time.Time // the caller's write deadline (WebSocket); guarded by mu
}

// Dial opens a session with the Socket.IO server at rawURL:
// socketio://HOST:PORT[/NAMESPACE] (the endpoint /socket.io/; the path is
// only a namespace for the caller, see Namespace) or
// http(s)://HOST:PORT/PATH/, either with ?transport=websocket to skip
// polling or ?transport=polling to poll only (no upgrade). ctx bounds the
// handshake and the upgrade.
func Dial(ctx context.Context, rawURL string, opts Options) (*Conn, error) {
	e, err := parseURL(rawURL, opts.TLSConfig != nil)
	if err != nil {
		return nil, err
	}
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = DefaultMaxMessage
	}
	c := &Conn{wsem: make(chan struct{}, 1)}
	wopts := &ws.DialOptions{TLSConfig: opts.TLSConfig, MaxMessageSize: int64(opts.MaxMessage)}
	if e.websocket {
		c.ws, err = ws.Dial(ctx, e.query("websocket", "").String(), wopts)
		if err != nil {
			return nil, fmt.Errorf("socketio/client: open the WebSocket: %w", err)
		}
		stop := context.AfterFunc(ctx, func() { c.ws.CloseNow() })
		defer stop()
		op, msg, err := c.ws.ReadMessage()
		if err == nil && op != ws.OpText {
			err = fmt.Errorf("%w: a binary message before the open packet", ErrProtocol)
		}
		if err == nil {
			err = c.open(msg)
		}
		if err == nil && !stop() {
			err = ctx.Err()
		}
		if err != nil {
			c.ws.CloseNow()
			return nil, ctxErr(ctx, err)
		}
		c.last = time.Now()
		return c, nil
	}
	body, local, remote, err := pollOpen(ctx, e, opts)
	if err != nil {
		return nil, err
	}
	if err := c.open(body); err != nil {
		return nil, err
	}
	if e.polling {
		c.poll = newPoller(e, c.hs.SID, opts, local, remote)
		c.last = time.Now()
		return c, nil
	}
	if !slices.Contains(c.hs.Upgrades, "websocket") {
		return nil, ErrNoWebSocket
	}
	c.ws, err = ws.Dial(ctx, e.query("websocket", c.hs.SID).String(), wopts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUpgrade, err)
	}
	if err := c.upgrade(ctx); err != nil {
		c.ws.CloseNow()
		return nil, ctxErr(ctx, err)
	}
	c.last = time.Now()
	return c, nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// pollOpen sends the polling handshake, GET /socket.io/?EIO=4&
// transport=polling, on a connection of its own and returns the body.
func pollOpen(ctx context.Context, e endpoint, opts Options) (body []byte, local, remote net.Addr, err error) {
	u := e.query("polling", "")
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("socketio/client: %w", err)
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	if u.Scheme == "https" {
		cfg := opts.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
			cfg = cfg.Clone()
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, nil, fmt.Errorf("socketio/client: tls handshake: %w", err)
		}
		nc = tc
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("socketio/client: %w", err)
	}
	req.Header.Set("Accept", "*/*")
	if err := req.Write(nc); err != nil {
		return nil, nil, nil, ctxErr(ctx, fmt.Errorf("socketio/client: send the handshake: %w", err))
	}
	// The head is read through lr, which stops at maxOpenHead bytes; the
	// body gets its own bound once the head is in.
	lr := &io.LimitedReader{R: nc, N: maxOpenHead}
	resp, err := http.ReadResponse(bufio.NewReader(lr), req)
	if err != nil {
		if lr.N == 0 {
			return nil, nil, nil, fmt.Errorf("%w: handshake answer's header longer than %d bytes", ErrProtocol, maxOpenHead)
		}
		return nil, nil, nil, ctxErr(ctx, fmt.Errorf("socketio/client: read the handshake: %w", err))
	}
	defer resp.Body.Close()
	lr.N = maxOpenBody + 1
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxOpenBody+1))
	if err != nil {
		return nil, nil, nil, ctxErr(ctx, fmt.Errorf("socketio/client: read the handshake: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, nil, &HTTPError{Status: resp.StatusCode, Body: string(body[:min(len(body), 200)])}
	}
	if len(body) > maxOpenBody {
		return nil, nil, nil, fmt.Errorf("%w: handshake answer longer than %d bytes", ErrProtocol, maxOpenBody)
	}
	return body, nc.LocalAddr(), nc.RemoteAddr(), nil
}

// open reads the open packet (and, from a polling body, what follows it).
func (c *Conn) open(body []byte) error {
	p, rest, err := engineio.NextPacket(body)
	if err == nil {
		c.hs, err = engineio.ParseHandshake(p)
	}
	for err == nil && len(rest) > 0 {
		p, rest, err = engineio.NextPacket(rest)
		if err == nil {
			if !p.Binary {
				p.Data = slices.Clone(p.Data)
			}
			c.early = append(c.early, p)
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if c.hs.PingInterval <= 0 || c.hs.PingTimeout <= 0 {
		return fmt.Errorf("%w: open packet without ping timings", ErrProtocol)
	}
	if c.hs.PingInterval > maxPingMillis || c.hs.PingTimeout > maxPingMillis {
		return fmt.Errorf("%w: open packet's pingInterval %d ms or pingTimeout %d ms beyond %d ms", ErrProtocol, c.hs.PingInterval, c.hs.PingTimeout, maxPingMillis)
	}
	c.silence = time.Duration(c.hs.PingInterval+c.hs.PingTimeout) * time.Millisecond
	return nil
}

// upgrade probes the WebSocket and switches to it.
func (c *Conn) upgrade(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { c.ws.CloseNow() })
	defer stop()
	if err := c.ws.WriteMessage(ws.OpText, []byte("2probe")); err != nil {
		return fmt.Errorf("%w: send the probe: %w", ErrUpgrade, err)
	}
	for {
		op, msg, err := c.ws.ReadMessage()
		if err != nil {
			return fmt.Errorf("%w: read the probe's answer: %w", ErrUpgrade, err)
		}
		if op != ws.OpText {
			return fmt.Errorf("%w: a binary message instead of 3probe", ErrUpgrade)
		}
		p, err := engineio.DecodeText(msg)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrUpgrade, err)
		}
		if p.Type == engineio.Noop || p.Type == engineio.Ping && !p.IsProbe() {
			continue
		}
		if p.Type != engineio.Pong || !p.IsProbe() {
			return fmt.Errorf("%w: %s instead of 3probe", ErrUpgrade, msg)
		}
		break
	}
	if err := c.ws.WriteMessage(ws.OpText, []byte("5")); err != nil {
		return fmt.Errorf("%w: send the upgrade: %w", ErrUpgrade, err)
	}
	if !stop() {
		return ctx.Err()
	}
	return nil
}

// Handshake returns the server's open packet.
func (c *Conn) Handshake() engineio.Handshake { return c.hs }

// Read returns the server's next Socket.IO packet with its attachments.
// Its Data is valid until the next Read. It answers pings on the way.
func (c *Conn) Read() (Message, error) {
	for {
		var p engineio.Packet
		if len(c.early) > 0 {
			p, c.early = c.early[0], c.early[1:]
		} else {
			dl, silent := c.readBounds()
			if c.poll != nil {
				if err := c.readPoll(dl, silent); err != nil {
					return Message{}, err
				}
				continue
			}
			c.ws.SetReadDeadline(dl)
			op, msg, err := c.ws.AppendMessage(c.rbuf[:0])
			if err != nil {
				return Message{}, c.readError(err, silent)
			}
			c.rbuf = msg
			c.last = time.Now()
			if op == ws.OpBinary {
				p = engineio.DecodeBinary(msg)
			} else if p, err = engineio.DecodeText(msg); err != nil {
				return Message{}, fmt.Errorf("%w: %w", ErrProtocol, err)
			}
		}
		switch p.Type {
		case engineio.Ping:
			if err := c.pong(); err != nil {
				return Message{}, err
			}
			continue
		case engineio.Close:
			return Message{}, ErrServerClosed
		case engineio.Message:
		default: // noop, pong, open or upgrade: nothing to do
			continue
		}
		m, done, err := c.message(p)
		if err != nil || done {
			return m, err
		}
	}
}

// readBounds returns when the server's silence ends the session, and the
// deadline of a read: that or the caller's read deadline, whichever is
// first.
func (c *Conn) readBounds() (dl, silent time.Time) {
	c.mu.Lock()
	dl = c.deadline
	c.mu.Unlock()
	silent = c.last.Add(c.silence)
	if dl.IsZero() || silent.Before(dl) {
		dl = silent
	}
	return dl, silent
}

// readPoll waits for the next polling answer until dl and queues its
// packets in c.early.
func (c *Conn) readPoll(dl, silent time.Time) error {
	body, err := c.poll.get(dl)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(silent) {
			c.poll.close()
			return ErrPingTimeout
		}
		return err
	}
	c.last = time.Now()
	c.early = c.early[:0]
	for rest := body; len(rest) > 0; {
		var p engineio.Packet
		if p, rest, err = engineio.NextPacket(rest); err != nil {
			return fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		c.early = append(c.early, p) // Data in body, read before the next poll
	}
	return nil
}

// pong answers a ping (when polling, with a POST) within the read's
// bounds, the caller's read deadline and the server's silence, not within
// the caller's write deadline, which bounds the caller's writes: a server
// that holds the POST, or does not read, would hold Read, the ping timeout
// with it. A pong that fails ends the session.
func (c *Conn) pong() error {
	dl, silent := c.readBounds()
	var err error
	if c.poll != nil {
		err = c.poll.postBy([]byte("3"), dl)
	} else if err = c.lockWrites(dl); err == nil {
		c.ws.SetWriteDeadline(dl)
		err = c.ws.WriteMessage(ws.OpText, []byte("3"))
		c.ws.SetWriteDeadline(time.Time{}) // as Write leaves it
		<-c.wsem
	}
	if err == nil {
		return nil
	}
	if c.poll != nil {
		c.poll.close()
	} else {
		c.ws.CloseNow() // also ends a Write blocked on the server
	}
	if errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(silent) {
		if errors.Is(err, errWriteHeld) {
			return fmt.Errorf("%w (the pong waited %v behind a Write the server did not take)", ErrPingTimeout, c.silence)
		}
		return fmt.Errorf("%w (the pong not taken within %v)", ErrPingTimeout, c.silence)
	}
	return fmt.Errorf("socketio/client: answer the server's ping: %w", err)
}

// errWriteHeld is the error of a pong that could not take wsem before the
// read's deadline: a Write held it.
var errWriteHeld = fmt.Errorf("a Write held the WebSocket: %w", os.ErrDeadlineExceeded)

// lockWrites takes wsem, waiting until dl at most; then it returns
// errWriteHeld.
func (c *Conn) lockWrites(dl time.Time) error {
	select {
	case c.wsem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(time.Until(dl))
	defer t.Stop()
	select {
	case c.wsem <- struct{}{}:
		return nil
	case <-t.C:
		return errWriteHeld
	}
}

// message handles one Engine.IO message: a whole Socket.IO packet, its
// binary packet's text (done false: attachments follow) or an attachment.
func (c *Conn) message(p engineio.Packet) (Message, bool, error) {
	if p.Binary {
		if len(c.pending.Attachments) == c.pending.Packet.Attachments {
			return Message{}, false, fmt.Errorf("%w: an attachment nobody announced", ErrProtocol)
		}
		c.pending.Attachments = append(c.pending.Attachments, slices.Clone(p.Data))
		if len(c.pending.Attachments) < c.pending.Packet.Attachments {
			return Message{}, false, nil
		}
		m := c.pending
		c.pending = Message{}
		return m, true, nil
	}
	if len(c.pending.Attachments) < c.pending.Packet.Attachments {
		return Message{}, false, fmt.Errorf("%w: text while attachments were awaited", ErrProtocol)
	}
	sp, err := socketio.Decode(p.Data)
	if err != nil {
		return Message{}, false, fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	if sp.Type.IsBinary() && sp.Attachments > 0 {
		sp.Data = slices.Clone(sp.Data) // rbuf is reused for the attachments
		c.pending = Message{Packet: sp, Attachments: make([][]byte, 0, sp.Attachments)}
		return Message{}, false, nil
	}
	return Message{Packet: sp}, true, nil
}

// readError names a failed read: the server's silence, the caller's
// deadline, the server's close.
func (c *Conn) readError(err error, silent time.Time) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if !time.Now().Before(silent) {
			c.ws.CloseNow()
			return ErrPingTimeout
		}
		return err
	}
	var ce *ws.CloseError
	if errors.As(err, &ce) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %w", ErrServerClosed, err)
	}
	return err
}

// Write sends the messages in order, each as its text and then its
// attachments, in as few writes as it can. Only one goroutine may Write at
// a time; Write keeps no reference to the messages.
func (c *Conn) Write(ms ...Message) error {
	c.wbuf = c.wbuf[:0]
	c.wlist = c.wlist[:0]
	max := c.hs.MaxPayload
	if c.poll != nil {
		if len(ms) == 0 {
			return nil // an empty POST would end the session
		}
		body, err := payload(c.wbuf, ms, max)
		c.wbuf = body
		if err != nil {
			return err
		}
		return c.poll.post(body)
	}
	c.wsem <- struct{}{} // a pong holds it within the read's bounds at most
	defer func() { <-c.wsem }()
	c.mu.Lock()
	wdl := c.wdeadline
	c.mu.Unlock()
	c.ws.SetWriteDeadline(wdl)
	// Between writes the WebSocket has no write deadline: framing/ws
	// answers the server's WebSocket pings by itself, and a deadline left
	// to pass would fail those pongs.
	defer c.ws.SetWriteDeadline(time.Time{})
	for _, m := range ms {
		start := len(c.wbuf)
		c.wbuf = append(c.wbuf, '0'+byte(engineio.Message))
		c.wbuf = m.Packet.AppendTo(c.wbuf)
		if max > 0 && len(c.wbuf)-start > max {
			return c.flushError(fmt.Errorf("%w: %d bytes, the server takes %d", ErrTooLarge, len(c.wbuf)-start, max))
		}
		c.wlist = append(c.wlist, c.wbuf[start:len(c.wbuf):len(c.wbuf)])
		if len(m.Attachments) == 0 {
			continue
		}
		if err := c.flush(); err != nil {
			return err
		}
		for _, a := range m.Attachments {
			if max > 0 && len(a) > max {
				return fmt.Errorf("%w: an attachment of %d bytes, the server takes %d", ErrTooLarge, len(a), max)
			}
		}
		if err := c.ws.WriteMessages(ws.OpBinary, m.Attachments); err != nil {
			return err
		}
	}
	return c.flush()
}

// flush writes the text messages gathered.
func (c *Conn) flush() error {
	if len(c.wlist) == 0 {
		return nil
	}
	err := c.ws.WriteMessages(ws.OpText, c.wlist)
	clear(c.wlist)
	c.wlist = c.wlist[:0]
	return err
}

// flushError sends the messages before the one that failed, and returns
// err.
func (c *Conn) flushError(err error) error {
	if ferr := c.flush(); ferr != nil {
		return ferr
	}
	return err
}

// SetReadDeadline bounds the next reads (the zero time removes the bound;
// the ping timeout applies in any case). A read that reaches the deadline
// ends the session, as every read error does.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline bounds the next Writes (the zero time removes the
// bound). It does not bound the pongs Read sends.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.poll != nil {
		c.poll.mu.Lock()
		c.poll.deadline = t
		c.poll.mu.Unlock()
		return nil
	}
	c.mu.Lock()
	c.wdeadline = t
	c.mu.Unlock()
	return nil
}

// closeWait bounds the close packet and the WebSocket's closing handshake.
const closeWait = 100 * time.Millisecond

// Close sends the Engine.IO close packet and closes the WebSocket (with
// its closing handshake when the server answers at once).
func (c *Conn) Close() error {
	if c.poll != nil {
		c.poll.mu.Lock()
		c.poll.deadline = time.Now().Add(closeWait)
		c.poll.mu.Unlock()
		c.poll.post([]byte(strconv.Itoa(int(engineio.Close))))
		c.poll.close()
		return nil
	}
	c.ws.SetWriteDeadline(time.Now().Add(closeWait))
	c.ws.WriteMessage(ws.OpText, []byte(strconv.Itoa(int(engineio.Close))))
	return c.ws.Close(ws.StatusNormalClosure, "")
}

// LocalAddr returns the local address of the WebSocket (when polling
// only: of the handshake's connection).
func (c *Conn) LocalAddr() net.Addr {
	if c.poll != nil {
		return c.poll.local
	}
	return c.ws.LocalAddr()
}

// RemoteAddr returns the server's address.
func (c *Conn) RemoteAddr() net.Addr {
	if c.poll != nil {
		return c.poll.remote
	}
	return c.ws.RemoteAddr()
}
