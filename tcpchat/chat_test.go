package tcpchat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	t.Cleanup(cancel)
	return ctx
}

func TestEventsBothWays(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{})
	got := make(chan string, 1)
	srv.Of("/").OnConnection(func(s *tcpchat.Socket) {
		s.On("hello", func(e *tcpchat.Event) {
			var who string
			e.Bind(&who)
			got <- who
			s.Emit("welcome", "hi "+who, 42)
		})
	})
	addr := chattest.NewServer(t, srv)
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
	var rec <-chan chattest.Received
	sock := chattest.Connect(t, c, "/", nil, func(s *tcpchat.ClientSocket) { rec = chattest.Record(s) })
	if err := sock.Emit("hello", "ann"); err != nil {
		t.Fatal(err)
	}
	if who := chattest.Recv(t, "the value the handler sent", got); who != "ann" {
		t.Fatalf("server got %q", who)
	}
	if r := chattest.Next(t, rec); r.Name != "welcome" || r.Args != `["hi ann",42]` {
		t.Fatalf("client got %+v", r)
	}
}

func TestAcksBothWays(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{})
	serverGot := make(chan string, 1)
	srv.Of("/").OnConnection(func(s *tcpchat.Socket) {
		s.On("sum", func(e *tcpchat.Event) {
			var a, b int
			if err := e.Bind(&a, &b); err != nil {
				t.Error(err)
			}
			e.Ack(a + b)
		})
		s.On("ask-me", func(e *tcpchat.Event) {
			go func() {
				res, err := s.EmitWithAck(ctxT(t), "question", "name?")
				if err != nil {
					serverGot <- err.Error()
					return
				}
				serverGot <- string(res)
			}()
		})
	})
	addr := chattest.NewServer(t, srv)
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
	sock := chattest.Connect(t, c, "/", nil, func(s *tcpchat.ClientSocket) {
		s.On("question", func(e *tcpchat.ClientEvent) {
			if !e.WantsAck() {
				t.Error("server's EmitWithAck did not ask for an ack")
			}
			e.Ack("bob", true)
		})
	})
	res, err := sock.EmitWithAck(ctxT(t), "sum", 2, 3)
	if err != nil || string(res) != "[5]" {
		t.Fatalf("ack = %s, %v", res, err)
	}
	sock.Emit("ask-me")
	if got := chattest.Recv(t, "what the server handler got", serverGot); got != `["bob",true]` {
		t.Fatalf("server's ack = %s", got)
	}
}

func TestAckTimeouts(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{})
	serverErr := make(chan error, 1)
	srv.Of("/").OnConnection(func(s *tcpchat.Socket) {
		s.On("ignored", func(e *tcpchat.Event) {}) // never acks
		s.On("ask-me", func(e *tcpchat.Event) {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				_, err := s.EmitWithAck(ctx, "silent")
				serverErr <- err
			}()
		})
	})
	addr := chattest.NewServer(t, srv)
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
	sock := chattest.Connect(t, c, "/", nil, func(s *tcpchat.ClientSocket) {
		s.On("silent", func(e *tcpchat.ClientEvent) {}) // never acks
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := sock.EmitWithAck(ctx, "ignored"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("client: got %v, want DeadlineExceeded", err)
	}
	sock.Emit("ask-me")
	if err := chattest.Recv(t, "the server handler's error", serverErr); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("server: got %v, want DeadlineExceeded", err)
	}
}

// marker lets a test prove a client did NOT receive an event without
// waiting: events of one connection arrive in order, so the next event after
// the one under test is the marker.
func expectFirst(t *testing.T, name string, rec <-chan chattest.Received, want string) {
	t.Helper()
	if r := chattest.Next(t, rec); r.Name != want {
		t.Fatalf("%s: first event %q %s, want %q", name, r.Name, r.Args, want)
	}
}

func TestRoomsExceptAndBroadcast(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{})
	ns := srv.Of("/")
	joined := make(chan struct{}, 8)
	ns.On("join", func(e *tcpchat.Event) {
		var rooms []string
		e.Bind(&rooms)
		e.Socket.Join(rooms...)
		e.Ack()
	})
	ns.On("shout", func(e *tcpchat.Event) { e.Socket.Broadcast().EmitRaw("shout", e.Args) })
	ns.On("to-a", func(e *tcpchat.Event) { e.Socket.To("a").EmitRaw("to-a", e.Args) })
	_ = joined
	addr := chattest.NewServer(t, srv)
	names := []string{"ann", "bob", "cid"}
	rooms := map[string][]string{"ann": {"a"}, "bob": {"a", "b"}, "cid": {"b"}}
	socks := map[string]*tcpchat.ClientSocket{}
	recs := map[string]<-chan chattest.Received{}
	for _, n := range names {
		c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
		socks[n] = chattest.Connect(t, c, "/", nil, func(s *tcpchat.ClientSocket) { recs[n] = chattest.Record(s) })
		if _, err := socks[n].EmitWithAck(ctxT(t), "join", rooms[n]); err != nil {
			t.Fatal(err)
		}
	}
	marker := func() { ns.Emit("marker") }

	ns.To("a").Except("b").Emit("a-not-b")
	marker()
	expectFirst(t, "ann", recs["ann"], "a-not-b")
	expectFirst(t, "ann", recs["ann"], "marker")
	expectFirst(t, "bob", recs["bob"], "marker")
	expectFirst(t, "cid", recs["cid"], "marker")

	ns.To("a", "b").Emit("a-or-b") // bob is in both and gets it once
	marker()
	for _, n := range names {
		expectFirst(t, n, recs[n], "a-or-b")
		expectFirst(t, n, recs[n], "marker")
	}

	// Broadcast from ann excludes ann; socket.To("a") from bob reaches ann only.
	socks["ann"].Emit("shout", 1)
	socks["bob"].Emit("to-a", 2)
	for _, n := range []string{"ann", "bob"} { // a round trip each: both events handled
		if _, err := socks[n].EmitWithAck(ctxT(t), "join", []string{}); err != nil {
			t.Fatal(err)
		}
	}
	marker()
	expectFirst(t, "ann", recs["ann"], "to-a")
	expectFirst(t, "ann", recs["ann"], "marker")
	expectFirst(t, "bob", recs["bob"], "shout")
	expectFirst(t, "bob", recs["bob"], "marker")
	expectFirst(t, "cid", recs["cid"], "shout")
	expectFirst(t, "cid", recs["cid"], "marker")
}

func TestRoomLifecycleEvents(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	srv := tcpchat.NewServer(tcpchat.Options{OnRoomEvent: func(e tcpchat.RoomEvent) {
		mu.Lock()
		got = append(got, e.Kind+" "+e.Room)
		mu.Unlock()
	}})
	left := make(chan struct{})
	ns := srv.Of("/")
	ns.OnConnection(func(s *tcpchat.Socket) { s.Join("r1", "r2"); s.Leave("r1") })
	ns.OnDisconnect(func(s *tcpchat.Socket, err error) { close(left) })
	addr := chattest.NewServer(t, srv)
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
	sock := chattest.Connect(t, c, "/", nil, nil)
	sock.Disconnect()
	chattest.Recv(t, "the room-left event after the disconnect", left)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"create-room r1", "join-room r1", "create-room r2", "join-room r2", "leave-room r1", "delete-room r1", "leave-room r2", "delete-room r2"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestNamespacesAndAuth(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{})
	srv.Of("/public").On("ping", func(e *tcpchat.Event) { e.Ack("public") })
	admin := srv.Of("/admin")
	admin.Use(func(s *tcpchat.Socket, auth json.RawMessage) error {
		var a struct{ Key string }
		if json.Unmarshal(auth, &a) != nil || a.Key != "open-sesame" {
			return errors.New("invalid credentials")
		}
		return nil
	})
	admin.On("ping", func(e *tcpchat.Event) { e.Ack("admin") })
	addr := chattest.NewServer(t, srv)
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{})

	_, err := c.Connect(ctxT(t), "/admin", map[string]string{"key": "wrong"})
	var ce *tcpchat.ConnectError
	if !errors.As(err, &ce) || ce.Reason != "invalid credentials" || ce.Namespace != "/admin" {
		t.Fatalf("got %v, want a ConnectError with the middleware's reason", err)
	}
	if _, err := c.Connect(ctxT(t), "/nowhere", nil); !errors.As(err, &ce) || ce.Reason != "unknown namespace" {
		t.Fatalf("unknown namespace: %v", err)
	}
	pub := chattest.Connect(t, c, "/public", nil, nil)
	adm := chattest.Connect(t, c, "/admin", map[string]string{"key": "open-sesame"}, nil)
	for sock, want := range map[*tcpchat.ClientSocket]string{pub: `["public"]`, adm: `["admin"]`} {
		if res, err := sock.EmitWithAck(ctxT(t), "ping"); err != nil || string(res) != want {
			t.Fatalf("%s: %s %v", sock.Namespace(), res, err)
		}
	}
}

func TestHandshakeToken(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{Token: "t0k"})
	srv.Of("/")
	addr := chattest.NewServer(t, srv)
	_, err := tcpchat.Dial(ctxT(t), addr, tcpchat.ClientOptions{Token: "nope"})
	var se *tcpchat.ServerError
	if !errors.Is(err, tcpchat.ErrHandshake) || !errors.As(err, &se) || se.Code != wire.CodeUnauthorized {
		t.Fatalf("got %v, want a refused handshake", err)
	}
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{Token: "t0k"})
	chattest.Connect(t, c, "/", nil, nil)
}

func TestReconnectAfterServerRestart(t *testing.T) {
	t.Parallel()
	newSrv := func() *tcpchat.Server {
		srv := tcpchat.NewServer(tcpchat.Options{})
		srv.Of("/").On("who", func(e *tcpchat.Event) { e.Ack(e.Socket.ID()) })
		return srv
	}
	srv1 := newSrv()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	done := make(chan error, 1)
	go func() { done <- srv1.Serve(l) }()

	states := make(chan bool, 16)
	logf := func(f string, a ...any) { t.Logf(f, a...) }
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		OnState: func(up bool, err error) { states <- up }, Logf: logf})
	connects := make(chan string, 4)
	sock := chattest.Connect(t, c, "/", nil, func(s *tcpchat.ClientSocket) {
		s.OnConnect(func(s *tcpchat.ClientSocket) { connects <- s.ID() })
	})
	first := chattest.Recv(t, "the first connect", connects)
	chattest.Recv(t, "the state up", states)

	srv1.Close()
	if err := chattest.Recv(t, "Serve to return", done); !errors.Is(err, tcpchat.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	if up := chattest.Recv(t, "the connection state change", states); up {
		t.Fatal("expected a loss")
	}
	srv2 := newSrv()
	var l2 net.Listener
	chattest.Eventually(t, "the port just released, "+addr+", to take a listener again", func() bool {
		l2, err = net.Listen("tcp", addr)
		return err == nil
	})
	done2 := make(chan error, 1)
	go func() { done2 <- srv2.Serve(l2) }()
	defer func() { srv2.Close(); chattest.Recv(t, "the second server's Serve to return", done2) }()

	second := chattest.Recv(t, "the client to connect to the second server", connects) // rejoined the namespace by itself
	if second == first || second == "" {
		t.Fatalf("socket ids %q then %q", first, second)
	}
	res, err := sock.EmitWithAck(ctxT(t), "who")
	if err != nil || string(res) != fmt.Sprintf("[%q]", second) {
		t.Fatalf("after reconnect: %s %v", res, err)
	}
}

func TestShutdownIsGraceful(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{})
	srv.Of("/")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	c, err := tcpchat.Dial(ctxT(t), l.Addr().String(), tcpchat.ClientOptions{NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rec := chattest.Record(c.Socket("/"))
	chattest.Connect(t, c, "/", nil, nil)
	srv.Of("/").Emit("last-words")
	if err := srv.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := chattest.Recv(t, "Serve to return", done); !errors.Is(err, tcpchat.ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	chattest.Recv(t, "the client to end after the server closed", c.Done())
	var se *tcpchat.ServerError
	if !errors.As(c.Err(), &se) || se.Code != wire.CodeShutdown {
		t.Fatalf("client ended with %v, want the shutdown error", c.Err())
	}
	if r := chattest.Next(t, rec); r.Name != "last-words" {
		t.Fatalf("queued event before shutdown lost: %+v", r)
	}
	if err := srv.Serve(l); !errors.Is(err, tcpchat.ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

// dialStuck joins "/" with a small receive buffer and never reads again.
func dialStuck(t *testing.T, addr string) {
	t.Helper()
	stuck := chattest.DialRaw(t, addr, true)
	stuck.Conn.(*net.TCPConn).SetReadBuffer(4096)
	stuck.Handshake(t, "")
	stuck.Join(t, "/")
}

func TestSlowConsumerIsCut(t *testing.T) {
	t.Parallel()
	reasons := make(chan error, 8)
	srv := tcpchat.NewServer(tcpchat.Options{SendQueue: 32, WriteTimeout: time.Minute,
		OnClose: func(ci tcpchat.CloseInfo) { reasons <- ci.Reason }})
	ns := srv.Of("/")
	addr := chattest.NewServer(t, srv)

	dialStuck(t, addr) // never reads after joining
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
	got := make(chan struct{}, 1)
	chattest.Connect(t, c, "/", nil, func(s *tcpchat.ClientSocket) {
		s.On("big", func(*tcpchat.ClientEvent) { got <- struct{}{} })
	})
	big := json.RawMessage(`["` + strings.Repeat("x", 64<<10) + `"]`)
	const sent = 200 // 12.5 MiB: more than the queue and the kernel's buffers hold
	for i := 0; i < sent; i++ {
		// Never blocks on the stuck client; the good one keeps up.
		if _, err := ns.To().EmitRaw("big", big); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(chattest.Timeout):
			t.Fatalf("good client stalled at event %d", i)
		}
	}
	if err := chattest.Recv(t, "the close reason", reasons); !errors.Is(err, tcpchat.ErrSlowConsumer) {
		t.Fatalf("closed with %v, want ErrSlowConsumer", err)
	}
	if st := srv.Stats(); st.SlowConsumerCuts != 1 || st.Connections != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

// A burst far larger than the send queue reaches a recipient that reads
// slower than the publisher sends: the broadcast waits for room (the
// publisher is slowed down) instead of cutting the recipient.
func TestBurstWaitsForSlowReader(t *testing.T) {
	t.Parallel()
	reasons := make(chan error, 8)
	srv := tcpchat.NewServer(tcpchat.Options{SendQueue: 16, OnClose: func(ci tcpchat.CloseInfo) { reasons <- ci.Reason }})
	ns := srv.Of("/")
	addr := chattest.NewServer(t, srv)
	slow := chattest.DialRaw(t, addr, true)
	slow.Conn.(*net.TCPConn).SetReadBuffer(64 << 10)
	slow.Handshake(t, "")
	slow.Join(t, "/")

	const events = 20000 // 20 MB: more than the kernel's buffers hold
	arg := `"` + strings.Repeat("b", 1000) + `"`
	got := readBurst(slow, events, arg)
	for i := 0; i < events; i++ {
		if n, err := ns.To().EmitRaw("burst", json.RawMessage(`[`+strconv.Itoa(i)+`,`+arg+`]`)); n != 1 || err != nil {
			t.Fatalf("emit %d: queued for %d (%v), want 1", i, n, err)
		}
	}
	if err := chattest.Recv(t, "the value the handler sent", got); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if st.SlowConsumerCuts != 0 || st.SendWaits == 0 {
		t.Fatalf("stats %+v: want waits and no cut", st)
	}
	select {
	case err := <-reasons:
		t.Fatalf("a connection ended: %v", err)
	default:
	}
}

// readBurst reads events events [i, arg] in order on slow, more slowly
// than a burst comes (a pause every 1000), and sends the first error or
// nil on the channel it returns.
func readBurst(slow *chattest.Raw, events int, arg string) <-chan error {
	got := make(chan error, 1)
	go func() {
		for i := 0; i < events; i++ {
			if i%1000 == 0 {
				time.Sleep(20 * time.Millisecond) // a reader slower than the burst
			}
			p, err := slow.Read()
			if err != nil {
				got <- fmt.Errorf("event %d: %w", i, err)
				return
			}
			if want := `[` + strconv.Itoa(i) + `,` + arg + `]`; p.Type != wire.TypeEvent || string(p.Args) != want {
				got <- fmt.Errorf("event %d: got %s %.40s", i, p.Type, p.Args)
				return
			}
		}
		got <- nil
	}()
	return got
}

// With a negative SlowConsumerWait a full queue cuts at once, and a
// broadcast never waits.
func TestSlowConsumerNoWait(t *testing.T) {
	t.Parallel()
	reasons := make(chan error, 1)
	srv := tcpchat.NewServer(tcpchat.Options{SendQueue: 8, SlowConsumerWait: -1, WriteTimeout: time.Minute,
		OnClose: func(ci tcpchat.CloseInfo) { reasons <- ci.Reason }})
	ns := srv.Of("/")
	addr := chattest.NewServer(t, srv)
	dialStuck(t, addr)
	big := json.RawMessage(`["` + strings.Repeat("x", 64<<10) + `"]`)
	for i := 0; i < 200; i++ {
		ns.To().EmitRaw("big", big)
	}
	if err := chattest.Recv(t, "the close reason", reasons); !errors.Is(err, tcpchat.ErrSlowConsumer) {
		t.Fatalf("closed with %v, want ErrSlowConsumer", err)
	}
	if st := srv.Stats(); st.SlowConsumerCuts != 1 || st.SendWaits != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestVolatileDropsInsteadOfCutting(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{SendQueue: 8, WriteTimeout: time.Minute})
	ns := srv.Of("/")
	addr := chattest.NewServer(t, srv)
	dialStuck(t, addr)
	big := json.RawMessage(`["` + strings.Repeat("v", 64<<10) + `"]`)
	for i := 0; i < 200; i++ {
		ns.Volatile().EmitRaw("tick", big)
	}
	st := srv.Stats()
	if st.SlowConsumerCuts != 0 || st.VolatileDrops == 0 {
		t.Fatalf("volatile flood: %+v, want drops and no cut", st)
	}
	// The connection is alive: a plain event is still queued for it.
	if n, err := ns.To().EmitRaw("after", nil); n != 1 || err != nil {
		t.Fatalf("after the flood: queued for %d sockets (%v), want 1", n, err)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	reasons := make(chan error, 1)
	srv := tcpchat.NewServer(tcpchat.Options{RateLimit: 5, RateBurst: 10,
		OnClose: func(ci tcpchat.CloseInfo) { reasons <- ci.Reason }})
	srv.Of("/")
	addr := chattest.NewServer(t, srv)
	raw := chattest.DialRaw(t, addr, true)
	raw.Handshake(t, "")
	raw.Join(t, "/")
	ev := wire.Packet{Type: wire.TypeEvent, Namespace: "/", Event: "spam"}
	frame := framing.AppendFrame(nil, ev.AppendTo(nil))
	for i := 0; i < 50; i++ {
		raw.Conn.Write(frame) // the server may close before all are written
	}
	if p := raw.ExpectClose(t); p.Code != wire.CodeRateLimited {
		t.Fatalf("error packet %+v, want code %d", p, wire.CodeRateLimited)
	}
	if err := chattest.Recv(t, "the close reason", reasons); !errors.Is(err, tcpchat.ErrRateLimited) {
		t.Fatalf("reason %v", err)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{MaxFrame: 1024, HandshakeTimeout: 200 * time.Millisecond})
	srv.Of("/").On("echo", func(e *tcpchat.Event) { e.AckRaw(e.Args) })
	addr := chattest.NewServer(t, srv)

	// A healthy client that must stay undisturbed throughout.
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
	good := chattest.Connect(t, c, "/", nil, nil)

	hs := wire.Packet{Type: wire.TypeHandshake, Version: wire.Version}
	tests := []struct {
		name      string
		handshake bool
		payload   []byte // sent as one frame
		rawBytes  []byte // sent as is
		code      uint16
	}{
		{"garbage packet", true, []byte{0xde, 0xad, 0xbe, 0xef}, nil, wire.CodeBadPacket},
		{"empty frame", true, []byte{}, nil, wire.CodeBadPacket},
		{"args not JSON", true, append([]byte{'E', 0, 1, '/', 4, 'e', 'c', 'h', 'o'}, "[1,"...), nil, wire.CodeBadPacket},
		{"args look like an array but are not JSON", true, append([]byte{'E', 0, 1, '/', 4, 'e', 'c', 'h', 'o'}, "[1,]"...), nil, wire.CodeBadPacket},
		{"frame too large", true, nil, []byte{0, 0, 8, 0, 'E'}, wire.CodeFrameTooLarge},
		{"huge length", false, nil, []byte{0xff, 0xff, 0xff, 0xff}, wire.CodeFrameTooLarge},
		{"event before handshake", false, (&wire.Packet{Type: wire.TypeEvent, Namespace: "/", Event: "x"}).AppendTo(nil), nil, wire.CodeHandshake},
		{"wrong version", false, (&wire.Packet{Type: wire.TypeHandshake, Version: 99}).AppendTo(nil), nil, wire.CodeHandshake},
		{"welcome from a client", true, (&wire.Packet{Type: wire.TypeWelcome}).AppendTo(nil), nil, wire.CodeProtocol},
		{"no handshake at all", false, nil, nil, wire.CodeHandshake},
		{"truncated frame then silence", false, nil, []byte{0, 0, 0, 9, 'H'}, wire.CodeHandshake},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := chattest.DialRaw(t, addr, true)
			if tc.handshake {
				raw.Send(t, hs)
				raw.Expect(t, wire.TypeWelcome)
			}
			if tc.payload != nil {
				raw.SendPayload(t, tc.payload)
			}
			if tc.rawBytes != nil {
				raw.Conn.Write(tc.rawBytes)
			}
			if p := raw.ExpectClose(t); p.Code != tc.code {
				t.Fatalf("error packet %+v, want code %d", p, tc.code)
			}
			if res, err := good.EmitWithAck(ctxT(t), "echo", tc.name); err != nil || !strings.Contains(string(res), tc.name) {
				t.Fatalf("healthy client disturbed: %s %v", res, err)
			}
		})
	}
}

func TestSniffing(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{HandshakeTimeout: time.Second})
	srv.Of("/")
	srv.HandleHTTP("GET /hello", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello\n") }))
	addr := chattest.NewServer(t, srv)
	get := func(path string) string {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	if got := get("/healthz"); got != "200 ok\n" {
		t.Fatalf("/healthz: %q", got)
	}
	if got := get("/hello"); got != "200 hello\n" {
		t.Fatalf("/hello: %q", got)
	}
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
	chattest.Connect(t, c, "/", nil, nil)
	if got := get("/metrics"); !strings.Contains(got, "wiredojo_chat_connections 1") || !strings.Contains(got, "wiredojo_chat_slow_consumer_cuts_total 0") {
		t.Fatalf("/metrics:\n%s", got)
	}
	for _, in := range []string{"hello there\n", "WDJO\x07"} {
		raw := chattest.DialRaw(t, addr, false)
		raw.Conn.Write([]byte(in))
		raw.Conn.SetReadDeadline(time.Now().Add(chattest.Timeout))
		b, _ := io.ReadAll(raw.Conn)
		if !strings.HasPrefix(string(b), "wiredojo: ") {
			t.Fatalf("%q: got %q, want an explanation", in, b)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	reasons := make(chan error, 4)
	srv := tcpchat.NewServer(tcpchat.Options{PingInterval: 50 * time.Millisecond, PingTimeout: time.Second,
		OnClose: func(ci tcpchat.CloseInfo) { reasons <- ci.Reason }})
	srv.Of("/").On("echo", func(e *tcpchat.Event) { e.AckRaw(e.Args) })
	addr := chattest.NewServer(t, srv)

	// A raw peer that never answers pings is dropped.
	raw := chattest.DialRaw(t, addr, true)
	w := raw.Handshake(t, "")
	if w.PingInterval != 50 || w.PingTimeout != 1000 {
		t.Fatalf("welcome %+v", w)
	}
	raw.Expect(t, wire.TypePing)
	if p := raw.ExpectClose(t); p.Code != wire.CodeHeartbeat {
		t.Fatalf("error packet %+v, want heartbeat", p)
	}
	if err := chattest.Recv(t, "the close reason", reasons); !errors.Is(err, tcpchat.ErrHeartbeat) {
		t.Fatalf("reason %v", err)
	}

	// The Go client answers pings: after many intervals it is still there.
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{NoReconnect: true})
	sock := chattest.Connect(t, c, "/", nil, nil)
	time.Sleep(500 * time.Millisecond) // ten heartbeat intervals
	if res, err := sock.EmitWithAck(ctxT(t), "echo", 1); err != nil || string(res) != "[1]" {
		t.Fatalf("after heartbeats: %s %v (client: %v)", res, err, c.Err())
	}
}

func TestBuiltins(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{NewNamespace: builtin.Install})
	addr := chattest.NewServer(t, srv)
	join := func(name, room string) (*tcpchat.ClientSocket, <-chan chattest.Received) {
		c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
		var rec <-chan chattest.Received
		s := chattest.Connect(t, c, "/chat", map[string]string{"name": name}, func(s *tcpchat.ClientSocket) { rec = chattest.Record(s) })
		if room != "" {
			res, err := s.EmitWithAck(ctxT(t), "join", room)
			if err != nil || !strings.Contains(string(res), `"room":"`+room+`"`) {
				t.Fatalf("join: %s %v", res, err)
			}
		}
		return s, rec
	}
	ann, annRec := join("ann", "r")
	_, bobRec := join("bob", "r")
	_, cidRec := join("cid", "other")

	res, err := ann.EmitWithAck(ctxT(t), "message", "hi all")
	if err != nil || string(res) != `[{"delivered":1}]` {
		t.Fatalf("message ack: %s %v", res, err)
	}
	if r := chattest.Next(t, bobRec); r.Name != "message" || r.Args != `[{"from":"ann","room":"r","text":"hi all"}]` {
		t.Fatalf("bob got %+v", r)
	}
	res, err = ann.EmitWithAck(ctxT(t), "news", map[string]int{"n": 1})
	if err != nil || string(res) != `[{"delivered":1}]` {
		t.Fatalf("relay ack: %s %v", res, err)
	}
	if r := chattest.Next(t, bobRec); r.Name != "news" || r.Args != `[{"n":1}]` {
		t.Fatalf("bob got %+v", r)
	}
	if res, err := ann.EmitWithAck(ctxT(t), "echo", "x", 2); err != nil || string(res) != `["x",2]` {
		t.Fatalf("echo: %s %v", res, err)
	}
	ann.Emit("echo", "back")
	if r := chattest.Next(t, annRec); r.Name != "echo" || r.Args != `["back"]` {
		t.Fatalf("echo without ack: %+v", r)
	}
	srv.Of("/chat").Emit("marker")
	if r := chattest.Next(t, cidRec); r.Name != "marker" {
		t.Fatalf("cid (other room) got %+v", r)
	}
}

// silentServer accepts one framed client, answers its handshake with
// welcome and then sends nothing, reading until the client gives up; it
// returns the listener's address.
func silentServer(t *testing.T, welcome wire.Packet) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		nc, err := l.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		r := framing.NewReader(nc, 1<<20)
		head := make([]byte, len(wire.Preamble))
		if _, err := io.ReadFull(nc, head); err != nil {
			return
		}
		if _, err := r.ReadFrame(); err != nil {
			return
		}
		nc.Write(framing.AppendFrame(nil, welcome.AppendTo(nil)))
		io.Copy(io.Discard, nc) // until the client gives up
	}()
	return l.Addr().String()
}

func TestClientDropsASilentServer(t *testing.T) {
	t.Parallel()
	// A server that welcomes with a short heartbeat, then never pings.
	addr := silentServer(t, wire.Packet{Type: wire.TypeWelcome, Version: wire.Version, SessionID: "s", PingInterval: 20, PingTimeout: 30, MaxFrame: 1 << 20})
	lost := make(chan error, 1)
	c, err := tcpchat.Dial(ctxT(t), addr, tcpchat.ClientOptions{NoReconnect: true,
		OnState: func(up bool, err error) {
			if !up {
				lost <- err
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := chattest.Recv(t, "the client to notice the loss", lost); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("client ended with %v, want a heartbeat timeout", err)
	}
	chattest.Recv(t, "the client to end after the heartbeat timeout", c.Done())
}

// TestClientRefusesAWelcomeWithoutHeartbeat: a welcome whose ping interval
// or ping timeout is 0 is refused (ErrHandshake). The client's read
// deadline is their sum: before, a server that welcomed with 0 and 0 and
// then said nothing held the client for ever.
func TestClientRefusesAWelcomeWithoutHeartbeat(t *testing.T) {
	t.Parallel()
	for _, w := range []wire.Packet{{PingTimeout: 20000}, {PingInterval: 25000}, {}} {
		w.Type, w.Version, w.SessionID, w.MaxFrame = wire.TypeWelcome, wire.Version, "s", 1<<20
		addr := silentServer(t, w)
		c, err := tcpchat.Dial(ctxT(t), addr, tcpchat.ClientOptions{NoReconnect: true})
		if err == nil {
			c.Close()
			t.Errorf("welcome with ping interval %d ms, ping timeout %d ms: Dial connected, want ErrHandshake", w.PingInterval, w.PingTimeout)
			continue
		}
		if !errors.Is(err, tcpchat.ErrHandshake) || !strings.Contains(err.Error(), "no heartbeat") {
			t.Errorf("welcome with ping interval %d ms, ping timeout %d ms: Dial = %v, want ErrHandshake: no heartbeat", w.PingInterval, w.PingTimeout, err)
		}
	}
}

func TestCloseSendsWhatWasEmitted(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{})
	got := make(chan int, 100)
	srv.Of("/").On("n", func(e *tcpchat.Event) {
		var n int
		e.Bind(&n)
		got <- n
	})
	addr := chattest.NewServer(t, srv)
	c, err := tcpchat.Dial(ctxT(t), addr, tcpchat.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sock := chattest.Connect(t, c, "/", nil, nil)
	for i := 0; i < 100; i++ {
		if err := sock.Emit("n", i); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	for i := 0; i < 100; i++ {
		select {
		case n := <-got:
			if n != i {
				t.Fatalf("event %d arrived as %d", i, n)
			}
		case <-time.After(chattest.Timeout):
			t.Fatalf("only %d of 100 events arrived after Close", i)
		}
	}
	if err := sock.Emit("n", 100); !errors.Is(err, tcpchat.ErrClosed) {
		t.Fatalf("emit after Close: %v", err)
	}
}

// A publisher's burst relayed by a handler to a reader slower than the
// burst: the publisher's reading goroutine writes to the recipient itself
// at the end of each read (conn.flushDirectLocked) until the socket is
// full, and what the socket did not take goes out first, in order, by the
// writer goroutine; the full queue then slows the publisher, without a cut. (No small
// SO_RCVBUF for the reader: set after the handshake it can stall the
// connection on a zero window for seconds.)
func TestRelayedBurstToSlowReader(t *testing.T) {
	t.Parallel()
	reasons := make(chan error, 8)
	srv := tcpchat.NewServer(tcpchat.Options{SendQueue: 64, RateLimit: -1, SlowConsumerWait: time.Minute, OnClose: func(ci tcpchat.CloseInfo) { reasons <- ci.Reason }})
	ns := srv.Of("/")
	ns.On("burst", func(e *tcpchat.Event) { e.Socket.Broadcast().EmitRaw("burst", e.Args) })
	addr := chattest.NewServer(t, srv)
	slow := chattest.DialRaw(t, addr, true)
	slow.Handshake(t, "")
	slow.Join(t, "/")
	pub := chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/", nil, nil)

	const events = 16000 // 16 MB: more than the kernel's buffers hold
	arg := `"` + strings.Repeat("r", 1000) + `"`
	got := readBurst(slow, events, arg)
	for i := 0; i < events; i++ {
		if err := pub.EmitRaw("burst", json.RawMessage(`[`+strconv.Itoa(i)+`,`+arg+`]`)); err != nil {
			t.Fatalf("emit %d: %v", i, err)
		}
	}
	if err := chattest.Recv(t, "the slow reader's last event", got); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.SlowConsumerCuts != 0 {
		t.Fatalf("stats %+v: want no cut", st)
	}
	select {
	case err := <-reasons:
		t.Fatalf("a connection ended: %v", err)
	default:
	}
}

// Socket.Set keeps one value per key (a second Set replaces it), Get finds
// each and nil for a key never set.
func TestSocketValues(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{})
	got := make(chan string, 1)
	srv.Of("/").OnConnection(func(s *tcpchat.Socket) {
		s.Set("a", 1)
		s.Set("b", "two")
		s.Set("a", 3)
		got <- fmt.Sprintf("%v %v %v", s.Get("a"), s.Get("b"), s.Get("c"))
	})
	addr := chattest.NewServer(t, srv)
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
	chattest.Connect(t, c, "/", nil, nil)
	if v := chattest.Recv(t, "the socket's values", got); v != "3 two <nil>" {
		t.Fatalf("Get a, b, c: %s, want 3 two <nil>", v)
	}
}
