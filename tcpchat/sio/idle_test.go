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
	"os/exec"
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

// idleResult is the server's memory per idle session, and its goroutines
// per session.
type idleResult struct{ Heap, Stacks, Goroutines float64 }

func (r idleResult) Total() float64 { return r.Heap + r.Stacks }

// measureIdle starts a chat server with the Socket.IO transport (its
// defaults), connects n idle Socket.IO WebSocket clients from a child
// process and returns the server's memory per session (live heap +
// stacks, from runtime/metrics) and goroutines per session.
func measureIdle(tb testing.TB, n int) idleResult {
	srv := tcpchat.NewServer(tcpchat.Options{})
	srv.Of("/")
	s := New(srv, Options{})
	srv.HandleHTTP(Path, s)
	addr := chattest.NewServer(tb, srv)
	defer s.Close()
	h0, s0 := testkit.LiveBytes()
	g0 := runtime.NumGoroutine()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), idleClientsEnv+"="+addr+" "+strconv.Itoa(n))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
		chattest.Eventually(tb, "the server to see the idle clients close", func() bool { return srv.Connections() == 0 })
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		tb.Fatalf("client process: %q %v", line, err)
	}
	chattest.Eventually(tb, fmt.Sprintf("%d Socket.IO connections", n), func() bool { return srv.Connections() >= n })
	time.Sleep(200 * time.Millisecond) // writers finish and exit
	h1, s1 := testkit.LiveBytes()
	g1 := runtime.NumGoroutine()
	return idleResult{
		Heap:       float64(int64(h1)-int64(h0)) / float64(n),
		Stacks:     float64(int64(s1)-int64(s0)) / float64(n),
		Goroutines: float64(g1-g0) / float64(n),
	}
}

// idleOnce holds the first measurement of the process (a second one would
// reuse the first one's dead goroutines).
var idleOnce struct {
	sync.Once
	r idleResult
}

// BenchmarkIdleSessionMemory reports the server's memory per idle
// Socket.IO WebSocket session with 10,000 clients connected. It measures
// once per process, whatever b.N is; ns/op is meaningless.
func BenchmarkIdleSessionMemory(b *testing.B) {
	idleOnce.Do(func() { idleOnce.r = measureIdle(b, 10000) })
	r := idleOnce.r
	b.ReportMetric(r.Total(), "B/conn")
	b.ReportMetric(r.Heap, "heap-B/conn")
	b.ReportMetric(r.Stacks, "stack-B/conn")
	b.ReportMetric(r.Goroutines, "goroutines/conn")
}

// TestIdleSessionGoroutines checks that an idle Socket.IO WebSocket session
// holds no goroutine of the server (it waits in the chat server's poller;
// one goroutine without a poller, outside Linux) and no read buffer.
func TestIdleSessionGoroutines(t *testing.T) {
	r := measureIdle(t, 200)
	t.Logf("%.0f bytes per idle session (heap %.0f, stacks %.0f), %.2f goroutines; 200 sessions", r.Total(), r.Heap, r.Stacks, r.Goroutines)
	want, bytes := 0.05, 6000.0
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
