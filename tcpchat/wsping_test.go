package tcpchat_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// TestWebSocketPingsOutliveTheWriteDeadline: over ws://, a WebSocket-level
// ping from the server (framing/ws answers it by itself) that comes after
// the deadline of the client's last write has passed gets its pong, and the
// client stays connected. Before, the client's flusher left its write
// deadline on the WebSocket: the pong failed on it ("ws: write: i/o
// timeout") and the connection ended with it.
func TestWebSocketPingsOutliveTheWriteDeadline(t *testing.T) {
	t.Parallel()
	const writeTimeout = 50 * time.Millisecond
	ping := make(chan struct{})
	pong := make(chan struct{}, 1)
	event := make(chan string, 1) // the name of the client's event after the pong
	served := make(chan error, 1) // why the fake server ended early
	addr := testkit.WSServer(t, func(c *ws.Conn) {
		testkit.SignalPongs(c, pong)
		f := newWSFakePeer(c)
		if err := f.welcomeAndConnect("c"); err != nil {
			served <- fmt.Errorf("handshake and connect: %w", err)
			return
		}
		<-ping
		if err := c.Ping([]byte("hi")); err != nil {
			served <- fmt.Errorf("ping: %w", err)
			return
		}
		p, err := f.next(wire.TypeEvent) // pongs go to the handler meanwhile
		if err != nil {
			served <- fmt.Errorf("waiting for the client's event after the ping: %w", err)
			return
		}
		event <- p.Event
		f.read() // until the client closes
	})
	sendPing := sync.OnceFunc(func() { close(ping) })
	t.Cleanup(sendPing) // before the server's close: the handler waits for it

	lost := make(chan error, 1)
	c := chattest.Dial(t, "ws://"+addr+tcpchat.WebSocketPath, tcpchat.ClientOptions{
		NoReconnect: true, WriteTimeout: writeTimeout,
		OnState: func(up bool, err error) {
			if !up {
				lost <- err
			}
		}})
	// The connect is the client's write under its write timeout; once it
	// is answered, its deadline is at most writeTimeout away.
	s := chattest.Connect(t, c, "/", nil, nil)
	<-time.After(writeTimeout) // that deadline has passed
	sendPing()
	select {
	case <-pong:
	case err := <-lost:
		t.Fatalf("the client lost its connection before the server had its pong: %v", err)
	case err := <-served:
		t.Fatalf("the fake server ended before it had its pong: %v", err)
	case <-time.After(chattest.Timeout):
		t.Fatalf("no pong to the server's WebSocket ping within %v", chattest.Timeout)
	}
	if err := s.Emit("after", 1); err != nil {
		t.Fatalf("emit after the pong: %v", err)
	}
	select {
	case name := <-event:
		if name != "after" {
			t.Fatalf("the server received event %q after the pong, want \"after\"", name)
		}
	case err := <-lost:
		t.Fatalf("the client lost its connection after the pong: %v", err)
	case err := <-served:
		t.Fatalf("the fake server ended before the client's event: %v", err)
	case <-time.After(chattest.Timeout):
		t.Fatalf("the client's event after the pong did not reach the server within %v", chattest.Timeout)
	}
}

// TestServerAnswersPingsAfterItsWriteDeadline: the server side of the
// same. A WebSocket client that pings the server (heartbeats of node's ws,
// gorilla) after the deadline of the server's last write to it has passed
// gets its pong, and stays connected. Before, the server's writer left
// its write deadline on the WebSocket, and the pong framing/ws writes by
// itself failed on it: the server closed the connection.
func TestServerAnswersPingsAfterItsWriteDeadline(t *testing.T) {
	t.Parallel()
	const writeTimeout = 50 * time.Millisecond
	addr := chatServer(t, tcpchat.Options{WriteTimeout: writeTimeout})
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	c, err := ws.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	wsHandshake(t, c)                          // the server's welcome: its last write
	testkit.PingAnswered(t, c, 4*writeTimeout) // past the server's write deadline
}
