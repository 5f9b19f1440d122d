package tcpchat_test

// The idle-connection memory measurement: a child process (this test
// binary, re-executed) opens the clients so that their memory and file
// descriptors do not count against the server's.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

const idleClientsEnv = "WIREDOJO_IDLE_CLIENTS" // "ADDR N"

// idleClientsMain runs in the child: it opens N connections that handshake
// and join "/", prints "ready", and holds them until stdin closes.
func idleClientsMain(spec string) int {
	addr, nstr, _ := strings.Cut(spec, " ")
	n, _ := strconv.Atoi(nstr)
	conns := make([]net.Conn, 0, n)
	hs := (&wire.Packet{Type: wire.TypeHandshake, Version: wire.Version}).AppendTo(nil)
	join := (&wire.Packet{Type: wire.TypeConnect, Namespace: "/"}).AppendTo(nil)
	out := append([]byte(nil), wire.Preamble...)
	out = framing.AppendFrame(out, hs)
	out = framing.AppendFrame(out, join)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "dial %d: %v\n", i, err)
			return 1
		}
		if _, err := c.Write(out); err != nil {
			fmt.Fprintf(os.Stderr, "write %d: %v\n", i, err)
			return 1
		}
		r := framing.NewReader(c, 1<<20)
		for _, want := range []wire.Type{wire.TypeWelcome, wire.TypeConnect} {
			p, err := r.ReadFrame()
			if err != nil || len(p) == 0 || wire.Type(p[0]) != want {
				fmt.Fprintf(os.Stderr, "conn %d: want %s: %v\n", i, want, err)
				return 1
			}
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		c.Close()
	}
	return 0
}

// measureIdle starts a server, connects n idle clients from a child
// process, and returns the server's memory per connection.
func measureIdle(tb testing.TB, n int) testkit.Idle {
	srv := tcpchat.NewServer(tcpchat.Options{})
	srv.Of("/")
	addr := chattest.NewServer(tb, srv)
	return testkit.MeasureIdle(tb, testkit.IdleClients{Env: idleClientsEnv, Addr: addr, Conns: srv.Connections}, n)
}

var idleOnce testkit.IdleOnce

// BenchmarkIdleConnMemory reports the server's memory per idle connection
// with 10,000 clients connected (goal: at most 5 KiB). It measures once per
// process, whatever b.N and -benchtime are; ns/op is meaningless.
func BenchmarkIdleConnMemory(b *testing.B) {
	idleOnce.Bench(b, func() testkit.Idle { return measureIdle(b, 10000) })
}

func TestIdleConnMemorySmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process with 200 connections")
	}
	r := measureIdle(t, 200)
	t.Logf("%.0f bytes per idle connection (heap %.0f, stacks %.0f; 200 connections)", r.Total(), r.Heap, r.Stacks)
	if r.Total() <= 0 {
		t.Fatalf("measured %+v per connection", r)
	}
}
