package tcpchat_test

import (
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing"
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

	sub := &slowTransport{in: make(chan []byte, 4), closed: make(chan struct{})}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeTransport(sub) }()
	t.Cleanup(func() { sub.Close(); <-done })
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
