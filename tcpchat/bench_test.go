package tcpchat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// fanoutSubscriber counts deliveries and samples latencies.
type fanoutSubscriber struct {
	received atomic.Int64
	stride   int64
	samples  []int64 // nanoseconds; written only by the client's reader
}

// payload128 returns 128 bytes of JSON arguments: ["<send time ns>xxxx…"].
func payload128(buf []byte, now int64) []byte {
	buf = append(buf[:0], `["`...)
	buf = strconv.AppendInt(buf, now, 10)
	for len(buf) < 126 {
		buf = append(buf, 'x')
	}
	return append(buf, `"]`...)
}

func sentAt(args []byte) int64 {
	if len(args) < 21 {
		return 0
	}
	n, _ := strconv.ParseInt(string(args[2:21]), 10, 64) // no allocation: string(b) in a call argument is not kept
	return n
}

// fanoutResult is what one fan-out run measured.
type fanoutResult struct {
	EventsPerSec float64
	P50, P99     time.Duration
}

// runFanout publishes events events of 128 bytes from one Go client; the
// server relays each to subs Go clients (Socket.Broadcast). The publisher
// keeps at most window events ahead of the slowest subscriber.
func runFanout(tb testing.TB, subs, events int, report func()) fanoutResult {
	const window = 1000
	srv := tcpchat.NewServer(tcpchat.Options{RateLimit: -1, SendQueue: 1 << 16})
	ns := srv.Of("/")
	ns.On("pub", func(e *tcpchat.Event) { e.Socket.Broadcast().EmitRaw("tick", e.Args) })
	addr := chattest.NewServer(tb, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	stride := max(1, int64(events/20000))
	ss := make([]*fanoutSubscriber, subs)
	var clients []*tcpchat.Client
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := range ss {
		fs := &fanoutSubscriber{stride: stride, samples: make([]int64, 0, events/int(stride)+1)}
		ss[i] = fs
		c, err := tcpchat.Dial(ctx, addr, tcpchat.ClientOptions{NoReconnect: true})
		if err != nil {
			tb.Fatal(err)
		}
		clients = append(clients, c)
		s := c.Socket("/")
		s.On("tick", func(e *tcpchat.ClientEvent) {
			n := fs.received.Add(1)
			if n%fs.stride == 0 && len(fs.samples) < cap(fs.samples) {
				fs.samples = append(fs.samples, time.Now().UnixNano()-sentAt(e.Args))
			}
		})
		if _, err := c.Connect(ctx, "/", nil); err != nil {
			tb.Fatal(err)
		}
	}
	pc, err := tcpchat.Dial(ctx, addr, tcpchat.ClientOptions{NoReconnect: true})
	if err != nil {
		tb.Fatal(err)
	}
	clients = append(clients, pc)
	pub, err := pc.Connect(ctx, "/", nil)
	if err != nil {
		tb.Fatal(err)
	}
	slowest := func() int64 {
		m := int64(1 << 62)
		for _, fs := range ss {
			m = min(m, fs.received.Load())
		}
		return m
	}
	buf := make([]byte, 0, 160)
	report()
	start := time.Now()
	for i := 0; i < events; i++ {
		for int64(i)-slowest() >= window {
			time.Sleep(20 * time.Microsecond)
		}
		buf = payload128(buf, time.Now().UnixNano())
		if err := pub.EmitRaw("pub", buf); err != nil {
			tb.Fatal(err)
		}
	}
	for slowest() < int64(events) {
		if ctx.Err() != nil {
			tb.Fatalf("subscribers got %d of %d events", slowest(), events)
		}
		time.Sleep(50 * time.Microsecond)
	}
	elapsed := time.Since(start)
	var all []int64
	for _, fs := range ss {
		all = append(all, fs.samples...)
	}
	slices.Sort(all)
	res := fanoutResult{EventsPerSec: float64(events*subs) / elapsed.Seconds()}
	if len(all) > 0 {
		res.P50 = time.Duration(all[len(all)/2])
		res.P99 = time.Duration(all[len(all)*99/100])
	}
	return res
}

// BenchmarkBroadcastFanout: 1 publisher, N subscribers, 128-byte events,
// all Go clients over loopback; an op is one published event.
func BenchmarkBroadcastFanout(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			res := runFanout(b, n, b.N, b.ResetTimer)
			b.ReportMetric(res.EventsPerSec, "delivered/s")
			b.ReportMetric(float64(res.P50.Microseconds()), "p50-µs")
			b.ReportMetric(float64(res.P99.Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkServerFanout isolates the server: ns.To(room).EmitRaw from the
// benchmark goroutine to N raw subscribers that read and discard frames. An
// op is one broadcast; allocs/op shows the server's broadcast path.
func BenchmarkServerFanout(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			srv := tcpchat.NewServer(tcpchat.Options{RateLimit: -1, SendQueue: 1 << 16})
			ns := srv.Of("/")
			ns.On("join", func(e *tcpchat.Event) { e.Socket.Join("r"); e.Ack() })
			addr := chattest.NewServer(b, srv)
			var got atomic.Int64
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				raw := chattest.DialRaw(b, addr, true)
				raw.Handshake(b, "")
				raw.Join(b, "/")
				raw.Send(b, wire.Packet{Type: wire.TypeEvent, Namespace: "/", Event: "join", HasAck: true, AckID: 1})
				raw.Expect(b, wire.TypeAck)
				countFrames(raw, &got, &wg)
			}
			args := json.RawMessage(payload128(nil, 0))
			op := ns.To("r")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for int64(i*n)-got.Load() >= int64(1000*n) {
					time.Sleep(20 * time.Microsecond)
				}
				op.EmitRaw("tick", args)
			}
			for got.Load() < int64(b.N*n) {
				time.Sleep(50 * time.Microsecond)
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "delivered/s")
			b.StopTimer()
			srv.Close()
			wg.Wait()
		})
	}
}

// countFrames reads and discards the frames raw receives, counting them in
// got, until its connection closes; wg tracks the reader.
func countFrames(raw *chattest.Raw, got *atomic.Int64, wg *sync.WaitGroup) {
	raw.Conn.SetReadDeadline(time.Time{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := framing.NewReader(raw.Conn, 1<<20)
		for {
			if _, err := r.ReadFrame(); err != nil {
				return
			}
			got.Add(1)
		}
	}()
}
