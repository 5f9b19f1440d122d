package ws_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/framing/ws/wsecho"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startEcho runs a wsecho server on 127.0.0.1:0 for the test and returns
// its ws:// URL.
func startEcho(t testing.TB, u ws.Upgrader) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &wsecho.Server{Upgrader: u}
	done := make(chan struct{})
	go func() { s.Serve(l); close(done) }()
	t.Cleanup(func() { s.Close(); testkit.Recv(t, 10*time.Second, "the echo server's Serve to return", done) })
	return "ws://" + l.Addr().String() + "/"
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
