package testkit

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
)

// WSServer runs an HTTP server for the test that upgrades every request to
// WebSocket and runs serve on the connection, dropped when serve returns;
// it returns the server's address (HOST:PORT). The server is closed when
// the test ends (after the cleanups registered later: one that lets serve
// return must be registered after WSServer).
func WSServer(t testing.TB, serve func(c *ws.Conn)) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&ws.Upgrader{}).UpgradeHTTP(w, r)
		if err != nil {
			return
		}
		defer c.CloseNow()
		serve(c)
	}))
	t.Cleanup(hs.Close)
	return hs.Listener.Addr().String()
}

// SignalPongs sets c's pong handler to send on ch without waiting: a pong
// that comes while ch is full is not signalled.
func SignalPongs(c *ws.Conn, ch chan<- struct{}) {
	c.SetPongHandler(func([]byte) {
		select {
		case ch <- struct{}{}:
		default:
		}
	})
}

// PingAnswered pings the peer of c after a pause of after (the test's
// input: the client's pace) and fails the test unless a pong comes back
// within 10 s, or if the peer closes the connection first. It reads c
// from then on (pongs are handled while reading) until the connection
// ends; the test closes c.
func PingAnswered(t testing.TB, c *ws.Conn, after time.Duration) {
	t.Helper()
	pong := make(chan struct{}, 1)
	SignalPongs(c, pong)
	ended := make(chan error, 1)
	go func() {
		c.SetReadDeadline(time.Time{})
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				ended <- err
				return
			}
		}
	}()
	time.Sleep(after)
	if err := c.Ping([]byte("hb")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pong:
	case err := <-ended:
		t.Fatalf("the peer closed the connection instead of answering the ping: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no pong within 10 s")
	}
}
