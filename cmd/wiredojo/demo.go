package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/internal/sandbox"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/boltstore"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

func init() { register(demoCommand) }

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "a guided tour on loopback: a chat server and two scripted clients talking in a room",
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "pace", Value: 2500 * time.Millisecond, Usage: "pause `D` between steps"},
		},
		Action: demoRun,
	}
}

// Exit statuses of an interrupted demo, as a shell reports a process killed
// by SIGINT or SIGPIPE.
const (
	exitInterrupted = 130
	exitBrokenPipe  = 141
)

// demoRun runs the tour and stops everything it started (server, clients,
// capture, temporary files) when it ends, when it is interrupted (Ctrl-C:
// exit 130) and when its output goes away (`demo | head`: exit 141).
func demoRun(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usagef("demo takes no arguments, got %q", c.Args().First())
	}
	// A write to a closed pipe fails (EPIPE) instead of killing the process
	// before its deferred clean-ups run.
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	defer signal.Stop(pipe)
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	w := &demoWriter{w: c.App.Writer, broken: cancel}
	ran, code, noCapture, err := demoSandboxed(c, w) // demo_tour.go
	if ran {
		switch {
		case w.failed():
			return cli.Exit("", exitBrokenPipe)
		case err != nil:
			return err
		case code != 0:
			return cli.Exit("", code) // the demo inside said why (interrupted: 130)
		}
		return nil
	}
	err = demoTour(ctx, c.Duration("pace"), w, noCapture)
	switch {
	case w.failed():
		return cli.Exit("", exitBrokenPipe)
	case c.Context.Err() != nil:
		fmt.Fprintln(c.App.ErrWriter, "wiredojo demo: interrupted; the server, the clients and the capture are stopped, temporary files removed")
		return cli.Exit("", exitInterrupted)
	}
	return err
}

// demoWriter is the demo's output: safe for concurrent lines, and the first
// failed write (the reader went away) cancels the demo.
type demoWriter struct {
	mu     sync.Mutex
	w      io.Writer
	err    error
	broken func()
}

func (d *demoWriter) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.w.Write(p)
	if err != nil {
		d.err = err
		d.broken()
	}
	return n, err
}

func (d *demoWriter) failed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err != nil
}

// demoTour runs the tour. noCapture, when not empty, says why this process
// cannot record the demo's own packets.
func demoTour(dctx context.Context, pace time.Duration, out io.Writer, noCapture string) error {
	paint := newChatPaint()
	start := time.Now()
	line := func(who string, format string, args ...any) {
		stamp := paint.f(styleTime, "%5.1fs", time.Since(start).Seconds())
		fmt.Fprintf(out, "%s %-8s %s\n", stamp, paint.s(styleName, who), fmt.Sprintf(format, args...))
	}
	step := func(format string, args ...any) error {
		select {
		case <-dctx.Done():
			return dctx.Err()
		case <-time.After(pace):
		}
		fmt.Fprintf(out, "\n%s\n", paint.f(styleWarn, "▶ "+format, args...))
		return nil
	}

	// Durable queues live in a bbolt file, the embedded default of chat serve.
	qdir, err := os.MkdirTemp("", "wiredojo-demo-queues")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(qdir)
	queues, err := boltstore.Open(filepath.Join(qdir, "queues.db"), store.Options{})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer queues.Close()
	srv := tcpchat.NewServer(tcpchat.Options{
		Store:        queues,
		NewNamespace: builtin.Install,
		OnRoomEvent: func(e tcpchat.RoomEvent) {
			if strings.HasPrefix(e.Room, "user:") {
				return
			}
			line("server", "%s %s room %q", paint.s(styleEvent, e.Kind), e.Namespace, e.Room)
		},
	})
	// Each socket also joins a personal room, so the server can broadcast
	// to a room "except bob".
	chat := srv.Of("/chat")
	builtin.Install(chat)
	chat.OnConnection(func(s *tcpchat.Socket) { s.Join("user:" + builtin.Name(s)) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	addr := l.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		srv.Close()
		<-served
	}()
	fmt.Fprintf(out, "%s\n", paint.s(styleOK, "wiredojo demo: an event chat over plain TCP, on "+addr))
	fmt.Fprintln(out, "Every packet is a 4-byte length and a packet (docs/PROTOCOL.md); "+demoPortNote(sandbox.Inside()))
	_, port, _ := net.SplitHostPort(addr)
	capt := startDemoCapture(out, paint, port, noCapture)
	defer capt.stop()

	ctx, cancel := context.WithTimeout(dctx, 2*time.Minute)
	defer cancel()
	missed := make(chan string, 4) // durable events bob gets back
	tokens := map[string]string{}  // resume token by client id: bob's comes back with him
	join := func(name, dial string) (*tcpchat.Client, *tcpchat.ClientSocket, error) {
		cl, err := tcpchat.Dial(ctx, dial, tcpchat.ClientOptions{NoReconnect: true, ClientID: name, ResumeToken: tokens[name]})
		if err != nil {
			return nil, nil, err
		}
		tokens[name] = cl.ResumeToken()
		s := cl.Socket("/chat")
		s.OnAny(func(e *tcpchat.ClientEvent) {
			if from, room, text, ok := messageMeta(e.Args); ok {
				line(name, "hears %s in %s: %q", paint.s(styleName, from), room, text)
				return
			}
			line(name, "receives event %s %s", paint.s(styleEvent, e.Name), e.Args)
			if name == "bob" && e.Name == "news" {
				select {
				case missed <- string(e.Args):
				default:
				}
			}
		})
		if _, err := cl.Connect(ctx, "/chat", map[string]string{"name": name}); err != nil {
			cl.Close()
			return nil, nil, err
		}
		line(name, "connected to %s: session %s, socket %s in /chat", dial, cl.SessionID(), s.ID())
		return cl, s, nil
	}

	if err := step("Two clients connect, ann over framed TCP, bob over WebSocket (an HTTP upgrade on the same port): handshake, then the namespace /chat with an auth payload"); err != nil {
		return err
	}
	annC, ann, err := join("ann", addr)
	if err != nil {
		return err
	}
	defer annC.Close()
	bobC, bob, err := join("bob", "ws://"+addr+"/ws")
	if err != nil {
		return err
	}
	defer bobC.Close()

	if err := step("Both ask the server to join room \"lobby\" (rooms are server-side; the adapter reports room events)"); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		s    *tcpchat.ClientSocket
	}{{"ann", ann}, {"bob", bob}} {
		reply, err := p.s.EmitWithAck(ctx, builtin.EventJoin, "lobby")
		if err != nil {
			return err
		}
		line(p.name, "joined, ack %s", reply)
	}

	if err := step("ann sends a message to the room; the server relays it to everyone else in it"); err != nil {
		return err
	}
	reply, err := ann.EmitWithAck(ctx, builtin.EventMessage, map[string]string{"room": "lobby", "text": "hi bob!"})
	if err != nil {
		return err
	}
	line("ann", "ack: %s", reply)
	pkt := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: json.RawMessage(`[{"room":"lobby","text":"hi bob!"}]`)}
	payload := pkt.AppendTo(nil)
	fmt.Fprintf(out, "%s\n", paint.s(styleDim, "   that event on the wire (length prefix, then type 'E', flags, namespace, event name, JSON args):"))
	frame := append([]byte{0, 0, 0, byte(len(payload))}, payload...)
	for _, l := range strings.Split(strings.TrimRight(hex.Dump(frame), "\n"), "\n") {
		fmt.Fprintf(out, "   %s\n", paint.s(styleDim, l))
	}

	if err := step("bob answers; an emit with an acknowledgement gets a reply from the server"); err != nil {
		return err
	}
	if err := bob.Emit(builtin.EventMessage, map[string]string{"room": "lobby", "text": "hello ann, loud and clear"}); err != nil {
		return err
	}
	reply, err = bob.EmitWithAck(ctx, builtin.EventEcho, "ping", 42)
	if err != nil {
		return err
	}
	line("bob", "echo acked with %s", reply)

	if err := step("The server broadcasts to the room, and to everyone but bob"); err != nil {
		return err
	}
	chat.To("lobby").Emit("announcement", "the lobby closes soon")
	chat.To("lobby").Except("user:bob").Emit("tip", "only ann sees this: bob's personal room is excepted")
	for _, s := range []*tcpchat.ClientSocket{ann, bob} { // a round trip: the events arrived
		if _, err := s.EmitWithAck(ctx, builtin.EventEcho); err != nil {
			return err
		}
	}

	if err := step("The same port speaks HTTP too: the server sniffs the first bytes (GET /healthz, /metrics)"); err != nil {
		return err
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		body, err := demoGet(ctx, "http://"+addr+path)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(strings.TrimSpace(body), "\n") {
			if path == "/metrics" && (strings.HasPrefix(l, "#") || !strings.HasPrefix(l, "wiredojo_chat")) {
				continue
			}
			line("http", "GET %s → %s", path, l)
		}
	}

	if err := step("bob leaves the room and disconnects; ann leaves last, so the room is deleted"); err != nil {
		return err
	}
	if _, err := bob.EmitWithAck(ctx, builtin.EventLeave, "lobby"); err != nil {
		return err
	}
	bobC.Close()
	line("bob", "disconnected")
	if _, err := ann.EmitWithAck(ctx, builtin.EventLeave, "lobby"); err != nil {
		return err
	}

	if err := step("While bob is away the server emits twice: a plain event (at most once: ann gets it, bob misses it) and a durable one, queued for client id bob in bbolt"); err != nil {
		return err
	}
	chat.Emit("news", "plain: lost, bob was not there")
	res, err := chat.EmitDurable(ctx, tcpchat.DurableTarget{Clients: []string{"bob"}}, "news", "durable: kept for bob")
	if err != nil {
		return err
	}
	line("server", "queued %s for %d client(s)", paint.s(styleEvent, "news"), res.Recipients)
	if err := step("bob comes back with the same client id: the queue hands over what he missed, and he acknowledges it (received)"); err != nil {
		return err
	}
	bobC, _, err = join("bob", addr)
	if err != nil {
		return err
	}
	defer bobC.Close()
	select {
	case <-missed:
	case <-time.After(5 * time.Second):
		return errors.New("demo: bob's queued event did not arrive")
	}

	if err := step("Graceful shutdown: every client is told, then the server stops"); err != nil {
		return err
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	<-annC.Done()
	line("ann", "connection ended: %v", annC.Err())
	if err := <-served; !errors.Is(err, tcpchat.ErrServerClosed) {
		return err
	}
	served <- tcpchat.ErrServerClosed
	if err := capt.show(out, paint, step); err != nil {
		return err
	}
	if err := demoCompare(ctx, out, paint, step); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s\n", paint.f(styleOK, "Done in %.0f s.", time.Since(start).Seconds()))
	demoNext(out, paint)
	return nil
}

func demoGet(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "", err
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// demoPortNote ends the line that says how a packet looks with who can
// join on the demo's port. Inside a sandbox (when not root the whole demo
// runs in a one-shot one) the port is on the sandbox's own loopback, which
// nothing on this machine reaches: it says so, and names the server the
// student can run here instead.
func demoPortNote(sandboxed bool) string {
	if !sandboxed {
		return "a browser or a WebSocket client joins on the same port at /ws."
	}
	return "the same port serves WebSocket at /ws,\n" +
		"but this demo runs in a private sandbox: a browser on this machine cannot reach its port.\n" +
		"To try the chat from a browser, run `wiredojo chat serve` (no root needed) and open http://127.0.0.1:7070/."
}
