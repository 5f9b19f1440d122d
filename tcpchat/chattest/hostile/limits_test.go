package hostile_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// handshaken opens a framed connection from src and says whether the
// server welcomed it; a refusal's reason must say why.
func handshaken(t *testing.T, addr, src string) (*hostile.Attacker, bool) {
	t.Helper()
	a := hostile.DialFrom(t, addr, src, true)
	hs := wire.Packet{Type: wire.TypeHandshake, Version: wire.Version}
	a.Conn.Write(framing.AppendFrame(nil, hs.AppendTo(nil))) // may meet a refusal's close
	p, err := a.Read()
	switch {
	case err == nil && p.Type == wire.TypeWelcome:
		return a, true
	case err == nil && p.Type == wire.TypeError && p.Code == wire.CodeTooManyConnections && p.Reason != "":
		return a, false
	}
	t.Fatalf("from %s: %+v, %v; want a welcome or an error packet with code %d", src, p, err, wire.CodeTooManyConnections)
	return nil, false
}

// metric is hostile.Metric, the attack tests' short name for it.
func metric(t *testing.T, addr, name string) float64 {
	t.Helper()
	return hostile.Metric(t, addr, name)
}

// Issue 13 point 4: one address may hold MaxConnsPerAddr connections; the
// next is refused with a reason (code 10) while other addresses connect.
func TestConnectionsPerAddress(t *testing.T) {
	t.Parallel()
	_, addr := hostile.ChatServer(t, tcpchat.Options{MaxConnsPerAddr: 5})
	obs := hostile.NewObserver(t, addr, "/chat", "r") // from 127.0.0.1
	obs.Watch(t)
	for i := range 5 {
		if _, ok := handshaken(t, addr, "127.0.0.2"); !ok {
			t.Fatalf("connection %d of 127.0.0.2 refused under the limit", i+1)
		}
	}
	if _, ok := handshaken(t, addr, "127.0.0.2"); ok {
		t.Fatal("a sixth connection from 127.0.0.2 was welcomed")
	}
	obs.Check(t)
	if n := metric(t, addr, "wiredojo_chat_refused_addr_connections_total"); n != 1 {
		t.Fatalf("refused_addr_connections_total %v, want 1", n)
	}
	if n := metric(t, addr, "wiredojo_chat_addrs"); n != 2 {
		t.Fatalf("wiredojo_chat_addrs %v, want 2 (127.0.0.1 and 127.0.0.2)", n)
	}
}

// Issue 13 point 4: connection attempts per address are rate limited, so a
// connect-close loop is refused while others connect.
func TestConnectionAttemptsPerAddress(t *testing.T) {
	t.Parallel()
	_, addr := hostile.ChatServer(t, tcpchat.Options{ConnRatePerAddr: 5, ConnBurstPerAddr: 10})
	obs := hostile.NewObserver(t, addr, "/chat", "r")
	obs.Watch(t)
	refused := 0
	for range 30 {
		a, ok := handshaken(t, addr, "127.0.0.3")
		if !ok {
			refused++
		}
		a.Conn.Close()
	}
	if refused < 15 {
		t.Fatalf("%d of 30 quick attempts refused, want at least 15 (5/s, burst 10)", refused)
	}
	obs.Check(t)
	if n := metric(t, addr, "wiredojo_chat_refused_addr_rate_total"); n != float64(refused) {
		t.Fatalf("refused_addr_rate_total %v, want %d", n, refused)
	}
}

// Issue 13 point 4: the events of one address are limited across its
// connections, reconnects included (the per-connection limit alone resets
// with each connection): its connections are read at the address's rate,
// nobody is cut, and an observer's delivery goes on.
func TestEventsPerAddress(t *testing.T) {
	t.Parallel()
	const (
		rate, burst = 1000, 100
		rounds, n   = 5, 400 // 2000 events over 5 connections
	)
	srv, addr := hostile.ChatServer(t, tcpchat.Options{EventRatePerAddr: rate, EventBurstPerAddr: burst})
	obs := hostile.NewObserver(t, addr, "/chat", "r")
	obs.Watch(t)
	start := time.Now()
	for range rounds {
		a, ok := handshaken(t, addr, "127.0.0.4")
		if !ok {
			t.Fatal("refused")
		}
		a.Join(t, "/chat")
		for i := range n {
			a.Event(t, "/chat", "flood", 0, []byte(fmt.Sprintf("[%d]", i)))
		}
		a.Event(t, "/chat", "flood", 1, []byte(`["last"]`))
		a.Expect(t, wire.TypeAck)
		a.Conn.Close()
	}
	elapsed := time.Since(start)
	// A token bucket cannot let more through: a lower bound, not a timing.
	if min := time.Duration(float64(rounds*(n+2)-burst) / rate * float64(time.Second)); elapsed < min*9/10 {
		t.Fatalf("%d events from one address in %v, faster than %d/s allows (%v)", rounds*(n+2), elapsed, rate, min)
	}
	obs.Check(t)
	if st := srv.Stats(); st.RateLimitCuts != 0 || st.SlowConsumerCuts != 0 {
		t.Fatalf("cuts: %+v, want none", st)
	}
	if n := metric(t, addr, "wiredojo_chat_addr_rate_waits_total"); n == 0 {
		t.Fatal("addr_rate_waits_total is 0")
	}
}

// Issue 13 points 4 and 5: at the connection cap (half-open sockets that
// never speak hold it) a new client is refused with a reason, /healthz and
// /metrics still answer, and the clients already connected go on; once the
// sockets close, clients connect again.
func TestConnectionCap(t *testing.T) {
	t.Parallel()
	const cap = 20
	_, addr := hostile.ChatServer(t, tcpchat.Options{MaxConnections: cap, FDHeadroom: -1})
	obs := hostile.NewObserver(t, addr, "/chat", "r") // 2 sockets
	obs.Watch(t)
	var held []*hostile.Attacker
	for range cap - 2 {
		held = append(held, hostile.DialFrom(t, addr, "127.0.0.5", false)) // silent: half-open
	}
	// The sockets count when accepted: wait until a client is refused.
	chattest.Eventually(t, "a client refused with the cap's worth of sockets open", func() bool {
		a, ok := handshaken(t, addr, "127.0.0.6")
		a.Conn.Close()
		return !ok
	})
	// One address has two sockets over the cap at a time: one that has
	// just been answered may not be closed on the server yet, so a refusal
	// is retried.
	reserved := func(path string, want int) {
		t.Helper()
		var err error
		defer func() {
			if err != nil { // Eventually failed the test: say why
				t.Logf("%s at the cap, last try: %v", path, err)
			}
		}()
		chattest.Eventually(t, path+" answered at the cap", func() bool {
			var code int
			var body string
			code, body, err = hostile.TryHTTP(addr, "GET", path, addr, nil)
			if err == nil && code != want {
				t.Fatalf("%s at the cap: %d %q, want %d", path, code, body, want)
			}
			return err == nil
		})
	}
	reserved("/healthz", http.StatusOK)
	reserved("/", http.StatusServiceUnavailable)
	obs.Check(t)
	for _, a := range held {
		a.Conn.Close()
	}
	chattest.Eventually(t, "a client welcomed after the held sockets closed", func() bool {
		a, ok := handshaken(t, addr, "127.0.0.6")
		a.Conn.Close()
		return ok
	})
}
