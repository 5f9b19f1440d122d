// Command jetstream (module bench/jetstream) measures durable publish,
// deliver and ack on the same workload with tcpchat's durable queues (bolt
// and Redis stores) and with NATS JetStream (embedded nats-server, file
// storage, explicit acks), side by side, and prints a markdown table.
//
// Workload: P publishers (one connection each) publish N/P events of S
// bytes each to one consumer, each keeping up to W publishes in flight
// (pipelined); a publish is complete once the event is stored (tcpchat:
// the server's ack of the built-in "durable" event, sent after the store
// write; JetStream: the PubAck); the consumer acknowledges each event
// after receiving it. Reported: events/s from the first publish to the
// last delivery, and the p50/p99 latency from publish start to delivery.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/boltstore"
	"github.com/wiredojo/wiredojo/tcpchat/store/redisstore"
)

type result struct {
	name     string
	pubs     int
	events   int
	dur      time.Duration // first publish to last delivery
	pub      time.Duration // first publish to last publish complete
	p50, p99 time.Duration
	commits  int64         // store write transactions (bolt: each one fsync of the data and one of the meta page); 0: not known
	batches  int64         // durable writer batches (tcpchat); 0: not known
	cpu      time.Duration // the server process's CPU time (user+system); 0: not known (in-process)
}

func main() {
	n := flag.Int("n", 5000, "events per run")
	pubList := flag.String("p", "1,8", "comma-separated publisher counts, one run of each system per count")
	window := flag.Int("w", 256, "publishes in flight per publisher")
	size := flag.Int("s", 128, "payload bytes")
	systems := flag.String("systems", "bolt,redis,jetstream-sync,jetstream", "comma-separated systems: bolt, redis, jetstream (default sync: fsync every 2 min), jetstream-sync (fsync every write)")
	flag.StringVar(&progs.wiredojo, "wiredojo", "", "run tcpchat as this wiredojo binary's `chat serve`, a process of its own (default: in this process)")
	flag.StringVar(&progs.natsServer, "nats-server", "", "run JetStream as this nats-server binary, a process of its own (default: embedded)")
	flag.StringVar(&progs.serveArgs, "serve-args", "", "more arguments for chat serve (space-separated), as --pprof 127.0.0.1:6060")
	noHeader := flag.Bool("no-header", false, "print the table's rows only (to add them to another run's table)")
	flag.DurationVar(&deliveryWait, "wait", deliveryWait, "fail a run whose last delivery has not come `D` after the last publish")
	flag.Parse()
	dir, err := os.MkdirTemp("", "queuebench")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	var rs []result
	for _, ps := range splitComma(*pubList) {
		pubs, err := strconv.Atoi(ps)
		if err != nil || pubs < 1 {
			fail(fmt.Errorf("-p: %q is not a publisher count", ps))
		}
		for _, sys := range splitComma(*systems) {
			var r result
			var err error
			switch sys {
			case "bolt":
				path := filepath.Join(dir, fmt.Sprintf("q%d.db", pubs))
				r, err = runTcpchat("tcpchat + bbolt", chatStore{flag: "--store", arg: "bolt:" + path, open: func() (store.Store, func(), error) {
					st, err := boltstore.Open(path, store.Options{})
					return st, func() {}, err
				}}, filepath.Join(dir, fmt.Sprintf("%s%d", sys, pubs)), *n, pubs, *window, *size)
			case "redis":
				r, err = runTcpchat("tcpchat + Redis (appendfsync always)", chatStore{flag: "--redis", open: func() (store.Store, func(), error) {
					return startRedis(filepath.Join(dir, fmt.Sprintf("redis%d", pubs)))
				}}, filepath.Join(dir, fmt.Sprintf("%s%d", sys, pubs)), *n, pubs, *window, *size)
			case "jetstream":
				r, err = runJetStream(filepath.Join(dir, fmt.Sprintf("js%d", pubs)), *n, pubs, *window, *size, false)
			case "jetstream-sync":
				r, err = runJetStream(filepath.Join(dir, fmt.Sprintf("js-sync%d", pubs)), *n, pubs, *window, *size, true)
			default:
				err = fmt.Errorf("unknown system %q", sys)
			}
			if err != nil {
				fail(fmt.Errorf("%s, %d publishers: %w", sys, pubs, err))
			}
			r.pubs = pubs
			fmt.Fprintf(os.Stderr, "%s, %d publishers: %d events in %v (%d store commits, %d durable writer batches, server CPU %v)\n", r.name, pubs, r.events, r.dur, r.commits, r.batches, r.cpu)
			rs = append(rs, r)
		}
	}
	if !*noHeader {
		fmt.Printf("| system | publishers | window | events | events/s delivered | events/s stored | p50 | p99 | store commits/s | events per commit | server CPU µs/event |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	}
	for _, r := range rs {
		commits, perCommit, cpu := "—", "—", "—"
		if r.commits > 0 {
			commits = fmt.Sprintf("%.0f", float64(r.commits)/r.dur.Seconds())
			perCommit = fmt.Sprintf("%.0f", float64(r.events)/float64(r.commits))
		}
		if r.cpu > 0 {
			cpu = fmt.Sprintf("%.1f", float64(r.cpu.Microseconds())/float64(r.events))
		}
		fmt.Printf("| %s | %d | %d | %d | %.0f | %.0f | %v | %v | %s | %s | %s |\n", r.name, r.pubs, *window, r.events, float64(r.events)/r.dur.Seconds(),
			float64(r.events)/r.pub.Seconds(), r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), commits, perCommit, cpu)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "queuebench:", err)
	os.Exit(1)
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// latencies collects publish-to-delivery times; the first 8 bytes of each
// payload are the publish start in unix nanoseconds.
type latencies struct {
	mu   sync.Mutex
	d    []time.Duration
	done chan struct{}
	want int
	seen map[int64]bool
}

func newLatencies(want int) *latencies {
	return &latencies{want: want, done: make(chan struct{}), seen: make(map[int64]bool, want)}
}

func (l *latencies) add(stamp int64, seq int64) {
	now := time.Now().UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[seq] {
		return
	}
	l.seen[seq] = true
	l.d = append(l.d, time.Duration(now-stamp))
	if len(l.d) == l.want {
		close(l.done)
	}
}

func (l *latencies) result(name string, start time.Time, end time.Time) result {
	slices.Sort(l.d)
	q := func(p float64) time.Duration { return l.d[int(p*float64(len(l.d)-1))] }
	return result{name: name, events: len(l.d), dur: end.Sub(start), p50: q(0.50), p99: q(0.99)}
}

// publishAll runs pubs publishers over n events, each with up to window
// publishes in flight: publish starts event seq and calls done once it is
// stored (or failed). It returns once every publish is complete.
func publishAll(n, pubs, window int, publish func(p, seq int, done func(error)) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, n+pubs)
	for p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots := make(chan struct{}, window)
			done := func(err error) {
				if err != nil {
					errs <- err
				}
				<-slots
			}
			for seq := p; seq < n; seq += pubs {
				slots <- struct{}{}
				if err := publish(p, seq, done); err != nil {
					errs <- err
					return
				}
			}
			for range window {
				slots <- struct{}{}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// deliveryWait bounds the wait for the last deliveries of a run.
var deliveryWait = 2 * time.Minute

// programs are the servers' binaries when they run as processes of their
// own (-wiredojo, -nats-server); empty: in this process.
var progs struct{ wiredojo, natsServer, serveArgs string }

// chatStore is the store of a tcpchat run: open makes it for a server in
// this process; a chat serve process gets flag and arg (for --redis, arg
// is the URL of the server open starts).
type chatStore struct {
	flag, arg string
	open      func() (store.Store, func(), error)
}

// chatServer is the tcpchat server of one run.
type chatServer struct {
	addr     string
	stats    func() (commits, batches int64, cpu time.Duration) // since the start
	counters func() string                                      // the durable counters, to say why a run failed
	stop     func()
}

// startChatInProcess serves chat serve's built-in relay from this process
// with the library's default limits.
func startChatInProcess(cs chatStore) (*chatServer, error) {
	st, stopStore, err := cs.open()
	if err != nil {
		return nil, err
	}
	srv := tcpchat.NewServer(tcpchat.Options{Store: st})
	builtin.Install(srv.Of("/"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		stopStore()
		return nil, err
	}
	go srv.Serve(l)
	return &chatServer{addr: l.Addr().String(),
		stats: func() (int64, int64, time.Duration) {
			return int64(st.Stats().Commits), srv.DurableStats().Batches, 0
		},
		counters: func() string { return fmt.Sprintf("%+v", srv.DurableStats()) },
		stop:     func() { srv.Close(); st.Close(); stopStore() }}, nil
}

// startChatProcess runs `wiredojo chat serve` with its defaults and the
// given store, as a process of its own.
func startChatProcess(cs chatStore, dir string) (*chatServer, error) {
	arg, stopStore := cs.arg, func() {}
	if cs.flag == "--redis" {
		url, stop, err := startRedisServer(dir)
		if err != nil {
			return nil, err
		}
		arg, stopStore = url, stop
	}
	port, err := freePort()
	if err != nil {
		stopStore()
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(progs.wiredojo, append([]string{"chat", "serve", "--addr", addr, cs.flag, arg}, strings.Fields(progs.serveArgs)...)...)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, "state"), "XDG_DATA_HOME="+filepath.Join(dir, "data"), "NO_COLOR=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		stopStore()
		return nil, fmt.Errorf("start %s chat serve: %w", progs.wiredojo, err)
	}
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		stopStore()
	}
	if err := waitDial(addr); err != nil {
		stop()
		return nil, fmt.Errorf("chat serve: %w: %s", err, stderr.String())
	}
	metric := func(text, name string) int64 {
		for _, line := range strings.Split(text, "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return int64(f)
			}
		}
		return 0
	}
	c0, b0, cpu0 := int64(0), int64(0), procCPU(cmd.Process.Pid)
	stats := func() (int64, int64, time.Duration) {
		text := httpGet("http://" + addr + "/metrics")
		return metric(text, "wiredojo_queue_commits_total") - c0, metric(text, "wiredojo_chat_durable_batches_total") - b0, procCPU(cmd.Process.Pid) - cpu0
	}
	c0, b0, _ = stats()
	counters := func() string {
		var out []string
		for _, line := range strings.Split(httpGet("http://"+addr+"/metrics"), "\n") {
			if strings.HasPrefix(line, "wiredojo_chat_durable_") || strings.HasPrefix(line, "wiredojo_queue_") {
				out = append(out, strings.TrimPrefix(line, "wiredojo_"))
			}
		}
		return strings.Join(out, ", ") + "; its log: " + stderr.String()
	}
	return &chatServer{addr: addr, stats: stats, counters: counters, stop: stop}, nil
}

// procCPU is the user+system CPU time of process pid, from /proc (Linux;
// 0 elsewhere).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // from field 3, state
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func httpGet(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// waitDial waits until addr accepts connections.
func waitDial(addr string) error {
	var err error
	for range 200 {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func runTcpchat(name string, cs chatStore, dir string, n, pubs, window, size int) (result, error) {
	var srv *chatServer
	var err error
	if progs.wiredojo != "" {
		srv, err = startChatProcess(cs, dir)
	} else {
		srv, err = startChatInProcess(cs)
	}
	if err != nil {
		return result{}, err
	}
	defer srv.stop()
	lat := newLatencies(n)
	ctx := context.Background()
	c, err := tcpchat.Dial(ctx, srv.addr, tcpchat.ClientOptions{ClientID: "consumer"})
	if err != nil {
		return result{}, err
	}
	defer c.Close()
	sock := c.Socket("/")
	sock.On("ev", func(e *tcpchat.ClientEvent) {
		var a []struct {
			T   int64  `json:"t"`
			Seq int64  `json:"seq"`
			P   string `json:"p"`
		}
		if json.Unmarshal(e.Args, &a) == nil && len(a) == 1 {
			lat.add(a[0].T, a[0].Seq)
		}
	})
	if _, err := c.Connect(ctx, "/", nil); err != nil {
		return result{}, err
	}
	socks := make([]*tcpchat.ClientSocket, pubs)
	for p := range socks {
		pc, err := tcpchat.Dial(ctx, srv.addr, tcpchat.ClientOptions{})
		if err != nil {
			return result{}, err
		}
		defer pc.Close()
		if socks[p], err = pc.Connect(ctx, "/", nil); err != nil {
			return result{}, err
		}
	}
	pad := fmt.Sprintf("%0*d", max(size-40, 1), 0) // the JSON around it is about 40 bytes
	start := time.Now()
	err = publishAll(n, pubs, window, func(p, seq int, done func(error)) error {
		req := fmt.Sprintf(`[{"to":["consumer"],"event":"ev","args":[{"t":%d,"seq":%d,"p":"%s"}]}]`, time.Now().UnixNano(), seq, pad)
		return socks[p].EmitWithAckFunc(builtin.EventDurable, json.RawMessage(req), func(ack json.RawMessage, err error) {
			if err == nil && (!bytes.HasPrefix(ack, []byte(`[{"id":`)) || bytes.Contains(ack, []byte(`"error"`))) {
				err = fmt.Errorf("durable emit %d: %s", seq, ack)
			}
			done(err)
		})
	})
	if err != nil {
		return result{}, fmt.Errorf("%w; the server's counters: %s", err, srv.counters())
	}
	published := time.Since(start)
	select {
	case <-lat.done:
	case <-time.After(deliveryWait):
		lat.mu.Lock()
		got := len(lat.d)
		lat.mu.Unlock()
		return result{}, fmt.Errorf("only %d of %d delivered; the server's counters: %s", got, n, srv.counters())
	}
	r := lat.result(name, start, time.Now())
	r.pub = published
	r.commits, r.batches, r.cpu = srv.stats()
	return r, nil
}

// startRedisServer runs redis-server with appendfsync always in dir and
// returns its URL.
func startRedisServer(dir string) (string, func(), error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	rdir := filepath.Join(dir, "redis")
	os.MkdirAll(rdir, 0o700)
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", rdir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always")
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server (apt-get install redis-server): %w", err)
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	if err := waitDial(net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil {
		stop()
		return "", nil, err
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port), stop, nil
}

func startRedis(dir string) (store.Store, func(), error) {
	url, stop, err := startRedisServer(dir)
	if err != nil {
		return nil, nil, err
	}
	var st store.Store
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err = redisstore.Open(ctx, url, store.Options{})
		cancel()
		if err == nil {
			return st, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return nil, nil, err
}

func runJetStream(dir string, n, pubs, window, size int, syncAlways bool) (result, error) {
	url, cpu, stop, err := startNATS(dir, syncAlways)
	if err != nil {
		return result{}, err
	}
	defer stop()
	nc, err := nats.Connect(url)
	if err != nil {
		return result{}, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return result{}, err
	}
	ctx := context.Background()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "Q", Subjects: []string{"q.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		return result{}, err
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "consumer", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 256})
	if err != nil {
		return result{}, err
	}
	lat := newLatencies(n)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		d := m.Data()
		if len(d) >= 16 {
			lat.add(int64(binary.BigEndian.Uint64(d)), int64(binary.BigEndian.Uint64(d[8:])))
		}
		m.Ack()
	})
	if err != nil {
		return result{}, err
	}
	defer cc.Stop()
	pjs := make([]jetstream.JetStream, pubs) // one connection per publisher
	for p := range pjs {
		pc, err := nats.Connect(url)
		if err != nil {
			return result{}, err
		}
		defer pc.Close()
		if pjs[p], err = jetstream.New(pc, jetstream.WithPublishAsyncMaxPending(window+1)); err != nil {
			return result{}, err
		}
	}
	start := time.Now()
	err = publishAll(n, pubs, window, func(p, seq int, done func(error)) error {
		b := make([]byte, max(size, 16))
		binary.BigEndian.PutUint64(b, uint64(time.Now().UnixNano()))
		binary.BigEndian.PutUint64(b[8:], uint64(seq))
		f, err := pjs[p].PublishAsync("q.consumer", b)
		if err != nil {
			return err
		}
		go func() {
			select {
			case <-f.Ok():
				done(nil)
			case err := <-f.Err():
				done(err)
			}
		}()
		return nil
	})
	if err != nil {
		return result{}, err
	}
	published := time.Since(start)
	select {
	case <-lat.done:
	case <-time.After(deliveryWait):
		return result{}, fmt.Errorf("only %d of %d delivered", len(lat.d), n)
	}
	name := "NATS JetStream (file storage, explicit acks, default sync: fsync every 2 min)"
	if syncAlways {
		name = "NATS JetStream (file storage, explicit acks, sync always)"
	}
	r := lat.result(name, start, time.Now())
	r.pub = published
	r.cpu = cpu()
	return r, nil
}

// startNATS starts a JetStream server storing in dir: embedded, or the
// -nats-server binary as a process of its own (its defaults, JetStream on,
// with sync_interval always when syncAlways). cpu is the process's CPU
// time since its start (0 embedded).
func startNATS(dir string, syncAlways bool) (url string, cpu func() time.Duration, stop func(), err error) {
	if progs.natsServer == "" {
		ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true, SyncAlways: syncAlways})
		if err != nil {
			return "", nil, nil, err
		}
		go ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			ns.Shutdown()
			return "", nil, nil, fmt.Errorf("nats-server not ready")
		}
		return ns.ClientURL(), func() time.Duration { return 0 }, ns.Shutdown, nil
	}
	port, err := freePort()
	if err != nil {
		return "", nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, nil, err
	}
	sync := ""
	if syncAlways {
		sync = "sync_interval: always"
	}
	conf := filepath.Join(dir, "js.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("jetstream {\n store_dir: %q\n %s\n}\n", dir, sync)), 0o600); err != nil {
		return "", nil, nil, err
	}
	cmd := exec.Command(progs.natsServer, "-c", conf, "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return "", nil, nil, fmt.Errorf("start %s: %w", progs.natsServer, err)
	}
	stop = func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitDial(addr); err != nil {
		stop()
		return "", nil, nil, fmt.Errorf("nats-server: %w: %s", err, stderr.String())
	}
	cpu0 := procCPU(cmd.Process.Pid)
	return "nats://" + addr, func() time.Duration { return procCPU(cmd.Process.Pid) - cpu0 }, stop, nil
}
