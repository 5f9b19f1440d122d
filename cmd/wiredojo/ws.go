package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/framing/ws/wsecho"
)

func init() { register(wsCommand) }

func wsCommand() *cli.Command {
	return &cli.Command{
		Name:  "ws",
		Usage: "raw WebSocket (RFC 6455): a frame-by-frame client and an echo server",
		Subcommands: []*cli.Command{
			wsDialCommand(),
			wsEchoCommand(),
			wsAutobahnCommand(),
		},
	}
}

func wsDialCommand() *cli.Command {
	return &cli.Command{
		Name:      "dial",
		Usage:     "connect to a WebSocket server, show every frame, send the lines you type",
		ArgsUsage: "URL",
		Description: `Connects to URL (ws:// or wss://) and shows each frame received (<) and
sent (>): opcode, FIN, RSV1, mask, length and payload. Each line read from
stdin is sent as a text message; lines starting with / are commands:
  /binary TEXT       send TEXT as a binary message
  /ping [PAYLOAD]    send a ping
  /close [CODE [REASON]]  start the closing handshake (default 1000)
End of input closes with 1000. --json prints one object per frame.
A ping goes out every --ping-interval (shown like any frame); a server
that answers none within --ping-timeout is taken for gone: ws dial closes
the connection and exits 1.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "one JSON object per frame (and per event) on stdout"},
			&cli.StringSliceFlag{Name: "protocol", Usage: "offer subprotocol `P` (repeatable)"},
			&cli.StringFlag{Name: "origin", Usage: "send the header Origin: `ORIGIN` (as a browser page at ORIGIN would)"},
			&cli.BoolFlag{Name: "compress", Usage: "offer permessage-deflate"},
			&cli.BoolFlag{Name: "insecure", Usage: "wss://: do not verify the server's certificate"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "handshake timeout"},
			&cli.DurationFlag{Name: "ping-interval", Value: 30 * time.Second, Usage: "send a ping every `D` to notice a dead server (0: none)"},
			&cli.DurationFlag{Name: "ping-timeout", Value: 20 * time.Second, Usage: "give up on a server that answers a ping with no pong within `D`"},
		},
		Action: wsDial,
	}
}

func wsEchoCommand() *cli.Command {
	return &cli.Command{
		Name:  "echo",
		Usage: "run an RFC 6455 echo server (for conformance runs and experiments)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:9001", Usage: "listen on `HOST:PORT` (port 0 picks one)"},
			&cli.BoolFlag{Name: "compress", Value: true, Usage: "accept permessage-deflate offers"},
			&cli.StringSliceFlag{Name: "origin", Usage: "allow browser origin `PATTERN` (repeatable; default: same host; * allows all)"},
			&cli.StringSliceFlag{Name: "protocol", Usage: "speak subprotocol `P` (repeatable, by preference)"},
			&cli.Int64Flag{Name: "max-message", Value: ws.DefaultMaxMessageSize, Usage: "largest message accepted, in `BYTES`"},
		},
		Action: wsEcho,
	}
}

func wsAutobahnCommand() *cli.Command {
	return &cli.Command{
		Name:      "autobahn",
		Usage:     "run our client against an Autobahn|Testsuite fuzzingserver (conformance)",
		ArgsUsage: "URL",
		Description: `Runs every case of the fuzzingserver at URL (ws://host:port) with our
client echoing what it receives, then asks the server to write its
reports (see docs/CONFORMANCE.md).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "agent", Value: "wiredojo", Usage: "agent `NAME` in the reports"},
			&cli.BoolFlag{Name: "compress", Value: true, Usage: "offer permessage-deflate"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return usagef("ws autobahn needs the fuzzingserver's URL (ws://host:port)")
			}
			opts := &ws.DialOptions{Compression: c.Bool("compress"), MaxMessageSize: -1}
			return wsecho.AutobahnClient(c.Context, c.Args().First(), c.String("agent"), opts, c.App.ErrWriter)
		},
	}
}

func wsEcho(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usagef("ws echo takes no arguments (got %q)", c.Args().First())
	}
	if c.Int64("max-message") <= 0 {
		return usagef("--max-message must be positive")
	}
	l, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		return fmt.Errorf("ws echo: listen on %s: %w (is the port in use?)", c.String("addr"), err)
	}
	out := c.App.Writer
	s := &wsecho.Server{
		Upgrader: ws.Upgrader{
			Origins:        c.StringSlice("origin"),
			Protocols:      c.StringSlice("protocol"),
			Compression:    c.Bool("compress"),
			MaxMessageSize: c.Int64("max-message"),
		},
	}
	var mu sync.Mutex
	s.OnError = func(remote net.Addr, err error) {
		mu.Lock()
		fmt.Fprintf(c.App.ErrWriter, "%s %s: %v\n", styleWarn.Sprint("ws echo:"), remote, err)
		mu.Unlock()
	}
	fmt.Fprintf(out, "ws echo: listening on %s\n", styleName.Sprint("ws://"+l.Addr().String()+"/"))
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	select {
	case <-c.Context.Done():
		s.Close()
		<-done
		return nil
	case err := <-done:
		s.Close()
		return fmt.Errorf("ws echo: %w", err)
	}
}

// frameJSON is the --json form of a frame.
type frameJSON struct {
	Dir           string `json:"dir"` // "sent" or "recv"
	OpCode        string `json:"opcode"`
	Fin           bool   `json:"fin"`
	Rsv1          bool   `json:"rsv1,omitempty"`
	Masked        bool   `json:"masked"`
	Mask          string `json:"mask,omitempty"`
	Length        int64  `json:"len"`
	Payload       string `json:"payload,omitempty"`
	PayloadBase64 string `json:"payload_base64,omitempty"`
	CloseCode     int    `json:"close_code,omitempty"`
}

// frameShow prints frames for `ws dial`; it is called from the reading and
// the writing goroutines.
type frameShow struct {
	mu   sync.Mutex
	out  io.Writer
	json bool
}

func (f *frameShow) frame(sent bool, h ws.Header, p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	dir := "recv"
	if sent {
		dir = "sent"
	}
	payload := p
	var code int
	if h.OpCode == ws.OpClose && len(p) >= 2 {
		code = int(p[0])<<8 | int(p[1])
		payload = p[2:]
	}
	if f.json {
		j := frameJSON{Dir: dir, OpCode: h.OpCode.String(), Fin: h.Fin, Rsv1: h.Rsv1, Masked: h.Masked, Length: h.Length, CloseCode: code}
		if h.Masked {
			j.Mask = fmt.Sprintf("%x", h.Mask)
		}
		if !h.Rsv1 && h.OpCode != ws.OpBinary && utf8.Valid(payload) {
			j.Payload = string(payload)
		} else if len(payload) > 0 {
			j.PayloadBase64 = base64.StdEncoding.EncodeToString(payload)
		}
		b, _ := json.Marshal(j)
		fmt.Fprintf(f.out, "%s\n", b)
		return
	}
	arrow := styleOK.Sprint("<")
	if sent {
		arrow = styleEvent.Sprint(">")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-12s fin=%d", arrow, styleName.Sprint(h.OpCode.String()), b2i(h.Fin))
	if h.Rsv1 {
		b.WriteString(" rsv1=1")
	}
	if h.Masked {
		fmt.Fprintf(&b, " mask=%x", h.Mask)
	} else {
		b.WriteString(" mask=-")
	}
	fmt.Fprintf(&b, " len=%d", h.Length)
	if code != 0 {
		fmt.Fprintf(&b, " code=%d (%s)", code, ws.StatusCode(code))
	}
	switch {
	case len(payload) == 0:
	case h.Rsv1:
		b.WriteString(styleDim.Sprint(" [compressed]"))
	case h.OpCode != ws.OpBinary && utf8.Valid(payload):
		fmt.Fprintf(&b, " %s", strconv.Quote(clip(string(payload), 200)))
	default:
		fmt.Fprintf(&b, " %s", styleDim.Sprintf("% x", payload[:min(len(payload), 64)]))
		if len(payload) > 64 {
			b.WriteString(styleDim.Sprint(" ..."))
		}
	}
	fmt.Fprintln(f.out, b.String())
}

// event prints a line that is not a frame (connected, closed).
func (f *frameShow) event(kind string, fields map[string]any, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.json {
		m := map[string]any{"event": kind}
		for k, v := range fields {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		fmt.Fprintf(f.out, "%s\n", b)
		return
	}
	fmt.Fprintln(f.out, styleDim.Sprint("* "+text))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func wsDial(c *cli.Context) error {
	if c.Args().Len() != 1 {
		return usagef("ws dial needs one URL (ws://host:port/path or wss://...)")
	}
	url := c.Args().First()
	if !strings.HasPrefix(url, "ws://") && !strings.HasPrefix(url, "wss://") {
		return usagef("URL %q must start with ws:// or wss://", url)
	}
	opts := &ws.DialOptions{Protocols: c.StringSlice("protocol"), Compression: c.Bool("compress")}
	if o := c.String("origin"); o != "" {
		opts.Header = http.Header{"Origin": {o}}
	}
	if c.Bool("insecure") {
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	interval, pongWait := c.Duration("ping-interval"), c.Duration("ping-timeout")
	if interval < 0 || pongWait <= 0 {
		return usagef("--ping-interval must be 0 (no pings) or more, --ping-timeout positive")
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	conn, err := ws.Dial(ctx, url, opts)
	cancel()
	if err != nil {
		return err
	}
	show := &frameShow{out: c.App.Writer, json: c.Bool("json")}
	conn.SetFrameObserver(show.frame)
	ext := ""
	if conn.Compressed() {
		ext = "permessage-deflate"
	}
	show.event("connected", map[string]any{"url": url, "subprotocol": conn.Subprotocol(), "extensions": ext},
		fmt.Sprintf("connected to %s (subprotocol %q, extensions %q)", url, conn.Subprotocol(), ext))

	pongs := make(chan struct{}, 1)
	conn.SetPongHandler(func([]byte) {
		select {
		case pongs <- struct{}{}:
		default:
		}
	})
	var dead atomic.Bool // no pong within --ping-timeout: conn closed
	// gone names the end of a connection the pinger closed.
	gone := func() error {
		return fmt.Errorf("no pong within %v of a ping: the server, or the way to it, is gone (raise --ping-timeout to wait longer)", pongWait)
	}
	readDone := make(chan error, 1)
	go func() {
		var buf []byte
		for {
			_, m, err := conn.AppendMessage(buf[:0])
			if err != nil {
				readDone <- err
				return
			}
			buf = m
		}
	}()
	stop := make(chan struct{})
	var pinger sync.WaitGroup
	defer pinger.Wait() // after close(stop)
	defer close(stop)
	if interval > 0 {
		pinger.Go(func() { wsPinger(conn, interval, pongWait, pongs, stop, &dead) })
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(c.App.Reader)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stop:
				return
			}
		}
	}()

	closing := false       // we started the closing handshake
	var sent ws.StatusCode // with this code
	finish := func(err error) error {
		var ce *ws.CloseError
		if errors.As(err, &ce) && ce.Code != ws.StatusAbnormalClosure {
			show.event("closed", map[string]any{"code": int(ce.Code), "reason": ce.Reason},
				fmt.Sprintf("closed: %d (%s) %q", ce.Code, ce.Code, ce.Reason))
			if (closing && ce.Code == sent) || wsCloseIsClean(ce.Code) {
				return nil
			}
			return fmt.Errorf("the server closed the connection with %d (%s) %q", ce.Code, ce.Code, ce.Reason)
		}
		return err
	}
	var closers sync.WaitGroup // closing handshakes started below
	defer closers.Wait()
	startClose := func(code ws.StatusCode, reason string) {
		closing, sent = true, code
		closers.Add(1)
		go func() { defer closers.Done(); conn.Close(code, reason) }()
	}
	for {
		select {
		case err := <-readDone:
			conn.CloseNow()
			if dead.Load() {
				return gone()
			}
			return finish(err)
		case <-c.Context.Done():
			if !closing {
				conn.Close(ws.StatusGoingAway, "")
			}
			return finish(<-readDone)
		case line, ok := <-lines:
			if !ok {
				lines = nil
				if !closing {
					startClose(ws.StatusNormalClosure, "")
				}
				continue
			}
			if closing {
				continue
			}
			if err := wsSendLine(conn, line, startClose); err != nil {
				if ue := (*usageError)(nil); errors.As(err, &ue) {
					show.event("error", map[string]any{"error": ue.err.Error()}, ue.err.Error())
					continue
				}
				conn.CloseNow()
				<-readDone
				if dead.Load() {
					return gone()
				}
				return err
			}
		}
	}
}

// wsPinger pings conn every interval until stop is closed. When no pong
// (on pongs) comes within timeout of a ping it sets dead and closes conn,
// which ends the read and any write blocked on a server that does not
// read. A pong to the user's /ping counts too: the server is alive.
func wsPinger(conn *ws.Conn, interval, timeout time.Duration, pongs <-chan struct{}, stop <-chan struct{}, dead *atomic.Bool) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		select {
		case <-pongs: // an earlier pong, not this ping's
		default:
		}
		// Armed before the ping: the ping itself may wait behind a write
		// blocked on the server.
		timer := time.AfterFunc(timeout, func() {
			dead.Store(true)
			conn.CloseNow()
		})
		if err := conn.Ping([]byte("wiredojo")); err != nil {
			timer.Stop()
			return // the reader sees the end
		}
		select {
		case <-pongs:
			timer.Stop()
		case <-stop:
			timer.Stop()
			return
		}
	}
}

// wsCloseIsClean tells whether a close code the server sent ends the
// session without an error: normal closure, going away (a server shutting
// down) or no code at all. Any other code (1002 protocol error, 1008 policy,
// 1011 internal error, 4xxx of the application) makes ws dial exit 1.
func wsCloseIsClean(code ws.StatusCode) bool {
	return code == ws.StatusNormalClosure || code == ws.StatusGoingAway || code == ws.StatusNoStatus
}

// wsSendLine sends one typed line (a message or a /command).
func wsSendLine(conn *ws.Conn, line string, startClose func(ws.StatusCode, string)) error {
	cmd, arg, _ := strings.Cut(line, " ")
	switch {
	case !strings.HasPrefix(line, "/"):
		return conn.WriteMessage(ws.OpText, []byte(line))
	case cmd == "/binary":
		return conn.WriteMessage(ws.OpBinary, []byte(arg))
	case cmd == "/ping":
		if len(arg) > ws.MaxControlPayload {
			return usagef("a ping carries at most %d bytes", ws.MaxControlPayload)
		}
		return conn.Ping([]byte(arg))
	case cmd == "/close":
		code := ws.StatusNormalClosure
		codeStr, reason, _ := strings.Cut(arg, " ")
		if codeStr != "" {
			n, err := strconv.Atoi(codeStr)
			if err != nil || !ws.ValidCloseCode(ws.StatusCode(n)) {
				return usagef("/close: %q is not a close code we may send (1000-1003, 1007-1011, 3000-4999)", codeStr)
			}
			code = ws.StatusCode(n)
		}
		startClose(code, reason)
		return nil
	}
	return usagef("unknown command %q (try /binary, /ping, /close)", cmd)
}
