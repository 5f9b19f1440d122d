package tcpchat_test

import (
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// slowTransport is a recipient whose writer goroutine's writes are slow
// (WritePackets takes a millisecond) while writes that do not wait
// (TryWritePackets, the reader's) are taken at once; it counts both.
type slowTransport struct {
	in     chan []byte
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	direct   int // TryWritePackets calls
	slow     int // WritePackets calls with packets
	payloads [][]byte
}

func (s *slowTransport) ReadPacket() ([]byte, error) {
	select {
	case p := <-s.in:
		return p, nil
	case <-s.closed:
		return nil, net.ErrClosed
	}
}

func (s *slowTransport) WritePackets(ps [][]byte) error {
	if len(ps) == 0 {
		return nil
	}
	time.Sleep(time.Millisecond) // a slow write, not a synchronisation
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slow++
	s.keep(ps)
	return nil
}

func (s *slowTransport) CanWriteDirect() bool { return true }

func (s *slowTransport) TryWritePackets(ps [][]byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.direct++
	s.keep(ps)
	return false, nil
}

func (s *slowTransport) keep(ps [][]byte) {
	for _, p := range ps {
		s.payloads = append(s.payloads, append([]byte(nil), p...))
	}
}

func (s *slowTransport) received() (payloads [][]byte, direct, slow int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.payloads...), s.direct, s.slow
}

func (s *slowTransport) SetReadDeadline(time.Time) error  { return nil }
func (s *slowTransport) SetWriteDeadline(time.Time) error { return nil }
func (s *slowTransport) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (s *slowTransport) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

var _ tcpchat.DirectWriter = (*slowTransport)(nil)

// serveTransport serves tr on srv until the test ends; the channel is
// closed when the server is done with it.
func serveTransport(t *testing.T, srv *tcpchat.Server, tr tcpchat.Transport) <-chan struct{} {
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeTransport(tr) }()
	t.Cleanup(func() { tr.Close(); <-done })
	return done
}

// joinSlowRecipient serves a slowTransport on srv that joins room "r" of
// namespace / (srv's "join" handler) and waits for the join's ack.
func joinSlowRecipient(t *testing.T, srv *tcpchat.Server) (*slowTransport, <-chan struct{}) {
	t.Helper()
	sub := &slowTransport{in: make(chan []byte, 4), closed: make(chan struct{})}
	done := serveTransport(t, srv, sub)
	for _, p := range []wire.Packet{
		{Type: wire.TypeHandshake, Version: wire.Version},
		{Type: wire.TypeConnect, Namespace: "/"},
		{Type: wire.TypeEvent, Namespace: "/", Event: "join", HasAck: true, AckID: 1},
	} {
		sub.in <- p.AppendTo(nil)
	}
	chattest.Eventually(t, "the welcome, the connect and the join's ack", func() bool {
		ps, _, _ := sub.received()
		return len(ps) >= 3
	})
	return sub, done
}

// A read batch longer than a parked recipient's queue may hold (a quarter
// of the send queue) reaches a recipient of low fan-out in writes of that
// many packets made by the batch's reader, never by a writer goroutine
// started at the limit: that one drained the queue in small writes while
// the reader went on filling it (at one subscriber, W=1000, 40 events per
// write against the reader's 285 per read, and c.mu and cache lines going
// back and forth between the two cores).
func TestLongReadBatchIsWrittenByItsReader(t *testing.T) {
	t.Parallel()
	const sendQueue = 40 // a parked queue holds up to 10 packets
	srv := tcpchat.NewServer(tcpchat.Options{RateLimit: -1, SendQueue: sendQueue})
	ns := srv.Of("/")
	ns.On("join", func(e *tcpchat.Event) { e.Socket.Join("r"); e.Ack() })
	ns.On("ev", func(e *tcpchat.Event) { e.Socket.To("r").EmitRaw("ev", e.Args) })
	addr := chattest.NewServer(t, srv)

	sub, _ := joinSlowRecipient(t, srv)
	_, directBefore, slowBefore := sub.received()

	pub := chattest.DialRaw(t, addr, true)
	pub.Handshake(t, "")
	pub.Join(t, "/")
	const events = 36 // under 1 KiB: one read on the server
	var burst []byte
	for i := range events {
		ev := wire.Packet{Type: wire.TypeEvent, Namespace: "/", Event: "ev", Args: []byte("[" + strconv.Itoa(i) + "]")}
		burst = framing.AppendFrame(burst, ev.AppendTo(nil))
	}
	pub.Conn.SetWriteDeadline(time.Now().Add(chattest.Timeout))
	if _, err := pub.Conn.Write(burst); err != nil {
		t.Fatal(err)
	}
	chattest.Eventually(t, "the burst's events at the recipient", func() bool {
		ps, _, _ := sub.received()
		return len(ps) >= 3+events
	})
	ps, direct, slow := sub.received()
	var v wire.View
	for i, p := range ps[3:] {
		if err := wire.Parse(p, &v); err != nil {
			t.Fatal(err)
		}
		if want := "[" + strconv.Itoa(i) + "]"; string(v.Event) != "ev" || string(v.Args) != want {
			t.Fatalf("event %d: got %q %s, want ev %s", i, v.Event, v.Args, want)
		}
	}
	// The reader writes at 10, 20 and 30 packets and at the batch's end;
	// a read that split the burst adds one.
	if direct -= directBefore; slow != slowBefore || direct > 5 {
		t.Fatalf("%d events from one read: %d writes by the reader, %d by a writer goroutine; want at most 5 and none", events, direct, slow-slowBefore)
	}
}

// batchTransport is a publisher whose reads come in groups the test
// chooses: Buffered reports what is left of the group, so each group is
// one read batch on the server. What the server writes to it is dropped.
type batchTransport struct {
	groups chan [][]byte
	closed chan struct{}
	once   sync.Once
	cur    [][]byte // owned by the server's reading goroutine
}

func newBatchTransport() *batchTransport {
	return &batchTransport{groups: make(chan [][]byte, 4), closed: make(chan struct{})}
}

// send queues the packets as one read.
func (b *batchTransport) send(ps ...wire.Packet) {
	var g [][]byte
	for _, p := range ps {
		g = append(g, p.AppendTo(nil))
	}
	b.groups <- g
}

func (b *batchTransport) ReadPacket() ([]byte, error) {
	if len(b.cur) == 0 {
		select {
		case b.cur = <-b.groups:
		case <-b.closed:
			return nil, net.ErrClosed
		}
	}
	p := b.cur[0]
	b.cur = b.cur[1:]
	return p, nil
}

func (b *batchTransport) Buffered() int                    { return len(b.cur) }
func (b *batchTransport) WritePackets([][]byte) error      { return nil }
func (b *batchTransport) SetReadDeadline(time.Time) error  { return nil }
func (b *batchTransport) SetWriteDeadline(time.Time) error { return nil }
func (b *batchTransport) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (b *batchTransport) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// A recipient parked in one publisher's read batch (its writer waits for
// that batch's end) is still written when another publisher's long batch
// fills its queue to the parked limit: the second batch's reader writes
// it, and the second publisher never waits for room, however long the
// first batch stays open.
func TestLongReadBatchWritesRecipientParkedByAnother(t *testing.T) {
	t.Parallel()
	const sendQueue = 40 // a parked queue holds up to 10 packets
	srv := tcpchat.NewServer(tcpchat.Options{RateLimit: -1, SendQueue: sendQueue, SlowConsumerWait: chattest.Timeout})
	ns := srv.Of("/")
	held, release := make(chan struct{}), make(chan struct{})
	ns.On("join", func(e *tcpchat.Event) { e.Socket.Join("r"); e.Ack() })
	ns.On("ev", func(e *tcpchat.Event) { e.Socket.To("r").EmitRaw("ev", e.Args) })
	ns.On("hold", func(*tcpchat.Event) { held <- struct{}{}; <-release })

	t.Cleanup(func() { srv.Close() })
	var releaseOnce sync.Once
	unhold := func() { releaseOnce.Do(func() { close(release) }) }

	r, rDone := joinSlowRecipient(t, srv)

	ev := func(s string) wire.Packet {
		return wire.Packet{Type: wire.TypeEvent, Namespace: "/", Event: "ev", Args: []byte(`["` + s + `"]`)}
	}
	hello := []wire.Packet{{Type: wire.TypeHandshake, Version: wire.Version}, {Type: wire.TypeConnect, Namespace: "/"}}

	// A's batch: an event for r, which parks r's writer in A's batch, and
	// a packet whose handler holds the batch open.
	a := newBatchTransport()
	serveTransport(t, srv, a)
	t.Cleanup(unhold) // before A's transport closes: its reader waits in "hold"
	a.send(hello...)
	a.send(ev("a"), wire.Packet{Type: wire.TypeEvent, Namespace: "/", Event: "hold"})
	testkit.Recv(t, chattest.Timeout, "A's batch held open", held)

	// B's batch: more events for r than its send queue holds.
	const events = 3 * sendQueue / 2
	b := newBatchTransport()
	serveTransport(t, srv, b)
	b.send(hello...)
	burst := make([]wire.Packet, events)
	for i := range burst {
		burst[i] = ev("b" + strconv.Itoa(i))
	}
	b.send(burst...)
	chattest.Eventually(t, "B's events at r while A's batch is open", func() bool {
		select {
		case <-rDone:
			t.Fatal("r was cut")
		default:
		}
		ps, _, _ := r.received()
		return len(ps) >= 3+1+events
	})
	if st := srv.Stats(); st.SendWaits != 0 || st.SlowConsumerCuts != 0 {
		t.Errorf("%d sends waited for room and %d connections were cut; want none", st.SendWaits, st.SlowConsumerCuts)
	}
	unhold()

	ps, _, _ := r.received()
	var v wire.View
	for i, p := range ps[3:] {
		if err := wire.Parse(p, &v); err != nil {
			t.Fatal(err)
		}
		want := `["a"]`
		if i > 0 {
			want = `["b` + strconv.Itoa(i-1) + `"]`
		}
		if string(v.Event) != "ev" || string(v.Args) != want {
			t.Fatalf("event %d at r: got %q %s, want ev %s", i, v.Event, v.Args, want)
		}
	}
}
