package main

// Durable queues on the command line: the store flags of `chat serve` and
// `chat queue`, `chat emit --durable`, `chat listen --client-id`, and the
// `chat queue ls|peek|purge` commands that read a store directly.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/redisadapter"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/storeopen"
)

// chatStoreFlags name the store: --store and --redis.
func chatStoreFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "store", Value: "bolt", EnvVars: []string{"WIREDOJO_STORE"}, Usage: "durable queues in `STORE`: bolt (a file per listen address in the user's data directory, queues-HOST-PORT.db, so servers on different addresses never share one and a restarted server finds its queues), bolt:PATH or memory (lost on exit)"},
		&cli.StringFlag{Name: "redis", EnvVars: []string{"WIREDOJO_REDIS"}, Usage: "keep queues and recovery state in Redis at `URL` (redis://127.0.0.1:6379/0), or in a Redis Cluster (redis-cluster://HOST:PORT,HOST:PORT,... seed nodes), instead of --store"},
	}
}

// chatQueueStoreFlags are the store flags of `chat queue ...`: the server's
// --addr picks its default bolt file.
func chatQueueStoreFlags() []cli.Flag {
	return append(chatStoreFlags(), &cli.StringFlag{Name: "addr", Value: "127.0.0.1:7070", EnvVars: []string{"WIREDOJO_ADDR"},
		Usage: "with --store bolt: the queues of the server that listens on `HOST:PORT`"})
}

// chatServeQueueFlags are the store and retention flags of `chat serve`.
func chatServeQueueFlags() []cli.Flag {
	return append(chatStoreFlags(),
		&cli.StringFlag{Name: "node", EnvVars: []string{"WIREDOJO_NODE"}, DefaultText: "a random id",
			Usage: "with --redis: name this server `NAME` among the nodes (the other nodes' room events carry it; chat serve --verbose prints it): up to 64 bytes, no spaces, a different one on each node"},
		&cli.IntFlag{Name: "queue-max", Value: store.DefaultMaxMessages, EnvVars: []string{"WIREDOJO_QUEUE_MAX"}, Usage: "keep at most `N` messages per client queue; a full queue refuses new messages (the sender is told) and keeps what it holds; -1: no limit"},
		&cli.IntFlag{Name: "queue-max-clients", Value: store.DefaultMaxClients, EnvVars: []string{"WIREDOJO_QUEUE_MAX_CLIENTS"}, Usage: "keep the queues of at most `N` client ids; a handshake naming a new client id beyond it is refused (error code 10), known ones still connect; idle queues expire (--queue-ttl) and free places; -1: no limit"},
		&cli.StringFlag{Name: "durable-scope", Value: "local", EnvVars: []string{"WIREDOJO_DURABLE_SCOPE"}, Usage: "whom a client's durable emit (chat emit --durable) may reach: `SCOPE` rooms (the rooms the sender is in and the client ids in them), any (any client id or room), local (any from this machine's loopback addresses, rooms from elsewhere)"},
		&cli.DurationFlag{Name: "queue-max-age", Value: store.DefaultMaxAge, EnvVars: []string{"WIREDOJO_QUEUE_MAX_AGE"}, Usage: "drop queued messages older than `D` (counted)"},
		&cli.DurationFlag{Name: "queue-ttl", Value: store.DefaultQueueTTL, EnvVars: []string{"WIREDOJO_QUEUE_TTL"}, Usage: "remove a client's queue and room subscriptions after `D` without it connecting"},
		&cli.DurationFlag{Name: "recovery-window", Value: store.DefaultWindow, EnvVars: []string{"WIREDOJO_RECOVERY_WINDOW"}, Usage: "keep a disconnected session's rooms and missed broadcasts for `D`; 0: no connection state recovery (socket.io's default), no broadcast recorded"},
		&cli.Int64Flag{Name: "recovery-bytes", Value: store.DefaultReplayMaxBytes, EnvVars: []string{"WIREDOJO_RECOVERY_BYTES"}, Usage: "keep at most `BYTES` of missed broadcasts per namespace (the oldest go first; with --redis, per namespace in Redis, shared by every node); -1: no limit"},
		&cli.Int64Flag{Name: "recovery-total-bytes", Value: store.DefaultReplayTotalBytes, EnvVars: []string{"WIREDOJO_RECOVERY_TOTAL_BYTES"}, Usage: "keep at most `BYTES` of missed broadcasts over all namespaces (the oldest of any namespace go first; with --redis, all of Redis's replay logs, every node's broadcasts, which may pass the bound for a moment by the broadcasts being recorded then); -1: no limit"},
		&cli.Int64Flag{Name: "recovery-session-bytes", Value: store.DefaultSessionTotalBytes, EnvVars: []string{"WIREDOJO_RECOVERY_SESSION_BYTES"}, Usage: "keep at most `BYTES` of disconnected sessions (their rooms; the oldest go first, and their clients resume nothing; with --redis, all the sessions in Redis, of every node, which may pass the bound for a moment by the sessions being saved then); -1: no limit"},
	)
}

// chatStoreSpec returns the store spec of --store/--redis and a
// description for the banner.
func chatStoreSpec(c *cli.Context) (spec, where string, err error) {
	if u := c.String("redis"); u != "" {
		if storeopen.IsRedisCluster(u) {
			if _, err := storeopen.ClusterOptions(u); err != nil {
				return "", "", usagef("--redis: %v", err)
			}
			return u, "Redis Cluster " + u, nil
		}
		if !strings.HasPrefix(u, "redis://") && !strings.HasPrefix(u, "rediss://") {
			return "", "", usagef("--redis %q: give a URL such as redis://127.0.0.1:6379/0, or redis-cluster://HOST:PORT,HOST:PORT for a cluster", u)
		}
		return u, "Redis " + u, nil
	}
	spec = c.String("store")
	switch {
	case spec == "memory":
		return spec, "memory (lost on exit)", nil
	case spec == "bolt":
		p, err := storeopen.DefaultBoltPathFor(c.String("addr"))
		if err != nil {
			return "", "", err
		}
		return "bolt:" + p, "bolt " + p, nil
	case strings.HasPrefix(spec, "bolt:") && len(spec) > len("bolt:"):
		return spec, "bolt " + strings.TrimPrefix(spec, "bolt:"), nil
	}
	return "", "", usagef("--store %q: give memory, bolt or bolt:PATH (or --redis URL)", spec)
}

// openChatStore opens the store named by the flags, with limits.
func openChatStore(c *cli.Context, limits store.Limits) (store.Store, string, error) {
	spec, where, err := chatStoreSpec(c)
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(c.Context, 10*time.Second)
	defer cancel()
	st, err := storeopen.Open(ctx, spec, store.Options{Limits: limits})
	if err != nil {
		if errors.Is(err, storeopen.ErrBadSpec) {
			return nil, "", usagef("%v", err)
		}
		if errors.Is(err, storeopen.ErrLocked) {
			return nil, "", fmt.Errorf("another chat serve uses %s; pass --store (bolt:PATH or memory), or stop that server", strings.TrimPrefix(where, "bolt "))
		}
		return nil, "", fmt.Errorf("chat: open the queue store (%s): %w", where, err)
	}
	return st, where, nil
}

// chatServeQueue is what applyChatServeQueue opened for `chat serve`.
type chatServeQueue struct {
	st      store.Store
	rec     store.Store // recovery state of a single node (memory); nil with --redis
	where   string
	cluster *redisadapter.Cluster // the other nodes (--redis)
}

// Close releases everything, after the server stopped.
func (q *chatServeQueue) Close() error {
	var errs []error
	if q.cluster != nil {
		errs = append(errs, q.cluster.Close())
	}
	if q.rec != nil {
		errs = append(errs, q.rec.Close())
	}
	return errors.Join(append(errs, q.st.Close())...)
}

// applyChatServeQueue opens the store of `chat serve` (and with --redis the
// adapter between nodes) and sets them in opts; the caller calls Close
// after the server stopped.
func applyChatServeQueue(c *cli.Context, opts *tcpchat.Options) (*chatServeQueue, error) {
	node, err := chatServeNode(c.String("node"), c.IsSet("node"))
	if err != nil {
		return nil, err
	}
	st, where, err := applyChatServeStore(c, opts)
	if err != nil {
		return nil, err
	}
	q := &chatServeQueue{st: st, where: where}
	opts.NoRecovery = c.Duration("recovery-window") == 0
	if c.String("redis") == "" && !opts.NoRecovery {
		// One node: sessions and replay logs live minutes and need not
		// survive a crash; memory keeps broadcasts off the disk.
		q.rec = store.NewMemory(store.Options{Limits: store.Limits{
			ReplayWindow: c.Duration("recovery-window"), SessionWindow: c.Duration("recovery-window"),
			ReplayMaxBytes: c.Int64("recovery-bytes"), ReplayTotalBytes: c.Int64("recovery-total-bytes"),
			SessionTotalBytes: c.Int64("recovery-session-bytes")}})
		opts.RecoveryStore = q.rec
	}
	if u := c.String("redis"); u != "" {
		ctx, cancel := context.WithTimeout(c.Context, 10*time.Second)
		defer cancel()
		logf := opts.Logf
		if logf == nil {
			logf = func(format string, args ...any) { fmt.Fprintf(c.App.ErrWriter, format+"\n", args...) }
		}
		q.cluster, err = redisadapter.Open(ctx, u, redisadapter.Options{Node: node, Logf: logf})
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("chat serve: connect to Redis %s for the bus between nodes: %w", u, err)
		}
		opts.Adapter = q.cluster.Adapter
		q.where += " (many nodes: broadcasts over Redis pub/sub; this is node " + q.cluster.Node() + ")"
	}
	return q, nil
}

// maxNodeName is the longest --node: it goes into every message between
// the nodes, and into their log lines.
const maxNodeName = 64

// chatServeNode checks --node (set tells whether it was given) and returns
// it trimmed; "" leaves the random id to redisadapter.
func chatServeNode(name string, set bool) (string, error) {
	if !set {
		return "", nil
	}
	name = strings.TrimSpace(name)
	const hint = "Give each node a short name of its own, e.g. --node node1 and --node node2 (it matters with --redis)."
	switch {
	case name == "":
		return "", &usageError{err: errors.New("chat serve: --node is empty"), hint: hint}
	case len(name) > maxNodeName:
		return "", &usageError{err: fmt.Errorf("chat serve: --node %q is %d bytes, over %d", name, len(name), maxNodeName), hint: hint}
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
		return "", &usageError{err: fmt.Errorf("chat serve: --node %q has a space or a control character", name), hint: hint}
	}
	return name, nil
}

func applyChatServeStore(c *cli.Context, opts *tcpchat.Options) (store.Store, string, error) {
	for _, d := range []string{"queue-max-age", "queue-ttl"} {
		if c.Duration(d) <= 0 {
			return nil, "", usagef("--%s %v: give a positive duration", d, c.Duration(d))
		}
	}
	if c.Duration("recovery-window") < 0 {
		return nil, "", usagef("--recovery-window %v: give a positive duration, or 0 for no connection state recovery", c.Duration("recovery-window"))
	}
	for _, f := range []string{"recovery-bytes", "recovery-total-bytes", "recovery-session-bytes"} {
		if c.Int64(f) == 0 || c.Int64(f) < -1 {
			return nil, "", usagef("--%s %d: give a positive number of bytes, or -1 for no limit", f, c.Int64(f))
		}
	}
	for _, f := range []string{"queue-max", "queue-max-clients"} {
		if c.Int(f) == 0 || c.Int(f) < -1 {
			return nil, "", usagef("--%s %d: give a positive number, or -1 for no limit", f, c.Int(f))
		}
	}
	limits := store.Limits{
		MaxMessages:   c.Int("queue-max"),
		MaxClients:    c.Int("queue-max-clients"),
		MaxAge:        c.Duration("queue-max-age"),
		QueueTTL:      c.Duration("queue-ttl"),
		ReplayWindow:  c.Duration("recovery-window"),
		SessionWindow: c.Duration("recovery-window"),
	}
	if c.String("redis") != "" {
		// Many nodes keep their recovery state in this store (one node
		// keeps it in memory: applyChatServeQueue).
		limits.ReplayMaxBytes = c.Int64("recovery-bytes")
		limits.ReplayTotalBytes = c.Int64("recovery-total-bytes")
		limits.SessionTotalBytes = c.Int64("recovery-session-bytes")
	}
	st, where, err := openChatStore(c, limits)
	if err != nil {
		return nil, "", err
	}
	opts.Store = st
	return st, where, nil
}

// chatEmitDurableFlags are the flags of `chat emit` for durable emits.
func chatEmitDurableFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "durable", Usage: "queue the event for each recipient until it acknowledges it (the server needs a store); recipients: --to, --room, else the whole namespace"},
		&cli.StringSliceFlag{Name: "to", Usage: "with --durable: the `CLIENT-ID` to queue for, as chat listen --client-id names it (repeatable; a server's --durable-scope may ask that it share a room with you: add --room)"},
		&cli.StringFlag{Name: "from", Usage: "with --durable: emit one event per line of `FILE` (- for standard input), each line one JSON value, the event's argument, keeping up to --window emits in flight; print a summary (count, rate, failures; each failure on stderr with its line number). --timeout then bounds the connect and each wait for an answer. Durable emits do not count against the server's --rate-limit: its store paces them"},
		&cli.IntFlag{Name: "window", Value: 256, Usage: "with --from: at most `N` durable emits waiting for the server's answer. The server stores what is waiting in one write (bolt: one commit, two fsyncs), so a window of N puts about N/2 events in each: 256 gives 40,000+ events/s where a commit takes 3 ms; a larger window puts more in each commit at the cost of latency (the server reads at most 1024 waiting emits of a connection)"},
	}
}

// chatEmitDurableFrom emits an event per line of --from, pipelined: up to
// --window durable emits in flight, each acknowledged by the server once
// stored. Failures are printed with their line numbers; a summary ends it.
func chatEmitDurableFrom(c *cli.Context, sock *tcpchat.ClientSocket, event string) error {
	window, timeout := c.Int("window"), c.Duration("timeout")
	if window <= 0 {
		return usagef("--window %d: give at least 1", window)
	}
	var in io.Reader = c.App.Reader
	if name := c.String("from"); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("chat emit --from: %w", err)
		}
		defer f.Close()
		in = f
	}
	head, err := json.Marshal(builtin.DurableRequest{To: c.StringSlice("to"), Rooms: nonEmpty(c.String("room")), Event: event})
	if err != nil {
		return err
	}
	// [{"to":...,"event":E,"args":[LINE]}]: the request around each line.
	head = append(append([]byte("["), head[:len(head)-1]...), `,"args":[`...)
	var (
		slots  = make(chan struct{}, window)
		mu     sync.Mutex
		queued int
		failed int
	)
	fail := func(line int, err string) {
		mu.Lock()
		failed++
		if failed <= 20 {
			fmt.Fprintf(c.App.ErrWriter, "chat emit: line %d: %s\n", line, err)
		}
		mu.Unlock()
	}
	answered := func(line int) func(json.RawMessage, error) {
		return func(ack json.RawMessage, err error) {
			switch {
			case err != nil:
				fail(line, err.Error())
			case bytes.HasPrefix(ack, []byte(`[{"id":`)) && !bytes.Contains(ack, []byte(`"error":`)): // a full queue's refusal has an id too
				mu.Lock()
				queued++
				mu.Unlock()
			default:
				if err := durableRefused(ack); err != nil {
					fail(line, withHint(c.Command, err))
				} else {
					fail(line, "unexpected answer "+string(ack))
				}
			}
			<-slots
		}
	}
	stall := time.NewTimer(timeout)
	defer stall.Stop()
	take := func() error { // a place in the window, waiting at most --timeout
		stall.Reset(timeout)
		select {
		case slots <- struct{}{}:
			return nil
		case <-stall.C:
			return fmt.Errorf("chat emit --durable: no answer from the server for %v with %d emits in flight: its store may be slow or unreachable; those emits may or may not be queued", timeout, window)
		}
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), store.MaxPayload)
	start := time.Now()
	line, sent := 0, 0
	var stop error
	req := make([]byte, 0, 256)
	for stop == nil && sc.Scan() {
		line++
		arg := bytes.TrimSpace(sc.Bytes())
		if len(arg) == 0 {
			continue
		}
		if !json.Valid(arg) {
			fail(line, "not a JSON value: "+strconv.Quote(string(arg)))
			continue
		}
		if stop = take(); stop != nil {
			break
		}
		req = append(append(append(req[:0], head...), arg...), "]}]"...)
		if err := sock.EmitWithAckFunc(builtin.EventDurable, req, answered(line)); err != nil {
			<-slots
			fail(line, err.Error())
			if why := sock.Client().Err(); why != nil {
				err = why // e.g. the server's rate limit cut the connection
			}
			stop = fmt.Errorf("chat emit --durable: stopped at line %d: %w", line, err)
			break
		}
		sent++
	}
	if err := sc.Err(); err != nil && stop == nil {
		stop = fmt.Errorf("chat emit --from: reading line %d: %w", line+1, err)
	}
	for range window { // every answer in
		if err := take(); err != nil {
			stop = errors.Join(stop, err)
			break
		}
	}
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	emitResult(c, sock, event, fmt.Sprintf("%d durable events queued, %d failed, in %v (%.0f events/s)", queued, failed, elapsed.Round(time.Millisecond), float64(queued)/elapsed.Seconds()))
	if stop != nil {
		return stop
	}
	if failed > 0 {
		return fmt.Errorf("chat emit --durable: %d of %d events not queued (their lines above)", failed, failed+queued)
	}
	return nil
}

// nonEmpty is []string{s}, or nil for "".
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// chatEmitDurable asks the server for a durable emit and prints its answer
// ({"id","recipients"}).
func chatEmitDurable(c *cli.Context, ctx context.Context, sock *tcpchat.ClientSocket, event string, args []any) error {
	raw, err := json.Marshal(args)
	if err != nil {
		return err
	}
	req := builtin.DurableRequest{To: c.StringSlice("to"), Event: event, Args: raw}
	if r := c.String("room"); r != "" {
		req.Rooms = []string{r}
	}
	reply, err := sock.EmitWithAck(ctx, builtin.EventDurable, req)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("chat emit --durable: no answer from the server within %v: its store may be slow or unreachable, and the event may or may not be queued; retry with a longer --timeout, or look with `chat queue ls`: %w", c.Duration("timeout"), err)
	}
	if err != nil {
		return fmt.Errorf("chat emit --durable: %w", err)
	}
	if err := durableRefused(reply); err != nil {
		return fmt.Errorf("chat emit --durable: %w", err)
	}
	var out []json.RawMessage
	if json.Unmarshal(reply, &out) == nil && len(out) > 0 {
		reply = out[0]
	}
	emitResult(c, sock, event, "queued "+string(reply)) // chat.go
	return nil
}

// chatQueueCommand is `chat queue`.
func chatQueueCommand() *cli.Command {
	return &cli.Command{
		Name:  "queue",
		Usage: "inspect durable queues in the store directly: ls, peek, purge",
		Description: "These commands open the store themselves: a bolt file is locked by a running server, so stop\n" +
			"it first (or use --redis, which many processes share). With the default --store bolt, --addr\n" +
			"names the server whose file to open (each listen address has its own).",
		Subcommands: []*cli.Command{
			{
				Name:   "ls",
				Usage:  "list client queues: client id, depth, age of the oldest message, next offset, last seen",
				Flags:  append(chatQueueStoreFlags(), &cli.BoolFlag{Name: "json", Usage: "one JSON object per queue"}),
				Action: chatQueueLs,
			},
			{
				Name:      "peek",
				Usage:     "print a client's pending messages without acknowledging them",
				ArgsUsage: "CLIENT-ID",
				Flags: append(chatQueueStoreFlags(),
					&cli.IntFlag{Name: "limit", Value: 20, Usage: "print at most `N` messages (0: all)"},
					&cli.BoolFlag{Name: "json", Usage: "one JSON object per message"}),
				Action: chatQueuePeek,
			},
			{
				Name:      "purge",
				Usage:     "remove every pending message of a client (its queue and rooms stay)",
				ArgsUsage: "CLIENT-ID",
				Flags:     chatQueueStoreFlags(),
				Action:    chatQueuePurge,
			},
		},
	}
}

func queueClientArg(c *cli.Context) (string, error) {
	if c.Args().Len() != 1 {
		return "", usagef("chat queue %s takes one CLIENT-ID", c.Command.Name)
	}
	id := c.Args().First()
	if store.ValidName(id) != nil {
		return "", usagef("client id %q: give 1 to 255 bytes", id)
	}
	return id, nil
}

func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return now.Sub(t).Round(time.Millisecond).String()
}

func chatQueueLs(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usagef("chat queue ls takes no arguments, got %q", c.Args().First())
	}
	st, _, err := openChatStore(c, store.Limits{})
	if err != nil {
		return err
	}
	defer st.Close()
	qs, err := st.Queues(c.Context)
	if err != nil {
		return fmt.Errorf("chat queue ls: %w", err)
	}
	now := time.Now()
	if c.Bool("json") {
		for _, q := range qs {
			rec := map[string]any{"client": q.Client, "depth": q.Depth, "next_offset": q.NextOffset, "last_seen": q.LastSeen.UTC().Format(time.RFC3339Nano)}
			if !q.Oldest.IsZero() {
				rec["oldest_age_ms"] = now.Sub(q.Oldest).Milliseconds()
			}
			b, _ := json.Marshal(rec)
			fmt.Fprintf(c.App.Writer, "%s\n", b)
		}
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tDEPTH\tOLDEST\tNEXT\tLAST SEEN")
	for _, q := range qs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s ago\n", q.Client, q.Depth, age(now, q.Oldest), q.NextOffset, age(now, q.LastSeen))
	}
	return tw.Flush()
}

func chatQueuePeek(c *cli.Context) error {
	id, err := queueClientArg(c)
	if err != nil {
		return err
	}
	if c.Int("limit") < 0 {
		return usagef("--limit %d: give 0 (all) or more", c.Int("limit"))
	}
	st, _, err := openChatStore(c, store.Limits{})
	if err != nil {
		return err
	}
	defer st.Close()
	ms, err := st.Peek(c.Context, id, 0, c.Int("limit"), nil)
	if err != nil {
		return fmt.Errorf("chat queue peek: %w", err)
	}
	return printQueued(c.App.Writer, ms, c.Bool("json"))
}

func printQueued(w io.Writer, ms []store.Message, asJSON bool) error {
	now := time.Now()
	for _, m := range ms {
		args := json.RawMessage(m.Payload)
		if !json.Valid(args) {
			args = json.RawMessage(strconv.Quote(string(m.Payload)))
		}
		if asJSON {
			b, _ := json.Marshal(map[string]any{"offset": m.Offset, "id": m.ID.String(), "ns": m.Namespace, "event": m.Event,
				"rooms": m.Rooms, "args": args, "created": m.Created.UTC().Format(time.RFC3339Nano)})
			fmt.Fprintf(w, "%s\n", b)
			continue
		}
		fmt.Fprintf(w, "%d %s %s ago %s %s %s\n", m.Offset, m.ID, age(now, m.Created), m.Namespace, m.Event, args)
	}
	return nil
}

func chatQueuePurge(c *cli.Context) error {
	id, err := queueClientArg(c)
	if err != nil {
		return err
	}
	st, _, err := openChatStore(c, store.Limits{})
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.Purge(c.Context, id)
	if err != nil {
		return fmt.Errorf("chat queue purge: %w", err)
	}
	fmt.Fprintf(c.App.Writer, "purged %d messages of %s\n", n, id)
	return nil
}

// durableRefused returns the refusal a "durable" ack carries, or nil when
// it has none: its text, wrapping store.ErrUnreachable when its code says
// the server could not reach its store (report adds the hint).
func durableRefused(ack json.RawMessage) error {
	var res []struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if json.Unmarshal(ack, &res) != nil || len(res) == 0 || res[0].Error == "" {
		return nil
	}
	r := &ackRefusal{msg: "the server refused: " + res[0].Error}
	if res[0].Code == builtin.AckStoreUnreachable {
		r.code = store.ErrUnreachable
	}
	return r
}

// ackRefusal is a refusal read from an ack: its text is the server's, and
// it unwraps to the sentinel its code stands for (if any).
type ackRefusal struct {
	msg  string
	code error
}

func (r *ackRefusal) Error() string { return r.msg }
func (r *ackRefusal) Unwrap() error { return r.code }
