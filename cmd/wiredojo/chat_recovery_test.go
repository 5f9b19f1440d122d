package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/redistest"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
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

// `chat serve --recovery-session-bytes` goes into the store of sessions,
// on one node (memory) and with --redis: with a bound smaller than any
// session, a connection's session is dropped when saved, the client comes
// back to a new session, and /metrics counts the drops.
func TestChatServeRecoverySessionBytes(t *testing.T) {
	rs := redistest.Start(t, redistest.Config{})
	for _, extra := range [][]string{nil, {"--redis", rs.URL()}} {
		args := append([]string{"chat", "serve", "--addr", "127.0.0.1:0", "--verbose", "--recovery-session-bytes", "1"}, extra...)
		out, _, stop := chatStart(t, strings.NewReader(""), args...)
		addr := chatWaitFor(t, "serve", out, regexp.MustCompile(`serving on (\S+)`))
		if reconnectResumes(t, addr, out) {
			t.Errorf("%v: a dropped session was resumed", extra)
		}
		body := chatMetrics(t, addr)
		if !regexp.MustCompile(`(?m)^wiredojo_chat_sessions_dropped_total [1-9]`).Match(body) || !regexp.MustCompile(`(?m)^wiredojo_chat_session_bytes 0$`).Match(body) {
			t.Errorf("%v: /metrics does not show the sessions dropped and no session bytes:\n%s", extra, body)
		}
		if code := stop(); code != 0 {
			t.Errorf("%v: chat serve exited with %d", extra, code)
		}
	}
}

// chatMetrics returns the /metrics of the chat server at addr.
func chatMetrics(t *testing.T, addr string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// `chat serve --redis` bounds the replay log it keeps in Redis by
// --recovery-bytes and --recovery-total-bytes: a client alone in a room
// sends 40 events of 64 KiB (2.5 MiB), and the log's stream in Redis
// (MEMORY USAGE) and the replay_bytes gauge stay within the 256 KiB given
// by either flag.
func TestChatServeRedisRecoveryBytes(t *testing.T) {
	const (
		events = 40
		size   = 64 << 10
		bound  = 256 << 10
	)
	rs := redistest.Start(t, redistest.Config{})
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	args := []byte(`["` + strings.Repeat("x", size) + `"]`)
	for _, flag := range []string{"--recovery-bytes", "--recovery-total-bytes"} {
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		out, _, stop := chatStart(t, strings.NewReader(""), "chat", "serve", "--addr", "127.0.0.1:0", "--redis", rs.URL(), flag, strconv.Itoa(bound))
		addr := chatWaitFor(t, "serve", out, regexp.MustCompile(`serving on (\S+)`))
		r := chattest.DialRaw(t, addr, true)
		r.Handshake(t, "")
		r.Join(t, "/chat")
		r.Send(t, wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: builtin.EventJoin, HasAck: true, AckID: 1, Args: []byte(`["solo"]`)})
		r.Expect(t, wire.TypeAck)
		for i := range events {
			r.Send(t, wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "blob", HasAck: true, AckID: uint32(i + 2), Args: args})
			r.Expect(t, wire.TypeAck)
		}
		held, err := rdb.MemoryUsage(ctx, "wiredojo:{ns:/chat}:replay", 0).Result()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %d: %d events of %d KiB sent; the log in Redis uses %d bytes (MEMORY USAGE)", flag, bound, events, size>>10, held)
		if limit := int64(bound * 5 / 4); held > limit { // jemalloc's size classes
			t.Errorf("%s %d: the replay log in Redis uses %d bytes, over %d", flag, bound, held, limit)
		}
		m := regexp.MustCompile(`(?m)^wiredojo_chat_replay_bytes (\S+)$`).FindSubmatch(chatMetrics(t, addr))
		if m == nil {
			t.Errorf("%s %d: /metrics has no replay_bytes", flag, bound)
		} else if v, err := strconv.ParseFloat(string(m[1]), 64); err != nil || v <= 0 || v > bound {
			t.Errorf("%s %d: /metrics replay_bytes %s, want within (0, %d]", flag, bound, m[1], bound)
		}
		r.Conn.Close()
		if code := stop(); code != 0 {
			t.Errorf("%s: chat serve exited with %d", flag, code)
		}
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
