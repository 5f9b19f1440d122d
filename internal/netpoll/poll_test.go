//go:build linux

package netpoll_test

import (
	"net"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/netpoll"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pair returns the two ends of a loopback TCP connection.
func pair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return dialPair(t, l)
}

// dialPair dials l and returns the dialled socket and its accepted peer.
func dialPair(t *testing.T, l net.Listener) (client, server *net.TCPConn) {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func register(t *testing.T, p *netpoll.Poller, c *net.TCPConn) (*netpoll.Desc, chan struct{}) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	woke := make(chan struct{}, 4)
	d, err := p.Register(rc, netpoll.WakeFunc(func() { woke <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	return d, woke
}

func wantWake(t *testing.T, woke chan struct{}, what string) {
	t.Helper()
	select {
	case <-woke:
	case <-time.After(5 * time.Second):
		t.Fatalf("no wake-up within 5 s after %s", what)
	}
}

func wantNoWake(t *testing.T, woke chan struct{}, what string) {
	t.Helper()
	select {
	case <-woke:
		t.Fatalf("woken %s", what)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestArmWakesOnceWhenReadable(t *testing.T) {
	p, err := netpoll.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	client, server := pair(t)
	d, woke := register(t, p, server)
	defer d.Close()
	if err := d.Arm(); err != nil {
		t.Fatal(err)
	}
	wantNoWake(t, woke, "with nothing to read")
	client.Write([]byte("x"))
	wantWake(t, woke, "a byte arrived")
	wantNoWake(t, woke, "twice for one Arm (one-shot)")

	// Armed again with the byte still unread: at once (level-triggered).
	if err := d.Arm(); err != nil {
		t.Fatal(err)
	}
	wantWake(t, woke, "re-arming with a byte waiting")
	var b [1]byte
	server.Read(b[:])

	// Armed with nothing to read, then a byte comes.
	if err := d.Arm(); err != nil {
		t.Fatal(err)
	}
	wantNoWake(t, woke, "with nothing to read after re-arming")
	client.Write([]byte("y"))
	wantWake(t, woke, "a byte arrived after re-arming")
	server.Read(b[:])

	// The peer's close wakes too.
	if err := d.Arm(); err != nil {
		t.Fatal(err)
	}
	client.Close()
	wantWake(t, woke, "the peer closed")
}

func TestArmAfterCloseFails(t *testing.T) {
	p, err := netpoll.New()
	if err != nil {
		t.Fatal(err)
	}
	_, server := pair(t)
	d, _ := register(t, p, server)
	server.Close()
	if err := d.Arm(); err == nil {
		t.Fatal("Arm on a closed socket succeeded")
	}
	d.Close()

	_, server2 := pair(t)
	d2, _ := register(t, p, server2)
	p.Close()
	if err := d2.Arm(); err != netpoll.ErrClosed {
		t.Fatalf("Arm after the Poller closed: %v, want ErrClosed", err)
	}
	d2.Close()
	rc, _ := server2.SyscallConn()
	if _, err := p.Register(rc, netpoll.WakeFunc(func() {})); err != netpoll.ErrClosed {
		t.Fatalf("Register after the Poller closed: %v, want ErrClosed", err)
	}
}

// A socket closed while armed leaves the set; a new socket that gets its
// descriptor number is not woken by the old registration.
func TestReusedDescriptorNumber(t *testing.T) {
	p, err := netpoll.New()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dial := func() (*net.TCPConn, *net.TCPConn) { return dialPair(t, l) }
	c1, _ := dial()
	old, oldWoke := register(t, p, c1)
	if err := old.Arm(); err != nil {
		t.Fatal(err)
	}
	f1 := fdOf(t, c1)
	c1.Close()
	c2, s2 := dial() // the lowest free number: c1's
	if fdOf(t, c2) != f1 {
		t.Fatalf("the new socket got descriptor %d, not the closed one's %d", fdOf(t, c2), f1)
	}
	d2, woke2 := register(t, p, c2)
	defer d2.Close()
	if err := d2.Arm(); err != nil {
		t.Fatal(err)
	}
	s2.Write([]byte("x"))
	wantWake(t, woke2, "a byte arrived on the socket that reused the number")
	wantNoWake(t, oldWoke, "through the closed socket's registration")
	old.Close() // must not remove the new socket's registration
	if err := d2.Arm(); err != nil {
		t.Fatal(err)
	}
	wantWake(t, woke2, "re-arming after the old Desc's Close")
}

func fdOf(t *testing.T, c *net.TCPConn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}
