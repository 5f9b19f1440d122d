package redisadapter_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/internal/redistest"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
)

// roomLog is one node's room events as `chat serve --verbose` reads them:
// kind, room, socket (by the name the test gave it) and whose room it is
// ("here" for the node's own, else the node it happened on).
type roomLog struct {
	node  string
	ch    chan tcpchat.RoomEvent
	names map[string]string // socket id -> name; set before the socket joins
}

func newRoomLog(node string) *roomLog {
	return &roomLog{node: node, ch: make(chan tcpchat.RoomEvent, 64), names: map[string]string{}}
}

func (l *roomLog) observe(e tcpchat.RoomEvent) { l.ch <- e }

func (l *roomLog) line(e tcpchat.RoomEvent) string {
	s := e.Kind + " " + e.Room
	if e.SocketID != "" {
		name, ok := l.names[e.SocketID]
		if !ok {
			name = "socket " + e.SocketID
		}
		s += " " + name
	}
	if e.Node == "" {
		return s + " here"
	}
	return s + " on " + e.Node
}

// expect waits for the node's next room events and fails, saying which it
// waited for, unless they are want.
func (l *roomLog) expect(t *testing.T, what string, want ...string) {
	t.Helper()
	var got []string
	for range want {
		e := chattest.Recv(t, fmt.Sprintf("%s: the room events of %s (want %q, got %q so far)", l.node, what, want, got), l.ch)
		got = append(got, l.line(e))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s: room events of %s:\n got %q\nwant %q", l.node, what, got, want)
	}
}

// A node reports the room events of the other nodes too, each saying
// which node's room it is: when a member on node 2 is in lobby and a
// client on node 1 joins lobby, emits and leaves, node 2 reports node 1's
// lobby created and deleted, not its own (lab 7's node2.log read "delete-
// room lobby" while its listener was in it). Node 2's lobby and its member
// stay, and emits to lobby from either node still reach the member.
func TestRoomEventsSayWhoseRoom(t *testing.T) {
	rs := redistest.Start(t, redistest.Config{})
	log1, log2 := newRoomLog("node 1"), newRoomLog("node 2")
	n1 := startNode(t, rs, "n1", log1.observe)
	n2 := startNode(t, rs, "n2", log2.observe)
	ctx := ctxT(t)
	builtin.Install(n1.srv.Of("/chat")) // node 1 listens on /chat before node 2's join

	// The listener joins lobby on node 2.
	c2 := chattest.Dial(t, n2.addr, tcpchat.ClientOptions{})
	var rec <-chan chattest.Received
	s2 := chattest.Connect(t, c2, "/chat", nil, func(s *tcpchat.ClientSocket) { rec = chattest.Record(s) })
	log1.names[s2.ID()], log2.names[s2.ID()] = "listener", "listener"
	if _, err := s2.EmitWithAck(ctx, builtin.EventJoin, "lobby"); err != nil {
		t.Fatal(err)
	}
	log2.expect(t, "the listener's join", "create-room lobby here", "join-room lobby listener here")
	log1.expect(t, "the listener's join", "create-room lobby on n2", "join-room lobby listener on n2")

	// The emitter joins lobby on node 1, emits there (the built-in relay
	// sends to its rooms) and goes.
	c1 := chattest.Dial(t, n1.addr, tcpchat.ClientOptions{})
	s1 := chattest.Connect(t, c1, "/chat", nil, nil)
	log1.names[s1.ID()], log2.names[s1.ID()] = "emitter", "emitter"
	if _, err := s1.EmitWithAck(ctx, builtin.EventJoin, "lobby"); err != nil {
		t.Fatal(err)
	}
	if err := s1.Emit("hello", "from node 1"); err != nil {
		t.Fatal(err)
	}
	if r := chattest.Recv(t, "the listener on node 2 to get hello from node 1", rec); r.Name != "hello" || r.Args != `["from node 1"]` {
		t.Fatalf("listener got %+v, want hello from node 1", r)
	}
	c1.Close()
	log1.expect(t, "the emitter's visit", "create-room lobby here", "join-room lobby emitter here",
		"leave-room lobby emitter here", "delete-room lobby here")
	log2.expect(t, "the emitter's visit", "create-room lobby on n1", "join-room lobby emitter on n1",
		"leave-room lobby emitter on n1", "delete-room lobby on n1")

	// Node 2's own lobby is still there with its member.
	if n := n2.srv.Of("/chat").Adapter().Size("lobby"); n != 1 {
		t.Fatalf("node 2's lobby has %d local members after node 1's lobby went, want 1 (the listener)", n)
	}
	for _, from := range []*node{n1, n2} {
		name := map[*node]string{n1: "node 1", n2: "node 2"}[from]
		if _, err := from.srv.Of("/chat").To("lobby").Emit("again", name); err != nil {
			t.Fatal(err)
		}
		r := chattest.Recv(t, "the listener on node 2 to get a second emit to lobby from "+name, rec)
		if r.Name != "again" || r.Args != fmt.Sprintf("[%q]", name) {
			t.Fatalf("listener got %+v, want again from %s", r, name)
		}
	}

	// The listener goes: now node 2's lobby is deleted, and node 1 says
	// it was node 2's.
	c2.Close()
	log2.expect(t, "the listener's leave", "leave-room lobby listener here", "delete-room lobby here")
	log1.expect(t, "the listener's leave", "leave-room lobby listener on n2", "delete-room lobby on n2")
}
