package redisadapter_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wiredojo/wiredojo/internal/redistest"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/redisadapter"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/redisstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// node is one chat server of a cluster sharing one Redis.
type node struct {
	srv  *tcpchat.Server
	addr string
	st   store.Store
}

// startNode starts a node; onRoom (may be nil) observes its room events.
func startNode(t *testing.T, rs *redistest.Server, name string, onRoom func(tcpchat.RoomEvent)) *node {
	t.Helper()
	ctx := context.Background()
	st, err := redisstore.Open(ctx, rs.URL(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := redisadapter.Open(ctx, rs.URL(), redisadapter.Options{Node: name, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	srv := tcpchat.NewServer(tcpchat.Options{Store: st, Adapter: cl.Adapter, NewNamespace: builtin.Install, OnRoomEvent: onRoom})
	builtin.Install(srv.Of("/"))
	n := &node{srv: srv, st: st}
	t.Cleanup(func() { // after the server's cleanup
		cl.Close()
		st.Close()
	})
	n.addr = chattest.NewServer(t, srv) // closes srv at cleanup
	return n
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// A room broadcast on one node reaches the members on the other; room
// lifecycle events are seen on both.
func TestBroadcastAcrossNodes(t *testing.T) {
	rs := redistest.Start(t, redistest.Config{})
	joined := make(chan tcpchat.RoomEvent, 16)
	n1 := startNode(t, rs, "n1", func(e tcpchat.RoomEvent) {
		if e.Kind == tcpchat.RoomJoined {
			joined <- e
		}
	})
	n2 := startNode(t, rs, "n2", nil)
	ctx := ctxT(t)
	n1.srv.Of("/chat") // the namespace exists (and listens) on node 1
	c2 := chattest.Dial(t, n2.addr, tcpchat.ClientOptions{})
	var rec <-chan chattest.Received
	s2 := chattest.Connect(t, c2, "/chat", nil, func(s *tcpchat.ClientSocket) { rec = chattest.Record(s) })
	if _, err := s2.EmitWithAck(ctx, builtin.EventJoin, "lobby"); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-joined:
		if e.Room != "lobby" || e.Namespace != "/chat" {
			t.Fatalf("room event %+v", e)
		}
	case <-ctx.Done():
		t.Fatal("node 1 never saw the join on node 2")
	}
	if _, err := n1.srv.Of("/chat").To("lobby").Emit("news", "hello"); err != nil {
		t.Fatal(err)
	}
	if r := chattest.Next(t, rec); r.Name != "news" || r.Args != `["hello"]` {
		t.Fatalf("got %+v", r)
	}
	// Another room does not reach it.
	n1.srv.Of("/chat").To("elsewhere").Emit("news", "no")
	n1.srv.Of("/chat").Emit("all", 1)
	if r := chattest.Next(t, rec); r.Name != "all" {
		t.Fatalf("got %+v", r)
	}
}

// A durable emit on one node reaches a client connected to the other at
// once; a client whose node dies resumes on the other without losing a
// durable message.
func TestDurableAcrossNodes(t *testing.T) {
	rs := redistest.Start(t, redistest.Config{AppendFsync: "always"})
	n1, n2 := startNode(t, rs, "n1", nil), startNode(t, rs, "n2", nil)
	ctx := ctxT(t)

	c := chattest.Dial(t, n2.addr, tcpchat.ClientOptions{ClientID: "dee"})
	var rec <-chan chattest.Received
	s := chattest.Connect(t, c, "/chat", nil, func(s *tcpchat.ClientSocket) { rec = chattest.Record(s) })
	if _, err := s.EmitWithAck(ctx, builtin.EventJoin, "ops"); err != nil {
		t.Fatal(err)
	}
	if _, err := n1.srv.Of("/chat").EmitDurable(ctx, tcpchat.DurableTarget{Rooms: []string{"ops"}}, "alert", 1); err != nil {
		t.Fatal(err)
	}
	if r := chattest.Next(t, rec); r.Name != "alert" || r.Args != "[1]" {
		t.Fatalf("got %+v", r)
	}

	// Node 2 dies; two durable emits land while dee is away.
	waitEmpty(t, n1.st, "dee")
	c.Close()
	n2.srv.Close()
	for i := 2; i <= 3; i++ {
		if res, err := n1.srv.Of("/chat").EmitDurable(ctx, tcpchat.DurableTarget{Rooms: []string{"ops"}}, "alert", i); err != nil || res.Recipients != 1 {
			t.Fatalf("emit %d: %+v %v", i, res, err)
		}
	}
	c1 := chattest.Dial(t, n1.addr, tcpchat.ClientOptions{ClientID: "dee", ResumeToken: c.ResumeToken()})
	var rec1 <-chan chattest.Received
	chattest.Connect(t, c1, "/chat", nil, func(s *tcpchat.ClientSocket) { rec1 = chattest.Record(s) })
	for i := 2; i <= 3; i++ {
		if r := chattest.Next(t, rec1); r.Name != "alert" || r.Args != "["+string(rune('0'+i))+"]" {
			t.Fatalf("after resume: got %+v", r)
		}
	}
	select {
	case r := <-rec1:
		t.Fatalf("unexpected %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
}

// Redis restarts under the nodes: broadcasts across nodes work again once
// it is back.
func TestRedisRestart(t *testing.T) {
	rs := redistest.Start(t, redistest.Config{AppendFsync: "always"})
	n1, n2 := startNode(t, rs, "n1", nil), startNode(t, rs, "n2", nil)
	c2 := chattest.Dial(t, n2.addr, tcpchat.ClientOptions{})
	var rec <-chan chattest.Received
	chattest.Connect(t, c2, "/", nil, func(s *tcpchat.ClientSocket) { rec = chattest.Record(s) })
	rs.Kill()
	rs.Restart()
	i := 0
	chattest.Eventually(t, "a broadcast across nodes after the Redis restart", func() bool {
		i++
		n1.srv.Of("/").Emit("ping", i)
		select {
		case r := <-rec:
			if r.Name != "ping" {
				t.Fatalf("got %+v", r)
			}
			return true
		case <-time.After(100 * time.Millisecond):
			return false
		}
	})
}

func waitEmpty(t *testing.T, st store.Store, client string) {
	t.Helper()
	chattest.Eventually(t, "the queue of "+client+" to empty", func() bool {
		qs, err := st.Queues(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			if q.Client == client {
				return q.Depth == 0
			}
		}
		return false
	})
}
