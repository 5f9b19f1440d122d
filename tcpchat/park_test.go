//go:build linux

package tcpchat_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// readers counts the goroutines reading a server connection.
func readers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Count(buf[:n], []byte("tcpchat.(*conn).loop("))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// An idle connection, framed or WebSocket, holds no reading goroutine; a
// packet wakes it, and it parks again once handled.
func TestIdleConnectionsHoldNoReader(t *testing.T) {
	const n = 20
	srv := tcpchat.NewServer(tcpchat.Options{})
	srv.Of("/").On("echo", func(e *tcpchat.Event) { e.AckRaw(e.Args) })
	addr := chattest.NewServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()

	raws := make([]*chattest.Raw, n)
	for i := range raws {
		raws[i] = chattest.DialRaw(t, addr, true)
		raws[i].Handshake(t, "")
		raws[i].Join(t, "/")
	}
	wss := make([]*ws.Conn, n)
	for i := range wss {
		c, err := ws.Dial(ctx, "ws://"+addr+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		wsHandshake(t, c)
		wss[i] = c
		join := wire.Packet{Type: wire.TypeConnect, Namespace: "/"}
		if err := c.WriteMessage(ws.OpBinary, join.AppendTo(nil)); err != nil {
			t.Fatal(err)
		}
		if p := wsRead(t, c); p.Type != wire.TypeConnect {
			t.Fatalf("got %+v, want the namespace's connect", p)
		}
	}
	chattest.Eventually(t, "no goroutine reading the idle connections", func() bool { return readers() == 0 })

	echo := wire.Packet{Type: wire.TypeEvent, Namespace: "/", Event: "echo", HasAck: true, AckID: 7, Args: []byte(`[1]`)}
	for _, r := range raws {
		r.Send(t, echo)
		if p := r.Expect(t, wire.TypeAck); p.AckID != 7 || string(p.Args) != "[1]" {
			t.Fatalf("framed ack %+v", p)
		}
	}
	for _, c := range wss {
		if err := c.WriteMessage(ws.OpBinary, echo.AppendTo(nil)); err != nil {
			t.Fatal(err)
		}
		if p := wsRead(t, c); p.Type != wire.TypeAck || p.AckID != 7 || string(p.Args) != "[1]" {
			t.Fatalf("WebSocket ack %+v", p)
		}
	}
	chattest.Eventually(t, "the woken connections to park again", func() bool { return readers() == 0 })
	if got := srv.Connections(); got != 2*n {
		t.Fatalf("%d connections open, want %d", got, 2*n)
	}
}

// A parked connection that sends nothing is still cut when its heartbeat
// deadline passes, and a parked connection ends with the server.
func TestParkedConnectionHeartbeatAndClose(t *testing.T) {
	reasons := make(chan error, 2)
	srv := tcpchat.NewServer(tcpchat.Options{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond,
		OnClose: func(ci tcpchat.CloseInfo) { reasons <- ci.Reason }})
	srv.Of("/")
	addr := chattest.NewServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()

	raw := chattest.DialRaw(t, addr, true)
	raw.Handshake(t, "")
	c, err := ws.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	wsHandshake(t, c)
	if p := raw.ExpectClose(t); p.Code != wire.CodeHeartbeat {
		t.Fatalf("framed: last packet %+v, want a heartbeat error", p)
	}
	wsCloseCode(t, c)
	for range 2 {
		if err := chattest.Recv(t, "the closes of both connections", reasons); !errors.Is(err, tcpchat.ErrHeartbeat) {
			t.Fatalf("closed for %v, want ErrHeartbeat", err)
		}
	}

	srv2 := tcpchat.NewServer(tcpchat.Options{})
	srv2.Of("/")
	addr2 := chattest.NewServer(t, srv2)
	raw2 := chattest.DialRaw(t, addr2, true)
	raw2.Handshake(t, "")
	chattest.Eventually(t, "the connection to park", func() bool { return readers() == 0 })
	done := make(chan error, 1)
	go func() { done <- srv2.Close() }()
	select {
	case <-done:
	case <-time.After(chattest.Timeout):
		t.Fatalf("Close did not return within %v with a parked connection", chattest.Timeout)
	}
	if _, err := raw2.Read(); err == nil {
		t.Fatal("the parked connection is still open after Close")
	}
}
