package sio

// The idle-session memory measurement: a child process (this test binary,
// re-executed) opens Socket.IO clients over WebSocket so that their memory
// does not count against the server's.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
)

const idleClientsEnv = "WIREDOJO_SIO_IDLE_CLIENTS" // "ADDR N"

func init() {
	if spec := os.Getenv(idleClientsEnv); spec != "" {
		os.Exit(idleClientsMain(spec))
	}
}

// idleClientsMain runs in the child: it opens N Socket.IO clients over
// WebSocket that connect namespace "/", prints "ready", answers pings and
// holds them until stdin closes.
func idleClientsMain(spec string) int {
	addr, nstr, _ := strings.Cut(spec, " ")
	n, _ := strconv.Atoi(nstr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conns := make([]*ws.Conn, 0, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		c, err := ws.Dial(ctx, "ws://"+addr+Path+"?EIO=4&transport=websocket", nil)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dial %d: %v\n", i, err)
			return 1
		}
		conns = append(conns, c)
		_, open, err := c.ReadMessage()
		if err == nil && (len(open) == 0 || open[0] != '0') {
			err = fmt.Errorf("want the open packet, got %.40q", open)
		}
		if err == nil {
			err = c.WriteMessage(ws.OpText, []byte("40"))
		}
		for err == nil {
			var msg []byte
			if _, msg, err = c.ReadMessage(); err == nil && bytes.HasPrefix(msg, []byte("40")) {
				break
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "conn %d: %v\n", i, err)
			return 1
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					return
				}
				if string(msg) == "2" {
					c.WriteMessage(ws.OpText, []byte("3"))
				}
			}
		}()
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		c.CloseNow()
	}
	wg.Wait()
	return 0
}

// measureIdle starts a chat server with the Socket.IO transport (its
// defaults), connects n idle Socket.IO WebSocket clients from a child
// process and returns the server's memory and goroutines per session.
func measureIdle(tb testing.TB, n int) testkit.Idle {
	srv := tcpchat.NewServer(tcpchat.Options{})
	srv.Of("/")
	s := New(srv, Options{})
	srv.HandleHTTP(Path, s)
	addr := chattest.NewServer(tb, srv)
	defer s.Close()
	return testkit.MeasureIdle(tb, testkit.IdleClients{Env: idleClientsEnv, Addr: addr, Conns: srv.Connections}, n)
}

var idleOnce testkit.IdleOnce

// BenchmarkIdleSessionMemory reports the server's memory per idle
// Socket.IO WebSocket session with 10,000 clients connected. It measures
// once per process, whatever b.N is; ns/op is meaningless.
func BenchmarkIdleSessionMemory(b *testing.B) {
	idleOnce.Bench(b, func() testkit.Idle { return measureIdle(b, 10000) })
}

// TestIdleSessionGoroutines checks that an idle Socket.IO WebSocket session
// holds no goroutine of the server (it waits in the chat server's poller;
// one goroutine without a poller, outside Linux) and no read buffer.
func TestIdleSessionGoroutines(t *testing.T) {
	r := measureIdle(t, 200)
	t.Logf("%.0f bytes per idle session (heap %.0f, stacks %.0f), %.2f goroutines; 200 sessions", r.Total(), r.Heap, r.Stacks, r.Goroutines)
	want, bytes := 0.05, 4500.0
	if runtime.GOOS != "linux" {
		want, bytes = 1.05, 1e9
	}
	if r.Goroutines > want {
		t.Errorf("%.2f goroutines per idle session, want at most %.0f", r.Goroutines, want)
	}
	if r.Total() > bytes {
		t.Errorf("%.0f bytes per idle session, want at most %.0f (no read buffer, no stack)", r.Total(), bytes)
	}
}
