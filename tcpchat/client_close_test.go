package tcpchat_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
)

// silentNode accepts connections and never answers the handshake; accepted
// is closed at the first connection. The test's end closes the listener and
// every connection.
func silentNode(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan struct{})
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if len(conns) == 0 {
				close(first)
			}
			conns = append(conns, nc)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, nc := range conns {
			nc.Close()
		}
	})
	return l.Addr().String(), first
}

// Client.Close returns at once while the reconnection loop waits for the
// welcome of a node that accepted and never answers (a handshake timeout
// of an hour, several such nodes): Close cancels the dial and the
// handshake, it does not wait them out.
func TestClientCloseDuringReconnectHandshake(t *testing.T) {
	t.Parallel()
	var silent []string
	var firstAccepted <-chan struct{}
	for i := range 3 {
		a, acc := silentNode(t)
		silent = append(silent, a)
		if i == 0 {
			firstAccepted = acc
		}
	}
	srv := tcpchat.NewServer(tcpchat.Options{})
	addr := chattest.NewServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	// No Close at cleanup: if Close hangs, the silent nodes' cleanup (it
	// closes their connections) is what lets the client end.
	c, err := tcpchat.Dial(ctx, addr, tcpchat.ClientOptions{Addrs: silent, HandshakeTimeout: time.Hour,
		BackoffMin: time.Millisecond, BackoffMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close() // the client loses its connection and redials: addr refuses, the first silent node accepts
	select {
	case <-firstAccepted:
	case <-ctx.Done():
		c.Close()
		t.Fatal("the reconnection loop never dialled the silent node")
	}
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(chattest.Timeout):
		t.Fatal("Client.Close still waits for the silent node's handshake (HandshakeTimeout 1 h)")
	}
}

// EmitWithAckFunc: the answer reaches done with the emit's own ack id, and
// an emit still waiting when the server leaves the namespace ends with
// ErrNoAck, once.
func TestEmitWithAckFuncAnswersAndFails(t *testing.T) {
	srv := tcpchat.NewServer(tcpchat.Options{})
	ns := srv.Of("/")
	held := make(chan *tcpchat.Socket, 1)
	ns.On("echo", func(e *tcpchat.Event) { e.AckRaw(e.Args) })
	ns.On("hold", func(e *tcpchat.Event) { held <- e.Socket })
	addr := chattest.NewServer(t, srv)
	sock := chattest.Connect(t, chattest.Dial(t, addr, tcpchat.ClientOptions{}), "/", nil, nil)
	type answer struct {
		ack string
		err error
	}
	answers := make(chan answer, 4)
	done := func(ack json.RawMessage, err error) { answers <- answer{string(ack), err} }
	if err := sock.EmitWithAckFunc("hold", json.RawMessage(`[1]`), done); err != nil {
		t.Fatal(err)
	}
	if err := sock.EmitWithAckFunc("echo", json.RawMessage(`[2]`), done); err != nil {
		t.Fatal(err)
	}
	if a := chattest.Recv(t, "the echo's answer", answers); a.ack != `[2]` || a.err != nil {
		t.Fatalf("echo answered %q, %v; want [2]", a.ack, a.err)
	}
	chattest.Recv(t, "the held event on the server", held).Disconnect(false)
	if a := chattest.Recv(t, "the held emit's end", answers); !errors.Is(a.err, tcpchat.ErrNoAck) {
		t.Fatalf("held emit ended with %q, %v; want ErrNoAck", a.ack, a.err)
	}
	if err := sock.EmitWithAckFunc("echo", nil, done); !errors.Is(err, tcpchat.ErrNotConnected) {
		t.Fatalf("EmitWithAckFunc after the namespace was left: %v, want ErrNotConnected", err)
	}
	select {
	case a := <-answers:
		t.Fatalf("another answer: %q, %v", a.ack, a.err)
	default:
	}
}
