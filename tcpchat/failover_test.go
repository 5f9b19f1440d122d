package tcpchat_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// twoNodes starts two servers sharing one store, as two `chat serve
// --redis` nodes share Redis (without the bus: no broadcasts between
// them). The first is returned with a stop function.
func twoNodes(t *testing.T) (a, b *tcpchat.Server, addrA, addrB string, stopA func()) {
	t.Helper()
	st := store.NewMemory(store.Options{})
	t.Cleanup(func() { st.Close() })
	newSrv := func() *tcpchat.Server {
		srv := tcpchat.NewServer(tcpchat.Options{Store: st, NewNamespace: builtin.Install})
		builtin.Install(srv.Of("/"))
		return srv
	}
	a, b = newSrv(), newSrv()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(l) }()
	stopped := false
	stopA = func() {
		if stopped {
			return
		}
		stopped = true
		a.Close()
		if err := chattest.Recv(t, "node A's Serve to return", done); !errors.Is(err, tcpchat.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(stopA)
	return a, b, l.Addr().String(), chattest.NewServer(t, b), stopA
}

// A client given several addresses resumes on the next one when its server
// goes away: its durable queue, its session and its room are found there.
func TestClientFailsOverToAnotherAddress(t *testing.T) {
	t.Parallel()
	a, b, addrA, addrB, stopA := twoNodes(t)
	ctx := ctxT(t)
	onB := make(chan *tcpchat.Socket, 4)
	b.Of("/chat").OnConnection(func(s *tcpchat.Socket) { onB <- s })
	connected := make(chan string, 4)
	c := chattest.Dial(t, addrA, tcpchat.ClientOptions{ClientID: "F", Addrs: []string{addrB},
		BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	var rec <-chan chattest.Received
	s := chattest.Connect(t, c, "/chat", nil, func(s *tcpchat.ClientSocket) {
		rec = chattest.Record(s)
		s.OnConnect(func(s *tcpchat.ClientSocket) { connected <- s.Client().Addr() })
	})
	if got := chattest.Recv(t, "the connect event", connected); got != addrA {
		t.Fatalf("first connection to %s, want %s", got, addrA)
	}
	if _, err := s.EmitWithAck(ctx, builtin.EventJoin, "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Of("/chat").EmitDurable(ctx, tcpchat.DurableTarget{Clients: []string{"F"}}, "q", 1); err != nil {
		t.Fatal(err)
	}
	if r := chattest.Next(t, rec); r.Name != "q" || r.Args != "[1]" {
		t.Fatalf("on A: %+v", r)
	}
	session := c.SessionID()

	stopA()
	select {
	case got := <-connected:
		if got != addrB || c.Addr() != addrB {
			t.Fatalf("reconnected to %s (Addr %s), want %s", got, c.Addr(), addrB)
		}
	case <-ctx.Done():
		t.Fatal("the client did not move to the second address")
	}
	if !c.Resumed() || c.SessionID() != session {
		t.Fatalf("on B: resumed %v, session %s (was %s)", c.Resumed(), c.SessionID(), session)
	}
	// Emitted on B to the room: the client id's durable membership and the
	// recovered room both hold there.
	if _, err := b.Of("/chat").EmitDurable(ctx, tcpchat.DurableTarget{Rooms: []string{"r"}}, "q", 2); err != nil {
		t.Fatal(err)
	}
	if r := chattest.Next(t, rec); r.Name != "q" || r.Args != "[2]" {
		t.Fatalf("on B: %+v (the first message must not come again)", r)
	}
	sb := chattest.Recv(t, "the socket on B", onB)
	chattest.Eventually(t, "the room to come back on B", func() bool { return len(sb.Rooms()) > 0 })
	b.Of("/chat").To("r").Emit("live", 3)
	if r := chattest.Next(t, rec); r.Name != "live" {
		t.Fatalf("room broadcast on B: %+v", r)
	}
}

// Dial tries the other addresses when the first does not answer, and says
// which ones failed when none does.
func TestDialTriesEveryAddress(t *testing.T) {
	t.Parallel()
	_, _, _, addrB, _ := twoNodes(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	c := chattest.Dial(t, dead, tcpchat.ClientOptions{Addrs: []string{addrB}})
	if c.Addr() != addrB {
		t.Fatalf("connected to %s, want %s", c.Addr(), addrB)
	}
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	_, err = tcpchat.Dial(ctx, dead, tcpchat.ClientOptions{Addrs: []string{dead}, NoReconnect: true})
	if err == nil || !strings.Contains(err.Error(), "no server of 2 answered") || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial to two dead addresses: %v", err)
	}
}
