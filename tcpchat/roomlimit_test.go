package tcpchat_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// plainAdapter is an adapter that is not a MemoryAdapter nor embeds one
// (its method set is the Adapter interface's): Socket counts its rooms
// apart from the add.
type plainAdapter struct{ tcpchat.Adapter }

// bothAdapters are the two ways the room bound is counted: by the memory
// adapter (Options.Adapter nil), and by Socket around a plainAdapter.
var bothAdapters = []struct {
	name    string
	adapter func(tcpchat.AdapterHost) tcpchat.Adapter
}{
	{"memory", nil},
	{"other", func(h tcpchat.AdapterHost) tcpchat.Adapter { return plainAdapter{tcpchat.NewMemoryAdapter(h)} }},
}

// serverSocket starts a server with opts, connects a client to "/" and
// returns the server's socket of that client.
func serverSocket(t *testing.T, opts tcpchat.Options) *tcpchat.Socket {
	t.Helper()
	srv := tcpchat.NewServer(opts)
	got := make(chan *tcpchat.Socket, 1)
	srv.Of("/").OnConnection(func(s *tcpchat.Socket) { got <- s })
	addr := chattest.NewServer(t, srv)
	chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/", nil, nil)
	return chattest.Recv(t, "the server's socket of the client", got)
}

// TestJoinIsBounded: Socket.Join joins rooms up to MaxRoomsPerConn; a
// join that would pass it joins none of its rooms and returns a
// *RoomLimitError; a room the socket is in already costs nothing, and a
// room left frees a place. With either kind of adapter.
func TestJoinIsBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range bothAdapters {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := serverSocket(t, tcpchat.Options{MaxRoomsPerConn: 3, Adapter: tc.adapter})
			for _, rooms := range [][]string{{"a", "b"}, {"c", "a", "c"}, {"a"}} {
				if err := s.Join(rooms...); err != nil {
					t.Fatalf("Join(%q) within the bound of 3: %v", rooms, err)
				}
			}
			for _, rooms := range [][]string{{"d"}, {"a", "d"}, {"d", "e"}} {
				err := s.Join(rooms...)
				var le *tcpchat.RoomLimitError
				if !errors.Is(err, tcpchat.ErrTooManyRooms) || !errors.As(err, &le) || le.Limit != 3 || le.ConnRooms != 3 {
					t.Fatalf("Join(%q) in 3 rooms of 3: %v, want a RoomLimitError{Limit: 3, ConnRooms: 3}", rooms, err)
				}
			}
			if got := slices.Sorted(slices.Values(s.Rooms())); !slices.Equal(got, []string{"a", "b", "c"}) {
				t.Fatalf("rooms after the refusals %q, want [a b c]: a refused join joins none", got)
			}
			s.Leave("a")
			if err := s.Join("d"); err != nil {
				t.Fatalf("Join(d) after leaving a: %v", err)
			}
			if !strings.Contains((&tcpchat.RoomLimitError{Limit: 3, ConnRooms: 3}).Error(), "the connection is in 3 rooms over its namespaces, and may be in 3 at most") {
				t.Fatal("RoomLimitError does not say the limit")
			}
		})
	}
}

// TestJoinBoundDefaultAndOff: the default bound is
// DefaultMaxRoomsPerConn; a negative MaxRoomsPerConn is none.
func TestJoinBoundDefaultAndOff(t *testing.T) {
	t.Parallel()
	rooms := make([]string, tcpchat.DefaultMaxRoomsPerConn+1)
	for i := range rooms {
		rooms[i] = "r" + string(rune('A'+i%26)) + strings.Repeat("x", i/26)
	}
	s := serverSocket(t, tcpchat.Options{})
	if err := s.Join(rooms[:len(rooms)-1]...); err != nil {
		t.Fatalf("joining %d rooms: %v", len(rooms)-1, err)
	}
	if err := s.Join(rooms[len(rooms)-1]); !errors.Is(err, tcpchat.ErrTooManyRooms) {
		t.Fatalf("joining room %d: %v, want ErrTooManyRooms", len(rooms), err)
	}
	s = serverSocket(t, tcpchat.Options{MaxRoomsPerConn: -1})
	if err := s.Join(rooms...); err != nil {
		t.Fatalf("joining %d rooms with no bound: %v", len(rooms), err)
	}
}

// TestRoomsAreBoundedPerConnection: MaxRoomsPerConn counts the rooms of
// all of a connection's sockets together: joins in two namespaces of one
// connection that pass the bound together are refused (each alone would
// fit, as the per-socket bound let them); a room left, a namespace the
// client leaves, one the server disconnects, and a join made after that
// disconnect give their places back; another connection has its own.
// With either kind of adapter.
func TestRoomsAreBoundedPerConnection(t *testing.T) {
	t.Parallel()
	for _, tc := range bothAdapters {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const limit = 4
			srv := tcpchat.NewServer(tcpchat.Options{MaxRoomsPerConn: limit, Adapter: tc.adapter})
			connected := map[string]chan *tcpchat.Socket{}
			left := map[string]chan *tcpchat.Socket{}
			for _, name := range []string{"/a", "/b"} {
				connected[name], left[name] = make(chan *tcpchat.Socket, 2), make(chan *tcpchat.Socket, 2)
				ns := srv.Of(name)
				ns.OnConnection(func(s *tcpchat.Socket) { connected[name] <- s })
				ns.OnDisconnect(func(s *tcpchat.Socket, _ error) { left[name] <- s })
			}
			addr := chattest.NewServer(t, srv)
			c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
			ca := chattest.Connect(t, c, "/a", nil, nil)
			a := chattest.Recv(t, "the server's socket of /a", connected["/a"])
			chattest.Connect(t, c, "/b", nil, nil)
			b := chattest.Recv(t, "the server's socket of /b", connected["/b"])
			join := func(s *tcpchat.Socket, rooms ...string) {
				t.Helper()
				if err := s.Join(rooms...); err != nil {
					t.Fatalf("%s Join(%q) within the bound of %d: %v", s.Namespace().Name(), rooms, limit, err)
				}
			}
			refused := func(s *tcpchat.Socket, have int, rooms ...string) {
				t.Helper()
				var le *tcpchat.RoomLimitError
				if err := s.Join(rooms...); !errors.As(err, &le) || le.ConnRooms != have || le.Limit != limit {
					t.Fatalf("%s Join(%q) with the connection in %d rooms of %d: %v, want a RoomLimitError{Limit: %d, ConnRooms: %d}", s.Namespace().Name(), rooms, have, limit, err, limit, have)
				}
				for _, r := range rooms {
					if slices.Contains(s.Rooms(), r) {
						t.Fatalf("%s is in %s after a refused join", s.Namespace().Name(), r)
					}
				}
			}

			join(a, "1", "2", "3")
			refused(b, 3, "x", "y") // 5 over both namespaces: each socket alone is within 4
			join(b, "x")
			refused(b, 4, "y")
			refused(a, 4, "4")
			a.Leave("1")
			join(b, "y")
			refused(a, 4, "1")

			// The client leaves /a (2 rooms): its places are free once
			// the server has cleaned the socket up.
			if err := ca.Disconnect(); err != nil {
				t.Fatal(err)
			}
			chattest.Recv(t, "the server's cleanup of the socket of /a", left["/a"])
			join(b, "p", "q")
			refused(b, 4, "r")

			// The server disconnects /b; a join on it afterwards (a
			// handler late) is undone and counts nothing.
			b.Disconnect(false)
			chattest.Recv(t, "the server's cleanup of the socket of /b", left["/b"])
			if err := b.Join("late"); err != nil {
				t.Fatalf("Join on a disconnected socket: %v", err)
			}
			if got := b.Rooms(); len(got) != 0 {
				t.Fatalf("a disconnected socket is in %q", got)
			}
			chattest.Connect(t, c, "/a", nil, nil)
			a = chattest.Recv(t, "the server's new socket of /a", connected["/a"])
			join(a, "1", "2", "3", "4")
			refused(a, 4, "5")

			// Another connection (from the same address) has its own bound.
			chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/b", nil, nil)
			other := chattest.Recv(t, "the server's socket of the second connection", connected["/b"])
			join(other, "1", "2", "3", "4")
		})
	}
}

// TestNamespacesPerConnection: a connection is in MaxNamespacesPerConn
// namespaces at most; a connect over it gets a connect-error saying so
// and creates nothing; a namespace left (by the client, or by the server's
// Socket.Disconnect) frees a place.
func TestNamespacesPerConnection(t *testing.T) {
	t.Parallel()
	got := make(chan *tcpchat.Socket, 4)
	srv := tcpchat.NewServer(tcpchat.Options{MaxNamespacesPerConn: 2, NewNamespace: func(ns *tcpchat.Namespace) {
		ns.OnConnection(func(s *tcpchat.Socket) { got <- s })
	}})
	addr := chattest.NewServer(t, srv)
	r := chattest.DialRaw(t, addr, true)
	r.Handshake(t, "")
	r.Join(t, "/a")
	r.Join(t, "/b")
	chattest.Recv(t, "the socket of /a", got)
	b := chattest.Recv(t, "the socket of /b", got)
	refused := func(ns string) {
		t.Helper()
		r.Send(t, wire.Packet{Type: wire.TypeConnect, Namespace: ns})
		p := r.Expect(t, wire.TypeConnectError)
		if string(p.Namespace) != ns || !strings.Contains(string(p.Reason), "too many namespaces on this connection: it is in 2") {
			t.Fatalf("connect to %s over the bound of 2: connect-error %q", ns, p.Reason)
		}
	}
	refused("/c")
	if n := srv.Namespaces(); n != 2 {
		t.Fatalf("%d namespaces after the refusal, want 2 (/a and /b): a refused connect creates none", n)
	}
	r.Send(t, wire.Packet{Type: wire.TypeDisconnect, Namespace: "/a"})
	r.Join(t, "/c")
	refused("/d")
	b.Disconnect(false)
	r.Expect(t, wire.TypeDisconnect)
	r.Join(t, "/d")
}

// TestDurableRoomsComeBackBeyondTheBound: a client id's durable rooms are
// all given back when it connects, even beyond MaxRoomsPerConn (here a
// server with a lower bound than the one they were joined on); they
// count, so its next join is refused until it leaves enough of them.
func TestDurableRoomsComeBackBeyondTheBound(t *testing.T) {
	t.Parallel()
	st := store.NewMemory(store.Options{})
	t.Cleanup(func() { st.Close() })
	server := func(limit int) (*tcpchat.Server, string) {
		srv := tcpchat.NewServer(tcpchat.Options{Store: st, MaxRoomsPerConn: limit, NewNamespace: builtin.Install})
		return srv, chattest.NewServer(t, srv)
	}
	ctx := ctxT(t)
	_, addr := server(3)
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{ClientID: "ann"})
	s := chattest.Connect(t, c, "/chat", nil, nil)
	for _, room := range []string{"a", "b", "c"} {
		if ack, err := s.EmitWithAck(ctx, builtin.EventJoin, room); err != nil || strings.Contains(string(ack), "error") {
			t.Fatalf("join %s: %s %v", room, ack, err)
		}
	}
	c.Close()

	srv, addr := server(2)
	c = chattest.Dial(t, addr, tcpchat.ClientOptions{ClientID: "ann", ResumeToken: c.ResumeToken()})
	s = chattest.Connect(t, c, "/chat", nil, nil)
	ns := srv.Of("/chat")
	for _, room := range []string{"a", "b", "c"} {
		if n := ns.Adapter().Size(room); n != 1 {
			t.Fatalf("durable room %s has %d members after the reconnect, want 1: a room beyond the bound was left out", room, n)
		}
	}
	join := func(room string) string {
		ack, err := s.EmitWithAck(ctx, builtin.EventJoin, room)
		if err != nil {
			t.Fatal(err)
		}
		return string(ack)
	}
	if ack := join("d"); !strings.Contains(ack, "your connection is in 3 rooms") {
		t.Fatalf("join d in 3 rooms of 2: ack %s, want the bound's error", ack)
	}
	for _, room := range []string{"a", "b"} {
		if _, err := s.EmitWithAck(ctx, builtin.EventLeave, room); err != nil {
			t.Fatal(err)
		}
	}
	if ack := join("d"); strings.Contains(ack, "error") {
		t.Fatalf("join d in 1 room of 2: ack %s", ack)
	}
}

// TestRoomCountAfterConcurrentChanges: joins and leaves of a connection's
// sockets in two namespaces from several goroutines at once leave no
// room counted once they are done: after leaving every room, the
// connection joins up to the whole bound again. With either kind of
// adapter.
func TestRoomCountAfterConcurrentChanges(t *testing.T) {
	t.Parallel()
	for _, tc := range bothAdapters {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const limit, names = 30, 20
			srv := tcpchat.NewServer(tcpchat.Options{MaxRoomsPerConn: limit, Adapter: tc.adapter})
			connected := make(chan *tcpchat.Socket, 2)
			srv.Of("/a").OnConnection(func(s *tcpchat.Socket) { connected <- s })
			srv.Of("/b").OnConnection(func(s *tcpchat.Socket) { connected <- s })
			c := chattest.Dial(t, chattest.NewServer(t, srv), tcpchat.ClientOptions{})
			chattest.Connect(t, c, "/a", nil, nil)
			chattest.Connect(t, c, "/b", nil, nil)
			socks := []*tcpchat.Socket{chattest.Recv(t, "a server socket", connected), chattest.Recv(t, "the other server socket", connected)}
			room := func(i int) string { return fmt.Sprintf("r%d", i%names) }
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := range 300 {
						s := socks[(g+i)%2]
						if i%3 == 2 {
							s.Leave(room(i * g))
						} else {
							s.Join(room(i*7+g), room(i+g)) // refusals are expected: the names pass the bound together
						}
					}
				})
			}
			wg.Wait()
			for _, s := range socks {
				for i := range names {
					s.Leave(room(i))
				}
			}
			for i := range limit {
				if err := socks[i%2].Join(fmt.Sprintf("after%d", i)); err != nil {
					t.Fatalf("join %d of %d after every room was left: %v", i+1, limit, err)
				}
			}
		})
	}
}
