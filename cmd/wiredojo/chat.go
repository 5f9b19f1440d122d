package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fatih/color"
	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/socketio/client"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
)

func init() { register(chatCommand) }

func chatAddrFlag() cli.Flag {
	return &cli.StringFlag{Name: "addr", Value: "127.0.0.1:7070", EnvVars: []string{"WIREDOJO_ADDR"}, Usage: "server `HOST:PORT`"}
}

// chatAddrsFlag is --addr of the commands that connect to a server: one
// address, or several nodes of one service comma-separated.
func chatAddrsFlag() cli.Flag {
	return &cli.StringFlag{Name: "addr", Value: "127.0.0.1:7070", EnvVars: []string{"WIREDOJO_ADDR"},
		Usage: "server `HOST:PORT` (or a ws:// URL, or a Socket.IO server's socketio://HOST:PORT[/NS] or http://HOST:PORT/socket.io/, with ?transport=websocket or ?transport=polling for that transport only); several nodes of one service (chat serve --redis) comma-separated: tried in turn at start and whenever the connection is lost"}
}

// chatAddrs splits --addr into the addresses to dial, in order.
func chatAddrs(addr string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(addr, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			return nil, usagef("--addr %q: an empty address; give HOST:PORT, or several separated by commas", addr)
		}
		if tcpchat.IsSocketIOURL(a) {
			if _, err := client.Namespace(a); err != nil {
				return nil, usagef("--addr: %v", err)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// chatNS returns --ns, or, when it is not given, the namespace a
// socketio:// --addr names.
func chatNS(c *cli.Context, addr string) (string, error) {
	ns := c.String("ns")
	if u, err := url.Parse(addr); err == nil && !c.IsSet("ns") && strings.EqualFold(u.Scheme, "socketio") && u.Path != "" {
		if n, err := client.Namespace(addr); err == nil {
			ns = n
		}
	}
	if !strings.HasPrefix(ns, "/") || len(ns) > 255 {
		return "", usagef("--ns %q: a namespace starts with / and has at most 255 bytes", ns)
	}
	return ns, nil
}

func chatNSFlag(def string) cli.Flag {
	return &cli.StringFlag{Name: "ns", Value: def, EnvVars: []string{"WIREDOJO_NS"}, Usage: "namespace `NS` (starts with /)"}
}

func chatTokenFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "token", EnvVars: []string{"WIREDOJO_TOKEN"}, Usage: usage}
}

// chatNameFlag is --name of chat client and chat emit: the auth payload's
// name, shown as the sender of messages (the browser page shows it too).
func chatNameFlag() cli.Flag {
	return &cli.StringFlag{Name: "name", EnvVars: []string{"WIREDOJO_NAME", "USER"}, Value: "anon", Usage: "your `NAME` as others see it"}
}

// chatMaxFrameFlag is --max-frame: chat serve's bound on what clients
// send, a client command's on what the server sends.
func chatMaxFrameFlag(usage string) cli.Flag {
	return &cli.IntFlag{Name: "max-frame", Value: framing.DefaultMaxFrame, EnvVars: []string{"WIREDOJO_MAX_FRAME"}, Usage: usage}
}

// chatClientMaxFrameUsage is the usage of the client commands'
// --max-frame.
const chatClientMaxFrameUsage = "largest frame (over ws:// or Socket.IO: message) in `BYTES` accepted from the server; a server whose --max-frame is larger may relay larger ones"

// chatMaxFrame returns --max-frame, refused below 64 bytes (the
// handshake's packets would not fit).
func chatMaxFrame(c *cli.Context) (int, error) {
	n := c.Int("max-frame")
	if n < 64 {
		return 0, usagef("--max-frame %d is too small; give at least 64 bytes", n)
	}
	return n, nil
}

func chatRoomFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "room", EnvVars: []string{"WIREDOJO_ROOM"}, Usage: usage}
}

func chatCommand() *cli.Command {
	return &cli.Command{
		Name:  "chat",
		Usage: "the event chat over framed TCP: server, interactive client, one-shot emit, listener",
		Subcommands: []*cli.Command{
			{
				Name:  "serve",
				Usage: "run a chat server (framed TCP, plus HTTP /healthz and /metrics on the same port)",
				Description: "Any namespace a client asks for (that --namespaces matches) is created with the built-in handlers: join/leave a room\n" +
					"(events \"join\"/\"leave\" with the room name), \"message\" relayed to the sender's rooms,\n" +
					"\"echo\" answered with an ack, and any other event relayed to the sender's rooms (or the\n" +
					"namespace). Stop with Ctrl-C: the server shuts down gracefully.",
				Flags: append([]cli.Flag{
					chatAddrFlag(),
					chatTokenFlag("require `TOKEN` in every client's handshake"),
					chatMaxFrameFlag("largest frame payload in `BYTES` a client may send"),
					&cli.IntFlag{Name: "send-queue", Value: tcpchat.DefaultSendQueue, EnvVars: []string{"WIREDOJO_SEND_QUEUE"}, Usage: "at most `N` packets queued per connection (a Socket.IO session's own queue too)"},
					&cli.IntFlag{Name: "send-queue-bytes", Value: tcpchat.DefaultSendQueueBytes, EnvVars: []string{"WIREDOJO_SEND_QUEUE_BYTES"}, Usage: "at most `BYTES` of packets queued per connection (a broadcast counts in each queue; a connection with nothing queued or being written still takes one packet of any size); a full queue slows its senders, then cuts the receiver as with --send-queue; at most 1 GiB; -1: no limit"},
					&cli.DurationFlag{Name: "slow-consumer-wait", Value: tcpchat.DefaultSlowConsumerWait, EnvVars: []string{"WIREDOJO_SLOW_CONSUMER_WAIT"}, Usage: "how long (`D`) a send waits for room in a full queue, slowing its sender, before the receiver is cut as a slow consumer; 0 cuts at once"},
					&cli.Float64Flag{Name: "rate-limit", Value: tcpchat.DefaultRateLimit, EnvVars: []string{"WIREDOJO_RATE_LIMIT"}, Usage: "`PACKETS` per second a connection may send (bursts up to 2000 or one second's worth); 0 turns the limit off"},
					&cli.IntFlag{Name: "max-conns", Value: 10000, EnvVars: []string{"WIREDOJO_MAX_CONNS"}, Usage: "at most `N` sockets (and Socket.IO polling sessions) open at once (also: the descriptor limit less 64); over it new clients are refused, /healthz and /metrics still answer; 0: only the descriptor limit"},
					&cli.IntFlag{Name: "max-conns-per-addr", Value: 256, EnvVars: []string{"WIREDOJO_MAX_CONNS_PER_ADDR"}, Usage: "at most `N` sockets (and Socket.IO polling sessions) open from one address (IPv6: one /64); 0: no limit"},
					&cli.Float64Flag{Name: "conn-rate-per-addr", Value: 50, EnvVars: []string{"WIREDOJO_CONN_RATE_PER_ADDR"}, Usage: "at most `N` connection attempts (sockets, Socket.IO polling handshakes) per second from one address (bursts of twice that); 0: no limit"},
					&cli.Float64Flag{Name: "event-rate-per-addr", Value: 4000, EnvVars: []string{"WIREDOJO_EVENT_RATE_PER_ADDR"}, Usage: "at most `N` packets per second from one address over all its connections (bursts of twice that); faster senders are read more slowly, not cut; 0: no limit"},
					&cli.StringFlag{Name: "namespaces", Value: "/*", EnvVars: []string{"WIREDOJO_NAMESPACES"}, Usage: "clients may open the namespaces whose names match the glob `PATTERN` (/* : any one-level name such as /chat); each is freed when its last client leaves"},
					&cli.IntFlag{Name: "max-namespaces", Value: tcpchat.DefaultMaxNamespaces, EnvVars: []string{"WIREDOJO_MAX_NAMESPACES"}, Usage: "at most `N` namespaces opened by clients at once; 0: no limit"},
					&cli.IntFlag{Name: "max-namespaces-per-conn", Value: tcpchat.DefaultMaxNamespacesPerConn, EnvVars: []string{"WIREDOJO_MAX_NAMESPACES_PER_CONN"}, Usage: "at most `N` namespaces one connection (a Socket.IO session too) is in at once; a connect over it gets a connect-error; 0: no limit"},
					&cli.IntFlag{Name: "max-rooms-per-conn", Value: tcpchat.DefaultMaxRoomsPerConn, EnvVars: []string{"WIREDOJO_MAX_ROOMS_PER_CONN"}, Usage: "at most `N` rooms one connection (a Socket.IO session too) is in over all its namespaces (a room with presence notices counts twice; a client id's rooms given back on connect count, all given back); a join over it is refused with an error; 0: no limit"},
					&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, EnvVars: []string{"WIREDOJO_VERBOSE"}, Usage: "print room events (create/delete/join/leave-room), connections and closes"},
					&cli.StringFlag{Name: "pprof", EnvVars: []string{"WIREDOJO_PPROF"}, Usage: "debugging: serve Go's profiles (/debug/pprof/) on `HOST:PORT`, a listener of its own; keep it on loopback"},
					chatServeMemoryFlag(), // chat_memory.go
				}, append(append(chatServeWSFlags(), chatServeQueueFlags()...), chatServeSocketIOFlags()...)...), // chat_ws.go, chat_queue.go, chat_socketio.go
				Action: chatServe,
			},
			{
				Name:  "client",
				Usage: "interactive chat: a typed line sends a message to the current room",
				Description: "Commands: /join ROOM, /leave ROOM, /emit EVENT JSON..., /ack EVENT JSON... (prints the reply),\n" +
					"/quit. Anything else is sent as a \"message\" to the current room.",
				Flags: append([]cli.Flag{
					chatAddrsFlag(), chatNSFlag("/chat"), chatTokenFlag("server access `TOKEN`"),
					chatRoomFlag("join `ROOM` at start and make it the current room"),
					chatNameFlag(), chatMaxFrameFlag(chatClientMaxFrameUsage),
				}, chatClientWSFlags()...), // chat_ws.go
				Action: chatClient,
			},
			{
				Name:      "emit",
				Usage:     "send one event and exit",
				ArgsUsage: "[JSON ...] (each argument one JSON value)",
				Flags: append([]cli.Flag{
					chatAddrsFlag(), chatNSFlag("/chat"), chatTokenFlag("server access `TOKEN`"),
					&cli.StringFlag{Name: "event", Aliases: []string{"e"}, Usage: "event `NAME` (required)"},
					chatRoomFlag("join `ROOM` first, so the built-in relay reaches its members (with --durable: the room's durable members; a server's --durable-scope rooms lets --to reach only client ids in the rooms you are in)"),
					chatNameFlag(),
					&cli.BoolFlag{Name: "ack", Usage: "ask for an acknowledgement and print it"},
					&cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "give up after `D`"},
					chatMaxFrameFlag(chatClientMaxFrameUsage),
				}, append(chatEmitDurableFlags(), chatClientWSFlags()...)...), // chat_queue.go, chat_ws.go
				Action: chatEmit,
			},
			{
				Name:  "listen",
				Usage: "print every event received until interrupted",
				Description: "Prints each event this connection receives, one line each (--json: one object): what\n" +
					"the server broadcasts to the namespace, what the built-in relay sends to the rooms it\n" +
					"joined (--room: every message and event its other members send there, so a listener in a\n" +
					"room hears the room's traffic), and with --client-id its durable queue, acknowledging each.\n" +
					"It hears nothing it sends itself, and nothing said in rooms it has not joined.\n" +
					"A server with a store gives a client id's first connection a resume token and refuses\n" +
					"the id to connections without it; the token is kept in\n" +
					"$XDG_STATE_HOME/wiredojo/client-tokens.json and given back on the next listen.",
				Flags: append([]cli.Flag{
					chatAddrsFlag(), chatNSFlag("/chat"), chatTokenFlag("server access `TOKEN`"),
					chatRoomFlag("join `ROOM`"),
					&cli.BoolFlag{Name: "json", Usage: `one JSON object per event: {"ns","event","args","room","id","offset","redelivered"}`},
					&cli.StringFlag{Name: "client-id", EnvVars: []string{"WIREDOJO_CLIENT_ID"}, Usage: "connect as `CLIENT-ID`: receive its durable queue, acknowledge each event after printing it, and keep its rooms while away"},
					&cli.StringFlag{Name: "resume-token", EnvVars: []string{"WIREDOJO_RESUME_TOKEN"}, Usage: "the client id's resume `TOKEN` (default: the one kept from its last listen); it is kept for the next"},
					chatMaxFrameFlag(chatClientMaxFrameUsage),
				}, chatClientWSFlags()...), // chat_ws.go
				Action: chatListen,
			},
			chatQueueCommand(), // chat_queue.go
		},
	}
}

// chatPaint applies the palette with the colour decision taken once, when
// the command starts: goroutines that print later never read the global
// setting again.
type chatPaint struct{ on bool }

func newChatPaint() chatPaint { return chatPaint{on: !color.NoColor} }

func (p chatPaint) s(c *color.Color, a ...any) string {
	if !p.on {
		return fmt.Sprint(a...)
	}
	return c.Sprint(a...)
}

func (p chatPaint) f(c *color.Color, format string, a ...any) string {
	if !p.on {
		return fmt.Sprintf(format, a...)
	}
	return c.Sprintf(format, a...)
}

// lockedWriter serialises writes from the server's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// offIfZero maps a limit flag's 0 (off) to tcpchat.Options' no cap
// (negative; there 0 takes the default).
func offIfZero(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

func chatServe(c *cli.Context) error {
	paint := newChatPaint()
	if c.Args().Len() > 0 {
		return usagef("chat serve takes no arguments, got %q", c.Args().First())
	}
	maxFrame, err := chatMaxFrame(c)
	if err != nil {
		return err
	}
	scope, err := builtin.ParseDurableScope(c.String("durable-scope"))
	if err != nil {
		return usagef("--durable-scope %q: give rooms, any or local", c.String("durable-scope"))
	}
	install := builtin.Installer(scope)
	out := &lockedWriter{w: c.App.Writer}
	verbose := c.Bool("verbose")
	stamp := func() string { return paint.s(styleTime, time.Now().Format("15:04:05")) }
	opts := tcpchat.Options{
		MaxFrame:         maxFrame,
		SendQueue:        c.Int("send-queue"),
		SendQueueBytes:   c.Int("send-queue-bytes"),
		SlowConsumerWait: c.Duration("slow-consumer-wait"),
		RateLimit:        c.Float64("rate-limit"),
		Token:            c.String("token"),
		NewNamespace:     install,
	}
	opts.NamespacePattern, opts.MaxNamespaces = c.String("namespaces"), c.Int("max-namespaces")
	if _, err := path.Match(opts.NamespacePattern, "/"); err != nil || !strings.HasPrefix(opts.NamespacePattern, "/") || opts.MaxNamespaces < 0 {
		return usagef("chat serve: --namespaces takes a glob starting with / (e.g. /*), --max-namespaces a number (0: no limit)")
	}
	opts.MaxNamespaces = offIfZero(opts.MaxNamespaces)
	opts.MaxNamespacesPerConn, opts.MaxRoomsPerConn = c.Int("max-namespaces-per-conn"), c.Int("max-rooms-per-conn")
	if opts.MaxNamespacesPerConn < 0 || opts.MaxRoomsPerConn < 0 {
		return usagef("chat serve: --max-namespaces-per-conn and --max-rooms-per-conn must not be negative (0 turns each off)")
	}
	opts.MaxNamespacesPerConn = offIfZero(opts.MaxNamespacesPerConn)
	opts.MaxRoomsPerConn = offIfZero(opts.MaxRoomsPerConn)
	opts.MaxConnections, opts.MaxConnsPerAddr = c.Int("max-conns"), c.Int("max-conns-per-addr")
	opts.ConnRatePerAddr, opts.EventRatePerAddr = c.Float64("conn-rate-per-addr"), c.Float64("event-rate-per-addr")
	if opts.MaxConnections < 0 || opts.MaxConnsPerAddr < 0 || opts.ConnRatePerAddr < 0 || opts.EventRatePerAddr < 0 {
		return usagef("chat serve: --max-conns, --max-conns-per-addr, --conn-rate-per-addr and --event-rate-per-addr must not be negative (0 turns each off)")
	}
	if opts.SendQueue < 1 {
		return usagef("chat serve: --send-queue must be at least 1, not %d", opts.SendQueue)
	}
	if opts.SendQueueBytes == 0 || opts.SendQueueBytes < -1 || opts.SendQueueBytes > tcpchat.MaxSendQueueBytes {
		return usagef("chat serve: --send-queue-bytes must be from 1 to %d, or -1 (no limit), not %d", tcpchat.MaxSendQueueBytes, opts.SendQueueBytes)
	}
	if c.Duration("release-idle") < 0 {
		return usagef("chat serve: --release-idle must not be negative (0 turns it off)")
	}
	switch {
	case opts.SlowConsumerWait < 0:
		return usagef("chat serve: --slow-consumer-wait must not be negative (0 cuts at once)")
	case opts.SlowConsumerWait == 0:
		opts.SlowConsumerWait = -1 // Options: negative cuts at once
	}
	switch {
	case opts.RateLimit < 0:
		return usagef("chat serve: --rate-limit must not be negative (0 turns it off)")
	case opts.RateLimit == 0:
		opts.RateLimit = -1 // Options: negative turns the limit off
	}
	if err := applyChatServeWS(c, &opts); err != nil { // chat_ws.go
		return err
	}
	queue, err := applyChatServeQueue(c, &opts) // chat_queue.go
	if err != nil {
		return err
	}
	defer queue.Close()
	if err := applyChatServeSocketIO(c, &opts); err != nil { // chat_socketio.go
		return err
	}
	if verbose {
		opts.Logf = func(format string, args ...any) {
			fmt.Fprintf(out, "%s %s\n", stamp(), paint.f(styleDim, format, args...))
		}
		opts.OnClose = func(ci tcpchat.CloseInfo) {
			why := "closed by the client"
			if ci.Reason != nil && !errors.Is(ci.Reason, io.EOF) {
				why = ci.Reason.Error()
			}
			fmt.Fprintf(out, "%s %s\n", stamp(), paint.f(styleDim, "tcpchat: %s: session %s closed: %s", ci.Remote, ci.SessionID, why))
		}
		opts.OnRoomEvent = func(e tcpchat.RoomEvent) {
			who := ""
			if e.SocketID != "" {
				who = " socket " + e.SocketID
			}
			if e.Node != "" { // mirrored from the node it happened on (--redis)
				who += " on node " + e.Node + " (another node's room)"
			}
			fmt.Fprintf(out, "%s %s %s room %q%s\n", stamp(), paint.s(styleEvent, e.Kind), e.Namespace, e.Room, who)
		}
	}
	srv := tcpchat.NewServer(opts)
	if !c.Bool("socketio-test") {
		install(srv.Of("/"))
	}
	closeSocketIO := startChatServeSocketIO(c, srv, &opts)
	defer closeSocketIO()
	if a := c.String("pprof"); a != "" {
		where, stop, err := servePprof(a)
		if err != nil {
			return fmt.Errorf("chat serve: --pprof: %w", err)
		}
		defer stop()
		fmt.Fprintf(out, "chat: profiles on http://%s/debug/pprof/\n", where)
	}
	l, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		return fmt.Errorf("chat serve: %w (is another server using the port? pick one with --addr)", err)
	}
	// "serving on" comes last: whoever waits for it (a lab's set-up, a
	// reader told to go on when it shows) has the whole start-up above it.
	fmt.Fprintf(out, "chat: durable queues in %s\n", queue.where)
	chatServeWSBanner(out, l.Addr(), &opts)
	chatServeSocketIOBanner(out, l.Addr(), c)
	fmt.Fprintf(out, "chat: serving on %s (framed TCP; HTTP /healthz /metrics); Ctrl-C to stop\n", l.Addr())
	if d := c.Duration("release-idle"); d > 0 {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); releaseWhenIdle(stop, srv, d) }() // chat_memory.go
		defer wg.Wait()
		defer close(stop)
	}
	// Collect the start-up's garbage before serving: otherwise the first
	// collection comes at the runtime's least heap goal (4 MB), which the
	// start-up alone nearly fills, under the first clients' traffic; after
	// this one the goal follows what the server really holds.
	runtime.GC()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-c.Context.Done():
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(ctx)
	if serr := <-done; !errors.Is(serr, tcpchat.ErrServerClosed) {
		return serr
	}
	fmt.Fprintln(out, "chat: server stopped")
	return err
}

// chatDial connects and joins the namespace, with usage errors for bad
// flags.
func chatDial(c *cli.Context, ctx context.Context, auth any, opts tcpchat.ClientOptions) (*tcpchat.Client, *tcpchat.ClientSocket, error) {
	opts.Token = c.String("token")
	addrs, err := chatClientAddrs(c, &opts)
	if err != nil {
		return nil, nil, err
	}
	ns, err := chatNS(c, addrs[0])
	if err != nil {
		return nil, nil, err
	}
	opts.Addrs = addrs[1:]
	cl, err := tcpchat.Dial(ctx, addrs[0], opts)
	if err != nil {
		return nil, nil, err
	}
	sock, err := cl.Connect(ctx, ns, auth)
	if err != nil {
		cl.Close()
		return nil, nil, err
	}
	return cl, sock, nil
}

// parseJSONArgs turns command-line arguments into JSON values.
func parseJSONArgs(args []string) ([]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		if !json.Valid([]byte(a)) {
			return nil, usagef("argument %d is not JSON: %q (quote strings: '\"hello\"')", i+1, a)
		}
		out[i] = json.RawMessage(a)
	}
	return out, nil
}

func chatEmit(c *cli.Context) error {
	args, err := parseJSONArgs(c.Args().Slice())
	if err != nil {
		return err
	}
	event := c.String("event")
	if len(event) == 0 || len(event) > 255 {
		return usagef("chat emit needs --event NAME (1 to 255 bytes)")
	}
	if d := c.Duration("timeout"); d <= 0 {
		return usagef("--timeout %v: give a time above 0, e.g. 5s", d)
	}
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	defer cancel()
	cl, sock, err := chatDial(c, ctx, map[string]string{"name": c.String("name")}, tcpchat.ClientOptions{NoReconnect: true})
	if err != nil {
		return err
	}
	defer cl.Close()
	durable := c.Bool("durable")
	switch {
	case durable && c.IsSet("from") && len(args) > 0:
		return usagef("chat emit --from reads the arguments from its lines: drop the JSON arguments")
	case !durable && (c.IsSet("from") || c.IsSet("window")):
		return usagef("--from and --window stream durable emits: add --durable")
	case !durable && len(c.StringSlice("to")) > 0:
		return usagef("--to names durable recipients: add --durable")
	}
	// In the room first: the built-in relay sends to the sender's rooms,
	// and a server's --durable-scope may let a durable emit reach only them.
	if room := c.String("room"); room != "" {
		if _, err := sock.EmitWithAck(ctx, builtin.EventJoin, room); err != nil {
			return fmt.Errorf("chat emit: join room %q: %w", room, err)
		}
	}
	if durable && c.IsSet("from") {
		return chatEmitDurableFrom(c, sock, event) // chat_queue.go
	}
	if durable {
		return chatEmitDurable(c, ctx, sock, event, args) // chat_queue.go
	}
	if !c.Bool("ack") {
		if err := sock.Emit(event, args...); err != nil {
			return fmt.Errorf("chat emit: %w", err)
		}
		emitResult(c, sock, event, "sent, no ack asked (--ack waits for one)")
		return nil
	}
	reply, err := sock.EmitWithAck(ctx, event, args...)
	if err != nil {
		if errors.Is(err, tcpchat.ErrNoAck) { // the connection ended: the server may have said why
			select {
			case <-cl.Done(): // soon after the loss: no reconnecting
				if why := cl.Err(); why != nil {
					return fmt.Errorf("chat emit: %w", why)
				}
			case <-ctx.Done():
			}
		}
		return fmt.Errorf("chat emit: %w (does the server handle %q with an ack?)", err, event)
	}
	emitResult(c, sock, event, "ack "+string(reply))
	return nil
}

// emitResult prints the one line every `chat emit` ends with:
// "emitted EVENT on NS [in room ROOM]: RESULT".
func emitResult(c *cli.Context, sock *tcpchat.ClientSocket, event, result string) {
	where := sock.Namespace()
	if room := c.String("room"); room != "" {
		where += " in room " + room
	}
	fmt.Fprintf(c.App.Writer, "emitted %s on %s: %s\n", event, where, result)
}

// listenRecord is one line of `chat listen --json`.
type listenRecord struct {
	NS    string          `json:"ns"`
	Event string          `json:"event"`
	Args  json.RawMessage `json:"args"`
	Room  string          `json:"room,omitempty"`
	ID    string          `json:"id,omitempty"` // message id of a durable event
	// Durable events only.
	Offset      uint64 `json:"offset,omitempty"`
	Redelivered bool   `json:"redelivered,omitempty"`
}

// messageMeta reads the sender and room of a built-in chat message.
func messageMeta(args json.RawMessage) (from, room, text string, ok bool) {
	var a []builtin.ChatMessage
	if json.Unmarshal(args, &a) != nil || len(a) == 0 || a[0].From == "" {
		return "", "", "", false
	}
	return a[0].From, a[0].Room, a[0].Text, true
}

func chatListen(c *cli.Context) error {
	paint := newChatPaint()
	if c.Args().Len() > 0 {
		return usagef("chat listen takes no arguments, got %q", c.Args().First())
	}
	out := &lockedWriter{w: c.App.Writer}
	asJSON := c.Bool("json")
	room := c.String("room")
	opts := tcpchat.ClientOptions{
		Logf: func(format string, args ...any) {
			fmt.Fprintf(c.App.ErrWriter, format+"\n", withHints(c.Command, args)...)
		},
		ClientID: c.String("client-id"),
	}
	if id := opts.ClientID; c.IsSet("client-id") && (id == "" || len(id) > 255) {
		return usagef("--client-id %q: give 1 to 255 bytes", id)
	}
	var tokens clientTokens
	if opts.ClientID != "" {
		var err error
		if tokens, err = openClientTokens(); err != nil {
			return err
		}
		if opts.ResumeToken = c.String("resume-token"); opts.ResumeToken == "" {
			if opts.ResumeToken, err = tokens.get(opts.ClientID); err != nil {
				return err
			}
		}
	} else if c.IsSet("resume-token") {
		return usagef("--resume-token goes with --client-id")
	}
	ctx, cancel := context.WithTimeout(c.Context, 10*time.Second)
	defer cancel()
	var cl *tcpchat.Client
	var sock *tcpchat.ClientSocket
	opts.Token = c.String("token")
	addrs, err := chatClientAddrs(c, &opts)
	if err != nil {
		return err
	}
	ns, err := chatNS(c, addrs[0])
	if err != nil {
		return err
	}
	opts.Addrs = addrs[1:]
	cl, err = tcpchat.Dial(ctx, addrs[0], opts)
	if err != nil {
		return err
	}
	defer cl.Close()
	if tok := cl.ResumeToken(); opts.ClientID != "" && tok != "" {
		if err := tokens.put(opts.ClientID, tok); err != nil {
			return err
		}
	}
	sock = cl.Socket(ns)
	sock.OnAny(func(e *tcpchat.ClientEvent) {
		_, mroom, _, _ := messageMeta(e.Args)
		if asJSON {
			b, _ := json.Marshal(listenRecord{NS: e.Namespace, Event: e.Name, Args: nonEmptyArgs(e.Args), Room: mroom,
				ID: e.MessageID, Offset: e.Offset, Redelivered: e.Redelivered})
			fmt.Fprintf(out, "%s\n", b)
			return
		}
		mark := ""
		if e.Redelivered {
			mark = " " + paint.s(styleWarn, "(redelivered)")
		}
		fmt.Fprintf(out, "%s %s %s %s%s\n", paint.s(styleTime, time.Now().Format("15:04:05")), e.Namespace, paint.s(styleEvent, e.Name), nonEmptyArgs(e.Args), mark)
	})
	joined := make(chan error, 1)
	sock.OnConnect(func(s *tcpchat.ClientSocket) {
		if room == "" {
			return
		}
		go func() { // not on the reading goroutine: it waits for an ack
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := s.EmitWithAck(ctx, builtin.EventJoin, room)
			select {
			case joined <- err:
			default:
			}
		}()
	})
	if _, err := cl.Connect(ctx, ns, nil); err != nil {
		return err
	}
	for room != "" {
		select {
		case err := <-joined:
			if errors.Is(err, tcpchat.ErrNoAck) {
				// The connection ended before the server answered (a node
				// stopping): the client connects again, to another of
				// --addr if there are several, and OnConnect joins again.
				continue
			}
			if err != nil {
				return fmt.Errorf("chat listen: join room %q: %w", room, err)
			}
		case <-cl.Done():
			return fmt.Errorf("chat listen: join room %q: %w", room, cl.Err())
		case <-ctx.Done():
			return fmt.Errorf("chat listen: join room %q: %w", room, ctx.Err())
		}
		break
	}
	where := ns
	if room != "" {
		where += " room " + room
	}
	fmt.Fprintf(c.App.ErrWriter, "chat: listening on %s at %s; Ctrl-C to stop\n", where, cl.Addr())
	select {
	case <-c.Context.Done():
		return nil
	case <-cl.Done():
		return cl.Err()
	}
}

func nonEmptyArgs(a json.RawMessage) json.RawMessage {
	if len(a) == 0 {
		return json.RawMessage("[]")
	}
	return a
}

// chatClientAddrs returns the addresses of `chat client`, `emit` and
// `listen` after --max-frame and the WebSocket and TLS flags (chat_ws.go)
// are applied.
// With several, each is a HOST:PORT or each a ws:// or wss:// URL: --ws
// does not rewrite a list.
func chatClientAddrs(c *cli.Context, opts *tcpchat.ClientOptions) ([]string, error) {
	maxFrame, err := chatMaxFrame(c)
	if err != nil {
		return nil, err
	}
	opts.MaxFrame = maxFrame
	addrs, err := chatAddrs(c.String("addr"))
	if err != nil {
		return nil, err
	}
	if len(addrs) > 1 && c.Bool("ws") {
		for _, a := range addrs {
			if !tcpchat.IsWebSocketURL(a) {
				return nil, usagef("--ws with several addresses: write each as a URL (ws://%s%s,...)", a, tcpchat.WebSocketPath)
			}
		}
	}
	addr, err := applyChatClientWS(c, opts) // chat_ws.go: reads --addr whole
	if err != nil {
		return nil, err
	}
	if len(addrs) == 1 {
		return []string{addr}, nil
	}
	return addrs, nil
}

func chatClient(c *cli.Context) error {
	paint := newChatPaint()
	if c.Args().Len() > 0 {
		return usagef("chat client takes no arguments, got %q", c.Args().First())
	}
	out := &lockedWriter{w: c.App.Writer}
	name := c.String("name")
	stamp := func() string { return paint.s(styleTime, time.Now().Format("15:04:05")) }
	say := func(format string, args ...any) { fmt.Fprintf(out, "%s %s\n", stamp(), fmt.Sprintf(format, args...)) }

	var mu sync.Mutex
	var quitting atomic.Bool
	defer quitting.Store(true)
	current := c.String("room")
	rooms := map[string]bool{}
	if current != "" {
		rooms[current] = true
	}
	opts := tcpchat.ClientOptions{
		OnState: func(up bool, err error) {
			if !up && c.Context.Err() == nil && !quitting.Load() {
				say("%s", paint.f(styleWarn, "connection lost (%v); reconnecting…", withHints(c.Command, []any{err})...))
			}
		},
	}
	addrs, err := chatClientAddrs(c, &opts)
	if err != nil {
		return err
	}
	ns, err := chatNS(c, addrs[0])
	if err != nil {
		return err
	}
	opts.Addrs = addrs[1:]
	ctx, cancel := context.WithTimeout(c.Context, 10*time.Second)
	opts.Token = c.String("token")
	cl, err := tcpchat.Dial(ctx, addrs[0], opts)
	cancel()
	if err != nil {
		return err
	}
	defer func() { quitting.Store(true); cl.Close() }()
	sock := cl.Socket(ns)
	sock.OnAny(func(e *tcpchat.ClientEvent) {
		if from, room, text, ok := messageMeta(e.Args); ok && e.Name == builtin.EventMessage {
			where := ""
			if room != "" {
				where = paint.f(styleDim, " [%s]", room)
			}
			say("%s%s: %s", paint.s(styleName, from), where, text)
			return
		}
		say("%s %s", paint.s(styleEvent, e.Name), nonEmptyArgs(e.Args))
	})
	sock.OnConnect(func(s *tcpchat.ClientSocket) {
		mu.Lock()
		var rs []string
		for r := range rooms {
			rs = append(rs, r)
		}
		mu.Unlock()
		say("%s", paint.f(styleOK, "connected to %s%s as %s", s.Client().Addr(), ns, name))
		for _, r := range rs {
			s.Emit(builtin.EventJoin, r) // rooms are server-side: join again after a reconnect
		}
	})
	ctx, cancel = context.WithTimeout(c.Context, 10*time.Second)
	_, err = cl.Connect(ctx, ns, map[string]string{"name": name})
	cancel()
	if err != nil {
		return err
	}
	say("%s", paint.s(styleDim, "type a message, or /join ROOM, /leave ROOM, /emit EVENT JSON, /ack EVENT JSON, /quit"))

	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(c.App.Reader)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-c.Context.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	ackCtx := func() (context.Context, context.CancelFunc) { return context.WithTimeout(c.Context, 5*time.Second) }
	for {
		var line string
		select {
		case <-c.Context.Done():
			return nil
		case err := <-readErr:
			return err // end of input: leave
		case <-cl.Done():
			return cl.Err()
		case line = <-lines:
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		cmd, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch cmd {
		case "/quit", "/exit":
			return nil
		case "/join", "/leave":
			if rest == "" {
				say("%s", paint.f(styleErr, "usage: %s ROOM", cmd))
				continue
			}
			ctx, cancel := ackCtx()
			reply, err := sock.EmitWithAck(ctx, cmd[1:], rest)
			cancel()
			if err != nil {
				say("%s", paint.s(styleErr, err))
				continue
			}
			mu.Lock()
			if cmd == "/join" {
				rooms[rest], current = true, rest
			} else {
				delete(rooms, rest)
				if current == rest {
					current = ""
				}
			}
			mu.Unlock()
			say("%s %s", paint.s(styleOK, cmd[1:]), reply)
		case "/emit", "/ack":
			event, argText, _ := strings.Cut(rest, " ")
			if event == "" {
				say("%s", paint.f(styleErr, "usage: %s EVENT [JSON]", cmd))
				continue
			}
			var args []any
			if argText = strings.TrimSpace(argText); argText != "" {
				if !json.Valid([]byte(argText)) {
					say("%s", paint.f(styleErr, "not JSON: %s (quote strings: \"hi\")", argText))
					continue
				}
				args = append(args, json.RawMessage(argText))
			}
			if cmd == "/emit" {
				if err := sock.Emit(event, args...); err != nil {
					say("%s", paint.s(styleErr, err))
				}
				continue
			}
			ctx, cancel := ackCtx()
			reply, err := sock.EmitWithAck(ctx, event, args...)
			cancel()
			if err != nil {
				say("%s", paint.s(styleErr, err))
				continue
			}
			say("%s %s", paint.s(styleOK, "ack"), reply)
		default:
			if strings.HasPrefix(cmd, "/") {
				say("%s", paint.f(styleErr, "unknown command %s; try /join, /leave, /emit, /ack, /quit", cmd))
				continue
			}
			mu.Lock()
			room := current
			mu.Unlock()
			var arg any = line
			if room != "" {
				arg = map[string]string{"room": room, "text": line}
			}
			if err := sock.Emit(builtin.EventMessage, arg); err != nil {
				say("%s", paint.s(styleErr, err))
			}
		}
	}
}

// servePprof serves the runtime's profiles on addr until stop is called;
// where is the address it listens on.
func servePprof(addr string) (where net.Addr, stop func(), err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(l)
	}()
	return l.Addr(), func() {
		hs.Close()
		<-done
	}, nil
}
