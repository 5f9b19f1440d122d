package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// `chat serve --recovery-window 0` turns connection state recovery off: a
// framed client that comes back with its session id gets a new one, and a
// Socket.IO client's CONNECT answer has no pid to recover with. The
// default server gives both, and a negative window is refused.
func TestChatServeRecoveryWindowZero(t *testing.T) {
	for _, tc := range []struct {
		window  string
		recover bool
	}{{"", true}, {"0", false}} {
		args := []string{"chat", "serve", "--addr", "127.0.0.1:0", "--verbose"}
		if tc.window != "" {
			args = append(args, "--recovery-window", tc.window)
		}
		out, _, stop := chatStart(t, strings.NewReader(""), args...)
		addr := chatWaitFor(t, "serve", out, regexp.MustCompile(`serving on (\S+)`))

		if got := reconnectResumes(t, addr, out); got != tc.recover {
			t.Errorf("--recovery-window %q: welcome after a reconnection resumed %v, want %v", tc.window, got, tc.recover)
		}

		if got := sioConnectAnswer(t, addr); strings.Contains(got, `"pid"`) != tc.recover {
			t.Errorf("--recovery-window %q: Socket.IO CONNECT answer %s: a pid %v, want %v", tc.window, got, !tc.recover, tc.recover)
		}
		if code := stop(); code != 0 {
			t.Errorf("chat serve exited with %d", code)
		}
	}
	code, _, e := chatRun(t, "", "chat", "serve", "--addr", "127.0.0.1:0", "--recovery-window", "-1s")
	if code != 2 || !strings.Contains(e, "0 for no connection state recovery") {
		t.Errorf("--recovery-window -1s: exit %d, %q; want 2 and a hint", code, e)
	}
}

// reconnectResumes connects a framed client to /chat of the server at addr
// (a `chat serve --verbose` logging to out), drops the connection,
// connects again with its session id and reports whether the welcome
// said RESUMED.
func reconnectResumes(t *testing.T, addr string, out *testkit.Buffer) bool {
	t.Helper()
	r := chattest.DialRaw(t, addr, true)
	w := r.Handshake(t, "")
	r.Join(t, "/chat")
	r.Conn.Close()
	// The server saves its sessions before it says the connection closed.
	chatWaitFor(t, "serve", out, regexp.MustCompile(`session `+regexp.QuoteMeta(w.SessionID)+` closed`))
	r2 := chattest.DialRaw(t, addr, true)
	defer r2.Conn.Close()
	r2.Send(t, wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, SessionID: w.SessionID})
	return r2.Expect(t, wire.TypeWelcome).Resumed
}

// `chat serve --recovery-session-bytes` goes into the store of sessions:
// with a bound smaller than any session, a connection's session is
// dropped when saved, the client comes back to a new session, and
// /metrics counts the drops.
func TestChatServeRecoverySessionBytes(t *testing.T) {
	out, _, stop := chatStart(t, strings.NewReader(""), "chat", "serve", "--addr", "127.0.0.1:0", "--verbose", "--recovery-session-bytes", "1")
	addr := chatWaitFor(t, "serve", out, regexp.MustCompile(`serving on (\S+)`))
	if reconnectResumes(t, addr, out) {
		t.Error("--recovery-session-bytes 1: a dropped session was resumed")
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`(?m)^wiredojo_chat_sessions_dropped_total [1-9]`).Match(body) || !regexp.MustCompile(`(?m)^wiredojo_chat_session_bytes 0$`).Match(body) {
		t.Errorf("/metrics does not show the sessions dropped and no session bytes:\n%s", body)
	}
	if code := stop(); code != 0 {
		t.Errorf("chat serve exited with %d", code)
	}
}

// sioConnectAnswer connects a Socket.IO client to namespace /chat of the
// chat server at addr over a WebSocket and returns the server's answer.
func sioConnectAnswer(t *testing.T, addr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	c, err := ws.Dial(ctx, "ws://"+addr+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, open, err := c.ReadMessage(); err != nil || !strings.HasPrefix(string(open), "0{") {
		t.Fatalf("Engine.IO open: %q, %v", open, err)
	}
	if err := c.WriteMessage(ws.OpText, []byte("40/chat,")); err != nil {
		t.Fatal(err)
	}
	_, answer, err := c.ReadMessage()
	if err != nil || !strings.HasPrefix(string(answer), "40/chat,") {
		t.Fatalf("CONNECT answer: %q, %v", answer, err)
	}
	return string(answer)
}
