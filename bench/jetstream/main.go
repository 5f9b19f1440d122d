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
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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
}

func main() {
	n := flag.Int("n", 5000, "events per run")
	pubList := flag.String("p", "1,8", "comma-separated publisher counts, one run of each system per count")
	window := flag.Int("w", 256, "publishes in flight per publisher")
	size := flag.Int("s", 128, "payload bytes")
	systems := flag.String("systems", "bolt,redis,jetstream-sync,jetstream", "comma-separated systems: bolt, redis, jetstream (default sync: fsync every 2 min), jetstream-sync (fsync every write)")
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
				r, err = runTcpchat("tcpchat + bbolt", func() (store.Store, func(), error) {
					st, err := boltstore.Open(filepath.Join(dir, fmt.Sprintf("q%d.db", pubs)), store.Options{})
					return st, func() {}, err
				}, *n, pubs, *window, *size)
			case "redis":
				r, err = runTcpchat("tcpchat + Redis (appendfsync always)", func() (store.Store, func(), error) {
					return startRedis(filepath.Join(dir, fmt.Sprintf("redis%d", pubs)))
				}, *n, pubs, *window, *size)
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
			fmt.Fprintf(os.Stderr, "%s, %d publishers: %d events in %v\n", r.name, pubs, r.events, r.dur)
			rs = append(rs, r)
		}
	}
	fmt.Printf("| system | publishers | events | events/s delivered | events/s stored | p50 | p99 |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		fmt.Printf("| %s | %d | %d | %.0f | %.0f | %v | %v |\n", r.name, r.pubs, r.events, float64(r.events)/r.dur.Seconds(),
			float64(r.events)/r.pub.Seconds(), r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond))
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

func runTcpchat(name string, open func() (store.Store, func(), error), n, pubs, window, size int) (result, error) {
	st, stop, err := open()
	if err != nil {
		return result{}, err
	}
	defer stop()
	defer st.Close()
	// chat serve's built-in relay over loopback, the per-connection packet
	// limit off (docs/BENCHMARKS.md says why).
	srv := tcpchat.NewServer(tcpchat.Options{Store: st, RateLimit: -1})
	builtin.Install(srv.Of("/"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	go srv.Serve(l)
	defer srv.Close()
	lat := newLatencies(n)
	ctx := context.Background()
	c, err := tcpchat.Dial(ctx, l.Addr().String(), tcpchat.ClientOptions{ClientID: "consumer"})
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
		pc, err := tcpchat.Dial(ctx, l.Addr().String(), tcpchat.ClientOptions{})
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
			if err == nil && !bytes.HasPrefix(ack, []byte(`[{"id":`)) {
				err = fmt.Errorf("durable emit %d: %s", seq, ack)
			}
			done(err)
		})
	})
	if err != nil {
		return result{}, err
	}
	published := time.Since(start)
	select {
	case <-lat.done:
	case <-time.After(2 * time.Minute):
		return result{}, fmt.Errorf("only %d of %d delivered", len(lat.d), n)
	}
	r := lat.result(name, start, time.Now())
	r.pub = published
	return r, nil
}

func startRedis(dir string) (store.Store, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	rdir := filepath.Join(dir, "redis")
	os.MkdirAll(rdir, 0o700)
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", rdir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always")
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start redis-server (apt-get install redis-server): %w", err)
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
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
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true, SyncAlways: syncAlways})
	if err != nil {
		return result{}, err
	}
	go ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		return result{}, fmt.Errorf("nats-server not ready")
	}
	nc, err := nats.Connect(ns.ClientURL())
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
		pc, err := nats.Connect(ns.ClientURL())
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
	case <-time.After(2 * time.Minute):
		return result{}, fmt.Errorf("only %d of %d delivered", len(lat.d), n)
	}
	name := "NATS JetStream (file storage, explicit acks, default sync: fsync every 2 min)"
	if syncAlways {
		name = "NATS JetStream (file storage, explicit acks, sync always)"
	}
	r := lat.result(name, start, time.Now())
	r.pub = published
	return r, nil
}
