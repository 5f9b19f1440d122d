package sio

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/socketio/engine"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
)

// What a Socket.IO client sends that its session's protocols refuse (a
// malformed Engine.IO or Socket.IO packet, a POST body or a WebSocket
// message over maxPayload) ends its connection and counts in
// wiredojo_chat_bad_packets_total, as a malformed or oversized packet of
// the event protocol does. Before, the chat server saw such a session end
// as a client's close: nothing counted, nothing logged.
func TestSocketIOBadPacketsAreCounted(t *testing.T) {
	const maxPayload = 1000
	for _, tc := range []struct {
		name string
		send func(t *testing.T, addr string)
	}{
		{"malformed Engine.IO packet", func(t *testing.T, addr string) {
			httpDo(t, http.MethodPost, connectPolling(t, addr), "x", 0)
		}},
		{"malformed Socket.IO packet", func(t *testing.T, addr string) {
			httpDo(t, http.MethodPost, connectPolling(t, addr), "49", 0)
		}},
		{"POST body over maxPayload", func(t *testing.T, addr string) {
			httpDo(t, http.MethodPost, connectPolling(t, addr), "4"+strings.Repeat("x", maxPayload), http.StatusRequestEntityTooLarge)
		}},
		{"WebSocket message over maxPayload", func(t *testing.T, addr string) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			c, err := ws.Dial(ctx, "ws://"+addr+Path+"?EIO=4&transport=websocket", nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.CloseNow() })
			c.SetReadDeadline(time.Now().Add(wait))
			c.WriteMessage(ws.OpText, []byte("40"))
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					t.Fatalf("waiting for the connect answer: %v", err)
				}
				if strings.HasPrefix(string(msg), "40{") {
					break
				}
				if strings.HasPrefix(string(msg), "4") {
					t.Fatalf("connect answered %q, want CONNECT", msg)
				}
			}
			c.WriteMessage(ws.OpText, []byte("4"+strings.Repeat("x", maxPayload)))
			for { // to the server's close frame, which the read answers
				if _, _, err := c.ReadMessage(); err != nil {
					break
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tcpchat.NewServer(tcpchat.Options{})
			srv.Of("/")
			s := New(srv, Options{Engine: engine.Options{MaxPayload: maxPayload}})
			srv.HandleHTTP(Path, s)
			t.Cleanup(func() { s.Close() })
			addr := chattest.NewServer(t, srv)
			tc.send(t, addr)
			chattest.Eventually(t, "the connection to end", func() bool { return srv.Connections() == 0 })
			if got := srv.Stats().BadPackets; got != 1 {
				t.Errorf("bad packets: %d, want 1", got)
			}
		})
	}
}
