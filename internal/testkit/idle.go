package testkit

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Idle is what a server holds per idle connection: live heap and
// goroutine stacks in bytes, and goroutines.
type Idle struct{ Heap, Stacks, Goroutines float64 }

// Total is the memory per connection: heap and stacks.
func (r Idle) Total() float64 { return r.Heap + r.Stacks }

// IdleClients describes the child process of an idle measurement: the
// test binary itself, re-executed with Env set to "ADDR N", whose init
// (or TestMain) sees Env, opens N connections to ADDR, prints "ready" and
// holds them until its stdin closes. Conns reports the server's open
// connections.
type IdleClients struct {
	Env   string
	Addr  string
	Conns func() int
}

// settle is how long the server's per-connection writers get to finish
// their handshake replies and exit before the second measurement.
const settle = 200 * time.Millisecond

// MeasureIdle returns what n idle connections cost this process: it
// takes LiveBytes and the goroutine count, starts the child process that
// opens the connections, waits until the server has them all, and
// measures again. Before it returns the child has ended and the server
// has seen every connection close. The clients live in another process
// so that their memory and file descriptors do not count.
func MeasureIdle(tb testing.TB, c IdleClients, n int) Idle {
	tb.Helper()
	h0, s0 := LiveBytes()
	g0 := runtime.NumGoroutine()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), c.Env+"="+c.Addr+" "+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting the idle clients: %v", err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
		Eventually(tb, 30*time.Second, "the server to see the idle clients close", func() bool { return c.Conns() == 0 })
	}()
	// The child prints "ready" or exits (its stdout then ends): no hang.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		tb.Fatalf("idle client process: %q %v", line, err)
	}
	Eventually(tb, 30*time.Second, fmt.Sprintf("%d idle connections", n), func() bool { return c.Conns() >= n })
	time.Sleep(settle)
	h1, s1 := LiveBytes()
	g1 := runtime.NumGoroutine()
	return Idle{
		Heap:       float64(int64(h1)-int64(h0)) / float64(n),
		Stacks:     float64(int64(s1)-int64(s0)) / float64(n),
		Goroutines: float64(g1-g0) / float64(n),
	}
}

// IdleOnce holds the first idle measurement of a process: a second one
// would reuse the first one's dead goroutines and report less than a
// fresh server costs. Its zero value is ready to use.
type IdleOnce struct {
	once sync.Once
	r    Idle
}

// Bench measures once per process with measure, whatever b.N and
// -benchtime are, and reports the result as B/conn (heap + stacks),
// heap-B/conn, stack-B/conn and goroutines/conn; ns/op is meaningless.
func (o *IdleOnce) Bench(b *testing.B, measure func() Idle) {
	b.Helper()
	o.once.Do(func() { o.r = measure() })
	b.ReportMetric(o.r.Total(), "B/conn")
	b.ReportMetric(o.r.Heap, "heap-B/conn")
	b.ReportMetric(o.r.Stacks, "stack-B/conn")
	b.ReportMetric(o.r.Goroutines, "goroutines/conn")
}
