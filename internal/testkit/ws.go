package testkit

import (
	"net/http"
	"net/http/httptest"
	"testing"

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
