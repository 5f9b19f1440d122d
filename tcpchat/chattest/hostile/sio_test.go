package hostile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/socketio/engine"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/sio"
)

// sioChatServer is hostile.ChatServer with the Socket.IO transport at
// sio.Path, as `chat serve` mounts it.
func sioChatServer(t *testing.T, opts tcpchat.Options, eng engine.Options) (*tcpchat.Server, string) {
	t.Helper()
	srv, addr := hostile.ChatServer(t, opts)
	s := sio.New(srv, sio.Options{Engine: eng})
	srv.HandleHTTP(sio.Path, s)
	t.Cleanup(func() { s.Close() }) // before the chat server closes
	return srv, addr
}

// poller is an Engine.IO polling client of one source address: every
// request goes over one keep-alive socket, so that the sessions it opens
// are what counts against the address's connections.
type poller struct {
	addr string
	c    *http.Client
}

func newPoller(t *testing.T, addr, src string) *poller {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: chattest.Timeout}
	tr := &http.Transport{DialContext: d.DialContext, MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	return &poller{addr: addr, c: &http.Client{Transport: tr, Timeout: chattest.Timeout}}
}

// do sends one request of the Engine.IO protocol (query after EIO=4) and
// returns the status and body.
func (p *poller) do(t *testing.T, method, query, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+p.addr+sio.Path+"?EIO=4&"+query, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, query, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, query, err)
	}
	return resp.StatusCode, string(b)
}

// open starts a polling session; it returns its id, or "" and the refusal.
func (p *poller) open(t *testing.T) (sid, refusal string) {
	t.Helper()
	status, body := p.do(t, http.MethodGet, "transport=polling", "")
	if status != http.StatusOK {
		return "", fmt.Sprintf("%d %s", status, body)
	}
	var open struct{ SID string }
	if !strings.HasPrefix(body, "0") || json.Unmarshal([]byte(body[1:]), &open) != nil || open.SID == "" {
		t.Fatalf("the polling handshake answered %q, want an open packet", body)
	}
	return open.SID, ""
}

// Issue 13 point 4 over Socket.IO: polling sessions (any number of which
// one socket can carry) and WebSocket sessions of one address count
// against MaxConnsPerAddr as its sockets do: over it the next is refused
// with the reason (503 for a polling handshake, the socket's refusal for
// a WebSocket), counted in refused_addr_connections_total; other
// addresses still connect.
func TestSocketIOSessionsPerAddress(t *testing.T) {
	t.Parallel()
	const limit = 4
	_, addr := sioChatServer(t, tcpchat.Options{MaxConnsPerAddr: limit}, engine.Options{})
	obs := hostile.NewObserver(t, addr, "/chat", "r") // from 127.0.0.1
	obs.Watch(t)

	p := newPoller(t, addr, "127.0.0.7")
	opened, refusal := 0, ""
	for range 2 * limit {
		sid, why := p.open(t)
		if sid == "" {
			refusal = why
			break
		}
		opened++
	}
	// The keep-alive socket is one of the address's connections.
	if opened != limit-1 || !strings.HasPrefix(refusal, "503 ") || !strings.Contains(refusal, "127.0.0.7 has 4 connections open") {
		t.Fatalf("%d polling sessions opened from one socket of 127.0.0.7, then %q; want %d, then 503 naming the limit", opened, refusal, limit-1)
	}

	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	wsOpts := &ws.DialOptions{NetDialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.8")}}}
	wsURL := "ws://" + addr + sio.Path + "?EIO=4&transport=websocket"
	for i := range limit {
		c, err := ws.Dial(ctx, wsURL, wsOpts)
		if err != nil {
			t.Fatalf("WebSocket session %d of 127.0.0.8 refused under the limit: %v", i+1, err)
		}
		t.Cleanup(func() { c.CloseNow() })
	}
	if c, err := ws.Dial(ctx, wsURL, wsOpts); err == nil {
		c.CloseNow()
		t.Fatalf("WebSocket session %d of 127.0.0.8 accepted over the limit of %d", limit+1, limit)
	}

	obs.Check(t)
	if n := metric(t, addr, "wiredojo_chat_refused_addr_connections_total"); n != 2 {
		t.Fatalf("refused_addr_connections_total %v, want 2 (a polling and a WebSocket session)", n)
	}
}

// Issue 13 point 4 over Socket.IO: a loop of polling handshakes is a loop
// of connection attempts (refused over ConnRatePerAddr, counted in
// refused_addr_rate_total), and the sessions' events share their
// address's packet rate with its other connections.
func TestSocketIOAttemptsAndEventsPerAddress(t *testing.T) {
	t.Parallel()
	_, addr := sioChatServer(t, tcpchat.Options{ConnRatePerAddr: 5, ConnBurstPerAddr: 10, EventRatePerAddr: 50, EventBurstPerAddr: 10}, engine.Options{})
	obs := hostile.NewObserver(t, addr, "/chat", "r")
	obs.Watch(t)
	p := newPoller(t, addr, "127.0.0.9")
	var sids []string
	refused := 0
	for range 30 {
		sid, why := p.open(t)
		switch {
		case sid != "":
			sids = append(sids, sid)
		case strings.Contains(why, "connection attempts per second from 127.0.0.9"):
			refused++
		default:
			t.Fatalf("polling handshake refused with %q, want the attempts' rate", why)
		}
	}
	if refused < 15 || len(sids) < 2 {
		t.Fatalf("%d of 30 quick polling handshakes refused, %d opened; want at least 15 refused (5/s, burst 10)", refused, len(sids))
	}
	// Two sessions flood: the address's budget slows their reading.
	for _, sid := range sids[:2] {
		if status, body := p.do(t, http.MethodPost, "transport=polling&sid="+sid, "40/chat,"); status != http.StatusOK {
			t.Fatalf("CONNECT: %d %s", status, body)
		}
		var events []string
		for i := range 20 {
			events = append(events, fmt.Sprintf(`42/chat,["flood",%d]`, i))
		}
		if status, body := p.do(t, http.MethodPost, "transport=polling&sid="+sid, strings.Join(events, "\x1e")); status != http.StatusOK {
			t.Fatalf("events: %d %s", status, body)
		}
	}
	obs.Check(t)
	if n := metric(t, addr, "wiredojo_chat_refused_addr_rate_total"); n != float64(refused) {
		t.Fatalf("refused_addr_rate_total %v, want %d", n, refused)
	}
	chattest.Eventually(t, "the sessions' events waiting for their address's budget", func() bool {
		return metric(t, addr, "wiredojo_chat_addr_rate_waits_total") > 0
	})
}

// Issue 13 point 4 over Socket.IO: a polling session that never polls
// again holds no place for long: the engine's ping goes unanswered, the
// session ends at the ping timeout (counted in heartbeat_cuts_total), and
// its address's place is free for the next one.
func TestSocketIOSilentPollingSessionEnds(t *testing.T) {
	t.Parallel()
	srv, addr := sioChatServer(t, tcpchat.Options{MaxConnsPerAddr: 2},
		engine.Options{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond})
	p := newPoller(t, addr, "127.0.0.10")
	sid, why := p.open(t)
	if sid == "" {
		t.Fatalf("polling handshake refused: %s", why)
	}
	if status, body := p.do(t, http.MethodPost, "transport=polling&sid="+sid, "40/chat,"); status != http.StatusOK {
		t.Fatalf("CONNECT: %d %s", status, body)
	}
	if status, body := p.do(t, http.MethodGet, "transport=polling&sid="+sid, ""); status != http.StatusOK || !strings.Contains(body, "40/chat,") {
		t.Fatalf("poll for the CONNECT answer: %d %q", status, body)
	}
	if _, why := p.open(t); why == "" {
		t.Fatal("a second polling session of 127.0.0.10 opened beside its socket and first session, over the limit of 2")
	}
	// Silent from now on.
	chattest.Eventually(t, "the silent session's end by its ping timeout", func() bool {
		return srv.Connections() == 0 && metric(t, addr, "wiredojo_chat_heartbeat_cuts_total") == 1
	})
	if sid, why := p.open(t); sid == "" {
		t.Fatalf("after the silent session ended, a new one of 127.0.0.10 was refused: %s", why)
	}
	if status, body := p.do(t, http.MethodGet, "transport=polling&sid="+sid, ""); status != http.StatusBadRequest || !strings.Contains(body, "Session ID unknown") {
		t.Fatalf("a poll of the ended session answered %d %q, want 400 Session ID unknown", status, body)
	}
}
