package builtin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/boltstore"
)

// TestRelayAcksDelivered: an event of the application's own and a chat
// message are relayed to the sender's rooms, and the sender's ack says to
// how many others, as [{"delivered": n}].
func TestRelayAcksDelivered(t *testing.T) {
	srv := tcpchat.NewServer(tcpchat.Options{})
	builtin.Install(srv.Of("/chat"))
	addr := chattest.NewServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()

	var socks []*tcpchat.ClientSocket
	for range 3 {
		s := chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/chat", nil, nil)
		if _, err := s.EmitWithAck(ctx, builtin.EventJoin, "lobby"); err != nil {
			t.Fatalf("join lobby: %v", err)
		}
		socks = append(socks, s)
	}
	got := chattest.Record(socks[1])
	for _, c := range []struct {
		event string
		arg   any
	}{
		{"score", map[string]int{"points": 3}},
		{builtin.EventMessage, "hi"},
	} {
		ack, err := socks[0].EmitWithAck(ctx, c.event, c.arg)
		if err != nil {
			t.Fatalf("%s: %v", c.event, err)
		}
		if string(ack) != `[{"delivered":2}]` {
			t.Errorf("%s acked %s, want [{\"delivered\":2}]", c.event, ack)
		}
		if r := chattest.Next(t, got); r.Name != c.event {
			t.Errorf("the other member got %q, want %q", r.Name, c.event)
		}
	}
	// Without an ack asked for, the relay still delivers and answers nothing.
	if err := socks[0].Emit("score", 4); err != nil {
		t.Fatal(err)
	}
	if r := chattest.Next(t, got); r.Name != "score" {
		t.Errorf("the other member got %q, want score", r.Name)
	}
}

// TestPresenceNotices: a member that asked for presence hears "joined" and
// "left" for the rooms it is in, "left" also when a member disconnects;
// one that did not ask hears none.
func TestPresenceNotices(t *testing.T) {
	srv := tcpchat.NewServer(tcpchat.Options{})
	builtin.Install(srv.Of("/chat"))
	addr := chattest.NewServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	join := func(s *tcpchat.ClientSocket, ev string) {
		t.Helper()
		if _, err := s.EmitWithAck(ctx, ev, "lobby"); err != nil {
			t.Fatalf("%s lobby: %v", ev, err)
		}
	}
	var heard, deaf <-chan chattest.Received
	lis := chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/chat", map[string]any{"name": "lis", "presence": true},
		func(s *tcpchat.ClientSocket) { heard = chattest.Record(s) })
	join(lis, builtin.EventJoin)
	other := chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/chat", map[string]any{"name": "bob"},
		func(s *tcpchat.ClientSocket) { deaf = chattest.Record(s) })
	// The notices are volatile: one sent while the listener's queue still
	// holds the one before may be dropped (as a busy client's volatile
	// packets are), so each step waits until the listener heard the last.
	hears := func(want string) {
		t.Helper()
		if r := chattest.Next(t, heard); r.Name+" "+r.Args != want {
			t.Fatalf("the listener heard %s %s, want %s", r.Name, r.Args, want)
		}
	}
	join(other, builtin.EventJoin)
	hears(`joined [{"name":"bob","room":"lobby","members":2}]`)
	annC := chattest.Dial(t, addr, tcpchat.ClientOptions{})
	ann := chattest.Connect(t, annC, "/chat", map[string]any{"name": "ann"}, nil)
	join(ann, builtin.EventJoin)
	hears(`joined [{"name":"ann","room":"lobby","members":3}]`)
	join(ann, builtin.EventLeave)
	hears(`left [{"name":"ann","room":"lobby","members":2}]`)
	join(ann, builtin.EventJoin)
	hears(`joined [{"name":"ann","room":"lobby","members":3}]`)
	annC.Close()
	hears(`left [{"name":"ann","room":"lobby","members":2}]`)
	// bob asked for no presence: after ann's joins and leaves and the
	// listener's own, the message is the first thing he gets.
	join(lis, builtin.EventLeave)
	join(lis, builtin.EventJoin)
	if _, err := lis.EmitWithAck(ctx, builtin.EventMessage, "hi"); err != nil {
		t.Fatal(err)
	}
	if r := chattest.Next(t, deaf); r.Name != builtin.EventMessage {
		t.Fatalf("bob got %s %s first, want the message (no presence notices)", r.Name, r.Args)
	}
}

// TestDurablePipelined: a client keeps a thousand durable emits in flight
// on one connection (ClientSocket.EmitWithAckFunc); the relay queues them
// without waiting for the store, so they share its writes (far fewer bolt
// commits than emits), and they are acknowledged, and queued, in the order
// they were sent.
func TestDurablePipelined(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "q.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := tcpchat.NewServer(tcpchat.Options{Store: st, RateLimit: -1})
	builtin.Install(srv.Of("/"))
	addr := chattest.NewServer(t, srv)
	pub := chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/", nil, nil)

	const n = 1000
	type answer struct {
		i   int
		ack string
		err error
	}
	answers := make(chan answer, n)
	for i := range n {
		req := `[{"to":["D"],"event":"e","args":[` + strconv.Itoa(i) + `]}]`
		err := pub.EmitWithAckFunc(builtin.EventDurable, json.RawMessage(req), func(ack json.RawMessage, err error) {
			answers <- answer{i, string(ack), err}
		})
		if err != nil {
			t.Fatalf("emit %d: %v", i, err)
		}
	}
	ids := make([]string, n)
	for want := range n {
		a := chattest.Recv(t, "the answer to durable emit "+strconv.Itoa(want), answers)
		var res []struct {
			ID         string `json:"id"`
			Recipients int    `json:"recipients"`
		}
		if a.err != nil || json.Unmarshal([]byte(a.ack), &res) != nil || len(res) != 1 || res[0].Recipients != 1 || len(res[0].ID) != 32 {
			t.Fatalf("durable emit %d answered %s, %v; want [{\"id\":ID,\"recipients\":1}]", a.i, a.ack, a.err)
		}
		if a.i != want {
			t.Fatalf("answer to emit %d came when %d was due: answers out of order", a.i, want)
		}
		ids[a.i] = res[0].ID
	}
	if c := st.Stats().Commits; c > n/4 {
		t.Errorf("%d bolt commits for %d pipelined durable emits: they did not share writes", c, n)
	}
	msgs, err := st.Pending(context.Background(), "D", 0, 0, nil)
	if err != nil || len(msgs) != n {
		t.Fatalf("D has %d pending (%v), want %d", len(msgs), err, n)
	}
	for i, m := range msgs {
		if m.ID.String() != ids[i] || string(m.Payload) != "["+strconv.Itoa(i)+"]" {
			t.Fatalf("D's message %d is %s %s, want emit %d's (%s)", i, m.ID, m.Payload, i, ids[i])
		}
	}
	ds := srv.DurableStats()
	if ds.Emits != n || ds.Batches < 1 || ds.Batches > int64(st.Stats().Commits) {
		t.Errorf("DurableStats: %d emits in %d batches, want %d in at most %d (the bolt commits)", ds.Emits, ds.Batches, n, st.Stats().Commits)
	}
	// the writer frees an emit's place after its answer went out
	testkit.Eventually(t, 5*time.Second, "DurableStats.Waiting back to 0", func() bool { return srv.DurableStats().Waiting == 0 })
	t.Logf("%d durable emits, %d bolt commits, %d writer batches", n, st.Stats().Commits, ds.Batches)
}

// TestDurableEmitsPacedNotCut: durable emits and the acknowledgements of
// queued events are flow-controlled (the store's writes, the in-flight
// window), so they do not count against the packet rate limit: with a
// limit of 10 packets/s (bursts of 100), a publisher pipelines 3000 durable
// emits to a consumer that acknowledges 3000 queued events, and neither is
// cut. Other packets still count: 200 durable emits the relay refuses at
// once (a bad request) get their sender cut.
func TestDurableEmitsPacedNotCut(t *testing.T) {
	st := store.NewMemory(store.Options{})
	defer st.Close()
	srv := tcpchat.NewServer(tcpchat.Options{Store: st, RateLimit: 10, RateBurst: 100})
	builtin.Install(srv.Of("/"))
	addr := chattest.NewServer(t, srv)
	got := make(chan int, 64)
	done := make(chan struct{}) // closed when the test ends: nothing below waits for it then
	defer close(done)
	consumer := chattest.Dial(t, addr, tcpchat.ClientOptions{ClientID: "D"})
	consumer.Socket("/").On("e", func(e *tcpchat.ClientEvent) {
		var i []int
		if json.Unmarshal(e.Args, &i) == nil && len(i) == 1 {
			select {
			case got <- i[0]:
			case <-done:
			}
		}
	})
	chattest.Connect(t, consumer, "/", nil, nil)
	pub := chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/", nil, nil)

	const n, window = 3000, 256
	slots := make(chan struct{}, window)
	errs := make(chan error, n)
	go func() {
		for i := range n {
			select {
			case slots <- struct{}{}:
			case <-done:
				return
			}
			req := `[{"to":["D"],"event":"e","args":[` + strconv.Itoa(i) + `]}]`
			err := pub.EmitWithAckFunc(builtin.EventDurable, json.RawMessage(req), func(ack json.RawMessage, err error) {
				if err == nil && !strings.Contains(string(ack), `"recipients":1`) {
					err = fmt.Errorf("durable emit %d answered %s", i, ack)
				}
				if err != nil {
					errs <- err
				}
				<-slots
			})
			if err != nil {
				errs <- fmt.Errorf("emit %d: %w", i, err)
				return
			}
		}
	}()
	for want := range n {
		select {
		case err := <-errs:
			t.Fatalf("after %d deliveries: %v", want, err)
		default:
		}
		if i := chattest.Recv(t, "queued event "+strconv.Itoa(want), got); i != want {
			t.Fatalf("queued event %d arrived when %d was due", i, want)
		}
	}
	if s := srv.Stats(); s.RateLimitCuts != 0 {
		t.Fatalf("%d connections cut for their rate: durable emits or acks were counted", s.RateLimitCuts)
	}

	// Requests the relay refuses at once are not paced by the store: they count.
	bad := chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/", nil, nil)
	for range 200 {
		if err := bad.EmitWithAckFunc(builtin.EventDurable, json.RawMessage(`[{"event":""}]`), func(json.RawMessage, error) {}); err != nil {
			break // cut
		}
	}
	testkit.Eventually(t, 5*time.Second, "the sender of 200 refused durable emits cut for its rate", func() bool { return srv.Stats().RateLimitCuts == 1 })
}

// TestNamelessMember: a socket whose auth payload gives neither a name nor
// presence holds nothing of the built-in handlers until it joins a room
// (an idle connection's memory); it goes by its socket id in presence
// notices and messages, and its disconnect is still heard.
func TestNamelessMember(t *testing.T) {
	srv := tcpchat.NewServer(tcpchat.Options{})
	ns := srv.Of("/chat")
	builtin.Install(ns)
	sockets := make(chan *tcpchat.Socket, 2)
	ns.OnConnection(func(s *tcpchat.Socket) { sockets <- s })
	addr := chattest.NewServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	var heard <-chan chattest.Received
	lis := chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/chat", map[string]any{"name": "lis", "presence": true},
		func(s *tcpchat.ClientSocket) { heard = chattest.Record(s) })
	if _, err := lis.EmitWithAck(ctx, builtin.EventJoin, "lobby"); err != nil {
		t.Fatal(err)
	}
	if s := <-sockets; builtin.Name(s) != "lis" {
		t.Errorf("Name of the named socket = %q, want lis", builtin.Name(s))
	}
	anonC := chattest.Dial(t, addr, tcpchat.ClientOptions{})
	anon := chattest.Connect(t, anonC, "/chat", nil, nil)
	s := <-sockets
	if v := s.Get("tcpchat.builtin"); v != nil {
		t.Errorf("a socket without name or presence holds %T before joining, want nothing", v)
	}
	if builtin.Name(s) != s.ID() {
		t.Errorf("Name = %q, want the socket id %q", builtin.Name(s), s.ID())
	}
	if _, err := anon.EmitWithAck(ctx, builtin.EventJoin, "lobby"); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.EmitWithAck(ctx, builtin.EventMessage, "hi"); err != nil {
		t.Fatal(err)
	}
	id := strconv.Quote(s.ID())
	for i, want := range []string{
		`joined [{"name":` + id + `,"room":"lobby","members":2}]`,
		`message [{"from":` + id + `,"room":"lobby","text":"hi"}]`,
		`left [{"name":` + id + `,"room":"lobby","members":1}]`,
	} {
		if i == 2 {
			// Close once the listener has the message: the notices are
			// volatile, and one sent while the listener's queue still
			// holds the message would be dropped (as a busy client's
			// volatile packets are).
			anonC.Close()
		}
		if r := chattest.Next(t, heard); r.Name+" "+r.Args != want {
			t.Fatalf("the listener heard %s %s, want %s", r.Name, r.Args, want)
		}
	}
}

// TestJoinOverTheRoomBound: a "join" that would put the connection in more
// rooms than the server's MaxRoomsPerConn is acked with an error that
// says the bound and the flag that raises it, and joins nothing; a room
// with presence notices takes two places (the room and its listeners'),
// joined both or neither.
func TestJoinOverTheRoomBound(t *testing.T) {
	srv := tcpchat.NewServer(tcpchat.Options{MaxRoomsPerConn: 3})
	builtin.Install(srv.Of("/chat"))
	addr := chattest.NewServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	join := func(s *tcpchat.ClientSocket, room string) map[string]any {
		t.Helper()
		ack, err := s.EmitWithAck(ctx, builtin.EventJoin, room)
		if err != nil {
			t.Fatalf("join %s: %v", room, err)
		}
		var got []map[string]any
		if err := json.Unmarshal(ack, &got); err != nil || len(got) != 1 {
			t.Fatalf("join %s: ack %s", room, ack)
		}
		return got[0]
	}
	plain := chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/chat", nil, nil)
	for _, room := range []string{"a", "b", "c"} {
		if ack := join(plain, room); ack["error"] != nil {
			t.Fatalf("join %s within the bound: %v", room, ack)
		}
	}
	const want = "your connection is in 3 rooms over all its namespaces, and this server lets one connection be in 3"
	if ack := join(plain, "d"); !strings.Contains(fmt.Sprint(ack["error"]), want) || !strings.Contains(fmt.Sprint(ack["error"]), "--max-rooms-per-conn") {
		t.Fatalf("join d over the bound: ack %v, want an error saying %q and the flag", ack, want)
	}
	listener := chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/chat", map[string]any{"presence": true}, nil)
	if ack := join(listener, "a"); ack["error"] != nil {
		t.Fatalf("join a with presence (2 rooms of 3): %v", ack)
	}
	if ack := join(listener, "e"); !strings.Contains(fmt.Sprint(ack["error"]), "your connection is in 2 rooms") {
		t.Fatalf("join e with presence (4 rooms of 3): ack %v, want the bound's error", ack)
	}
	ns := srv.Of("/chat")
	for _, room := range []string{"d", "e", "presence:e"} {
		if n := ns.Adapter().Size(room); n != 0 {
			t.Fatalf("room %s has %d members after refused joins, want 0", room, n)
		}
	}
}
