package engine_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/socketio/engine"
)

// AdmitPolling is asked before each polling session opens; its error
// refuses the handshake with 503 and the error's text, and each admitted
// session's count ends once: when it moves to a WebSocket, or when it
// ends. A session opened on a WebSocket is not asked.
func TestAdmitPolling(t *testing.T) {
	t.Parallel()
	var admitted, released atomic.Int64
	const max = 2
	base, ended := echoServer(t, engine.Options{PingInterval: time.Minute, PingTimeout: time.Minute,
		AdmitPolling: func(r *http.Request) (func(), error) {
			if admitted.Load()-released.Load() >= max {
				return nil, errors.New("too many sessions from " + r.RemoteAddr)
			}
			admitted.Add(1)
			var once atomic.Bool
			return func() {
				if once.CompareAndSwap(false, true) {
					released.Add(1)
				}
			}, nil
		}})
	first, second := open(t, base), open(t, base)
	if r := do(t, "GET", base+"?EIO=4&transport=polling", ""); r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "too many sessions from 127.0.0.1") {
		t.Fatalf("a third polling session: %d %q, want 503 with the reason", r.status, r.body)
	}
	// The first moves to a WebSocket: its count ends.
	c := dialWS(t, base, "?EIO=4&transport=websocket&sid="+first)
	c.WriteMessage(ws.OpText, []byte("2probe"))
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	c.WriteMessage(ws.OpText, []byte("5"))
	testkit.Eventually(t, wait, "the upgraded session's count ended", func() bool { return released.Load() == 1 })
	// The second ends: its count ends.
	if r := do(t, "POST", base+"?EIO=4&transport=polling&sid="+second, "1"); r.status != 200 {
		t.Fatalf("close: %d %q", r.status, r.body)
	}
	expectEnd(t, ended, engine.ErrPeerClosed)
	testkit.Eventually(t, wait, "the closed session's count ended", func() bool { return released.Load() == 2 })
	// A WebSocket session is its socket: not asked.
	readText(t, dialWS(t, base, "?EIO=4&transport=websocket"))
	open(t, base)
	if admitted.Load() != 3 || released.Load() != 2 {
		t.Fatalf("admitted %d, released %d; want 3 and 2", admitted.Load(), released.Load())
	}
}
