package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/socketio/engine"
	"github.com/wiredojo/wiredojo/socketio/engineio"
)

// The timings of the protocol's test suite.
const (
	pingInterval = 300 * time.Millisecond
	pingTimeout  = 200 * time.Millisecond
)

// wait bounds every wait in these tests.
const wait = 10 * time.Second

// echoServer starts an Engine.IO server whose handler sends back every
// message; ended receives each session's end reason.
func echoServer(t *testing.T, opts engine.Options) (url string, ended <-chan error) {
	t.Helper()
	if opts.PingInterval == 0 {
		opts.PingInterval, opts.PingTimeout = pingInterval, pingTimeout
	}
	ch := make(chan error, 16)
	srv := engine.NewServer(opts, func(s *engine.Session) {
		for {
			p, err := s.Read()
			if err != nil {
				select {
				case ch <- err:
				default:
				}
				return
			}
			s.Send(p)
		}
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL + "/engine.io/", ch
}

type response struct {
	status int
	body   string
}

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, string(b)}
}

// open starts a polling session and returns its sid.
func open(t *testing.T, base string) string {
	t.Helper()
	r := do(t, "GET", base+"?EIO=4&transport=polling", "")
	if r.status != 200 || !strings.HasPrefix(r.body, "0") {
		t.Fatalf("handshake: %d %q", r.status, r.body)
	}
	var h map[string]any
	if err := json.Unmarshal([]byte(r.body[1:]), &h); err != nil {
		t.Fatal(err)
	}
	return h["sid"].(string)
}

func TestHandshakePolling(t *testing.T) {
	t.Parallel()
	base, _ := echoServer(t, engine.Options{})
	r := do(t, "GET", base+"?EIO=4&transport=polling", "")
	if r.status != 200 || r.body[0] != '0' {
		t.Fatalf("handshake: %d %q", r.status, r.body)
	}
	var h map[string]any
	if err := json.Unmarshal([]byte(r.body[1:]), &h); err != nil {
		t.Fatal(err)
	}
	if len(h) != 5 || h["pingInterval"] != 300.0 || h["pingTimeout"] != 200.0 || h["maxPayload"] != 1e6 {
		t.Fatalf("open packet %s", r.body)
	}
	if ups, _ := h["upgrades"].([]any); len(ups) != 1 || ups[0] != "websocket" {
		t.Fatalf("upgrades in %s", r.body)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	base, _ := echoServer(t, engine.Options{})
	sid := open(t, base)
	for _, tc := range []struct {
		method, query string
		code          int
	}{
		{"GET", "?transport=polling", 5},
		{"GET", "?EIO=abc&transport=polling", 5},
		{"GET", "?EIO=3&transport=polling", 5},
		{"GET", "?EIO=4", 0},
		{"GET", "?EIO=4&transport=abc", 0},
		{"POST", "?EIO=4&transport=polling", 2},
		{"PUT", "?EIO=4&transport=polling", 2},
		{"GET", "?EIO=4&transport=polling&sid=nope", 1},
		{"PUT", "?EIO=4&transport=polling&sid=" + sid, 3},
	} {
		r := do(t, tc.method, base+tc.query, "")
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if r.status != 400 || json.Unmarshal([]byte(r.body), &e) != nil || e.Code != tc.code || e.Message == "" {
			t.Errorf("%s %s: %d %s, want 400 with code %d", tc.method, tc.query, r.status, r.body, tc.code)
		}
	}
}

func TestPollingMessages(t *testing.T) {
	t.Parallel()
	base, _ := echoServer(t, engine.Options{})
	for _, body := range []string{"4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA=="} {
		sid := open(t, base)
		q := base + "?EIO=4&transport=polling&sid=" + sid
		if r := do(t, "POST", q, body); r.status != 200 || r.body != "ok" {
			t.Fatalf("POST %q: %d %q", body, r.status, r.body)
		}
		// The echo may come back in more than one poll.
		var got string
		for len(got) < len(body) {
			r := do(t, "GET", q, "")
			if r.status != 200 {
				t.Fatalf("poll: %d %q", r.status, r.body)
			}
			if got != "" {
				got += "\x1e"
			}
			got += r.body
		}
		if got != body {
			t.Fatalf("echo of %q: %q", body, got)
		}
	}
}

func TestPollingInvalidPacketCloses(t *testing.T) {
	t.Parallel()
	base, ended := echoServer(t, engine.Options{})
	sid := open(t, base)
	q := base + "?EIO=4&transport=polling&sid=" + sid
	if r := do(t, "POST", q, "abc"); r.status != 400 {
		t.Fatalf("POST abc: %d %q", r.status, r.body)
	}
	if r := do(t, "GET", q, ""); r.status != 400 {
		t.Fatalf("poll after the bad packet: %d %q", r.status, r.body)
	}
	expectEnd(t, ended, engine.ErrParse)
}

func expectEnd(t *testing.T, ended <-chan error, want error) error {
	t.Helper()
	select {
	case err := <-ended:
		if !errors.Is(err, want) {
			t.Fatalf("session ended with %v, want %v", err, want)
		}
		return err
	case <-time.After(wait):
		t.Fatalf("the session did not end (waited for %v)", want)
	}
	return nil
}

func TestDuplicatePollCloses(t *testing.T) {
	t.Parallel()
	base, ended := echoServer(t, engine.Options{PingInterval: time.Minute, PingTimeout: time.Minute})
	sid := open(t, base)
	q := base + "?EIO=4&transport=polling&sid=" + sid
	// Two polls at once: whichever the server sees second is refused and
	// ends the session; the other is answered with the close packet.
	polls := make(chan response, 2)
	go func() { polls <- doAsync(q) }()
	go func() { polls <- doAsync(q + "&t=burst") }()
	var got []response
	for range 2 {
		select {
		case r := <-polls:
			got = append(got, r)
		case <-time.After(wait):
			t.Fatalf("polls answered: %v, want 2", got)
		}
	}
	if got[0].status == 400 {
		got[0], got[1] = got[1], got[0]
	}
	if got[0] != (response{200, "1"}) || got[1].status != 400 {
		t.Fatalf("the two polls: %v, want the close packet and a 400", got)
	}
	if r := do(t, "GET", q, ""); r.status != 400 {
		t.Fatalf("poll after the overlap: %d", r.status)
	}
	expectEnd(t, ended, engine.ErrTransport)
}

// doAsync is a GET for another goroutine: a failure is status 0.
func doAsync(url string) response { return requestAsync("GET", url, "") }

// requestAsync is a request for another goroutine: a failure is status 0.
func requestAsync(method, url, body string) response {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{0, err.Error()}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, string(b)}
}

func TestPollingHeartbeat(t *testing.T) {
	t.Parallel()
	base, ended := echoServer(t, engine.Options{})
	sid := open(t, base)
	q := base + "?EIO=4&transport=polling&sid=" + sid
	for range 3 {
		if r := do(t, "GET", q, ""); r.status != 200 || r.body != "2" {
			t.Fatalf("poll: %d %q, want a ping", r.status, r.body)
		}
		if r := do(t, "POST", q, "3"); r.status != 200 {
			t.Fatalf("pong: %d", r.status)
		}
	}
	// Now no pong: the session ends.
	expectEnd(t, ended, engine.ErrPingTimeout)
	if r := do(t, "GET", q, ""); r.status != 400 {
		t.Fatalf("poll after the timeout: %d %q", r.status, r.body)
	}
}

func TestPollingClientClose(t *testing.T) {
	t.Parallel()
	base, ended := echoServer(t, engine.Options{})
	sid := open(t, base)
	q := base + "?EIO=4&transport=polling&sid=" + sid
	poll := make(chan response, 1)
	go func() { poll <- doAsync(q) }()
	if r := do(t, "POST", q, "1"); r.status != 200 {
		t.Fatalf("close: %d", r.status)
	}
	select {
	case r := <-poll:
		// Whichever reaches the server first, the poll ends with a noop.
		if r.status != 200 || r.body != "6" {
			t.Fatalf("pending poll: %d %q", r.status, r.body)
		}
	case <-time.After(wait):
		t.Fatal("pending poll not answered")
	}
	expectEnd(t, ended, engine.ErrPeerClosed)
	if r := do(t, "GET", q, ""); r.status != 400 {
		t.Fatalf("poll after close: %d", r.status)
	}
}

func TestPostTooLarge(t *testing.T) {
	t.Parallel()
	base, ended := echoServer(t, engine.Options{MaxPayload: 100})
	sid := open(t, base)
	q := base + "?EIO=4&transport=polling&sid=" + sid
	if r := do(t, "POST", q, "4"+strings.Repeat("x", 100)); r.status != 413 {
		t.Fatalf("POST over maxPayload: %d", r.status)
	}
	err := expectEnd(t, ended, engine.ErrTransport)
	if big := (*http.MaxBytesError)(nil); !errors.As(err, &big) || big.Limit != 100 {
		t.Fatalf("the session ended with %v, want an http.MaxBytesError of 100 bytes", err)
	}
}

func dialWS(t *testing.T, base, query string) *ws.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+query, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	c.SetReadDeadline(time.Now().Add(wait))
	return c
}

func readText(t *testing.T, c *ws.Conn) string {
	t.Helper()
	for {
		op, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if op != ws.OpText {
			t.Fatalf("binary message % x, want text", msg)
		}
		if string(msg) != "2" { // pings are answered by the tests that want them
			return string(msg)
		}
		c.WriteMessage(ws.OpText, []byte("3"))
	}
}

func expectClosed(t *testing.T, c *ws.Conn) {
	t.Helper()
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

func TestWebSocket(t *testing.T) {
	t.Parallel()
	base, _ := echoServer(t, engine.Options{})
	c := dialWS(t, base, "?EIO=4&transport=websocket")
	h, err := engineio.ParseHandshake(mustDecode(t, readText(t, c)))
	if err != nil || len(h.Upgrades) != 0 || h.PingInterval != 300 {
		t.Fatalf("handshake %+v, %v", h, err)
	}
	c.WriteMessage(ws.OpText, []byte("4hello"))
	if got := readText(t, c); got != "4hello" {
		t.Fatalf("echo %q", got)
	}
	c.WriteMessage(ws.OpBinary, []byte{1, 2, 3, 4})
	op, msg, err := c.ReadMessage()
	for err == nil && op == ws.OpText && string(msg) == "2" {
		c.WriteMessage(ws.OpText, []byte("3"))
		op, msg, err = c.ReadMessage()
	}
	if err != nil || op != ws.OpBinary || string(msg) != "\x01\x02\x03\x04" {
		t.Fatalf("binary echo: %v %v % x", op, err, msg)
	}
	// Pings, answered by readText: the session lives past several
	// intervals.
	for range 3 {
		op, msg, err := c.ReadMessage()
		if err != nil || string(msg) != "2" || op != ws.OpText {
			t.Fatalf("want a ping: %v %q %v", op, msg, err)
		}
		c.WriteMessage(ws.OpText, []byte("3"))
	}
	c.WriteMessage(ws.OpText, []byte("abc"))
	expectClosed(t, c)
}

func TestWebSocketPingTimeout(t *testing.T) {
	t.Parallel()
	base, ended := echoServer(t, engine.Options{})
	c := dialWS(t, base, "?EIO=4&transport=websocket")
	expectClosed(t, c)
	expectEnd(t, ended, engine.ErrPingTimeout)
}

func TestWebSocketClientClose(t *testing.T) {
	t.Parallel()
	base, ended := echoServer(t, engine.Options{})
	c := dialWS(t, base, "?EIO=4&transport=websocket")
	readText(t, c)
	c.WriteMessage(ws.OpText, []byte("1"))
	expectClosed(t, c)
	expectEnd(t, ended, engine.ErrPeerClosed)
}

func mustDecode(t *testing.T, s string) engineio.Packet {
	t.Helper()
	p, err := engineio.DecodeText([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUpgrade(t *testing.T) {
	t.Parallel()
	base, _ := echoServer(t, engine.Options{PingInterval: time.Minute, PingTimeout: time.Minute})
	sid := open(t, base)
	q := base + "?EIO=4&transport=polling&sid=" + sid
	// Queued before the upgrade, flushed over the WebSocket after it.
	if r := do(t, "POST", q, "4before"); r.status != 200 {
		t.Fatal(r)
	}
	c := dialWS(t, base, "?EIO=4&transport=websocket&sid="+sid)
	c.WriteMessage(ws.OpText, []byte("2probe"))
	if got := readText(t, c); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	if r := do(t, "GET", q, ""); r.status != 200 || r.body != "6" {
		t.Fatalf("poll during the upgrade: %d %q, want a noop", r.status, r.body)
	}
	c.WriteMessage(ws.OpText, []byte("5"))
	if got := readText(t, c); got != "4before" {
		t.Fatalf("after the upgrade: %q, want the queued message", got)
	}
	c.WriteMessage(ws.OpText, []byte("4hello"))
	if got := readText(t, c); got != "4hello" {
		t.Fatalf("echo %q", got)
	}
	if r := do(t, "GET", q, ""); r.status != 400 {
		t.Fatalf("poll after the upgrade: %d %q", r.status, r.body)
	}
	// A second WebSocket for the same sid opens and is closed at once.
	expectClosed(t, dialWS(t, base, "?EIO=4&transport=websocket&sid="+sid))
	c.WriteMessage(ws.OpText, []byte("4still"))
	if got := readText(t, c); got != "4still" {
		t.Fatalf("echo %q", got)
	}
}

// A poll outstanding when the upgrade completes ends with a noop.
func TestUpgradeEndsPendingPoll(t *testing.T) {
	t.Parallel()
	base, _ := echoServer(t, engine.Options{PingInterval: time.Minute, PingTimeout: time.Minute})
	sid := open(t, base)
	q := base + "?EIO=4&transport=polling&sid=" + sid
	poll := make(chan response, 1)
	go func() { poll <- doAsync(q) }()
	c := dialWS(t, base, "?EIO=4&transport=websocket&sid="+sid)
	c.WriteMessage(ws.OpText, []byte("2probe"))
	readText(t, c)
	select {
	case r := <-poll:
		if r.status != 200 || r.body != "6" {
			t.Fatalf("pending poll: %d %q", r.status, r.body)
		}
	case <-time.After(wait):
		t.Fatal("the pending poll was not ended by the probe")
	}
	c.WriteMessage(ws.OpText, []byte("5"))
	c.WriteMessage(ws.OpText, []byte("4x"))
	if got := readText(t, c); got != "4x" {
		t.Fatalf("echo %q", got)
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	base, _ := echoServer(t, engine.Options{Origins: []string{"https://example.com"}})
	get := func(origin string) *http.Response {
		req, _ := http.NewRequest("GET", base+"?EIO=4&transport=polling", nil)
		req.Header.Set("Origin", origin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if res := get("https://example.com"); res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "https://example.com" || res.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("listed origin: %d %v", res.StatusCode, res.Header)
	}
	if res := get("https://evil.example"); res.StatusCode != 403 {
		t.Fatalf("other origin: %d", res.StatusCode)
	}
	if res := get(strings.TrimSuffix(base, "/engine.io/")); res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("same host: %d %v", res.StatusCode, res.Header)
	}
	// A same-origin page under a name that is not the server's: DNS
	// rebinding, refused.
	rebound, _ := http.NewRequest("GET", base+"?EIO=4&transport=polling", nil)
	rebound.Host = "rebound.example:80"
	rebound.Header.Set("Origin", "http://rebound.example:80")
	if res, err := http.DefaultClient.Do(rebound); err != nil || res.StatusCode != 403 {
		t.Fatalf("rebound page: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	req, _ := http.NewRequest("OPTIONS", base+"?EIO=4&transport=polling", nil)
	req.Header.Set("Origin", "https://example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Headers") != "content-type" {
		t.Fatalf("preflight: %d %v", res.StatusCode, res.Header)
	}
}

// A handler that never reads does not block the transports or the
// server's Close; a send queue that overflows ends the session.
func TestQueueFull(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	wg.Add(1)
	errs := make(chan error, 1)
	srv := engine.NewServer(engine.Options{SendQueue: 4, PingInterval: time.Minute, PingTimeout: time.Minute}, func(s *engine.Session) {
		defer wg.Done()
		var err error
		for i := 0; err == nil; i++ {
			err = s.Send(engineio.Packet{Type: engineio.Message, Data: []byte("x")})
		}
		errs <- err
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	open(t, hs.URL+"/")
	wg.Wait()
	err := testkit.Recv(t, 30*time.Second, "the handler's Send error", errs)
	var qf *engine.QueueFullError
	if !errors.Is(err, engine.ErrQueueFull) || !errors.As(err, &qf) || *qf != (engine.QueueFullError{Limit: 4, Queued: 4, Sent: 1}) {
		t.Fatalf("Send: %v, want a QueueFullError at the packet bound of 4", err)
	}
}

// A polling session that does not poll gets large packets, far fewer than
// its packet bound (SendQueue): its queue ends the session at its byte
// bound (SendQueueBytes), having taken no more than that, and a first
// packet larger than the bound is taken. Without the byte bound all 64
// packets of 64 KiB are queued and nothing fails.
func TestQueueFullByBytes(t *testing.T) {
	t.Parallel()
	const bound = 256 << 10
	type result struct {
		sent int
		err  error
	}
	res := make(chan result, 1)
	srv := engine.NewServer(engine.Options{SendQueueBytes: bound, PingInterval: time.Minute, PingTimeout: time.Minute}, func(s *engine.Session) {
		var err error
		if err = s.Send(engineio.Packet{Type: engineio.Message, Data: make([]byte, 2*bound)}); err != nil {
			res <- result{0, err}
			return
		}
		i := 0
		for ; i < 64 && err == nil; i++ {
			err = s.Send(engineio.Packet{Type: engineio.Message, Data: make([]byte, 64<<10)})
		}
		res <- result{i, err}
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	open(t, hs.URL+"/")
	r := testkit.Recv(t, 30*time.Second, "the handler's sends", res)
	if !errors.Is(r.err, engine.ErrQueueFull) {
		t.Fatalf("after %d sends of 64 KiB: %v, want ErrQueueFull", r.sent, r.err)
	}
	if r.sent != 1 {
		t.Fatalf("the session ended at send %d of 64 KiB, want 1: the first large packet (%d bytes) was already over the bound", r.sent, 2*bound)
	}
	var qf *engine.QueueFullError
	if !errors.As(r.err, &qf) || *qf != (engine.QueueFullError{Bytes: true, Limit: bound, Queued: 2 * bound, Sent: 64 << 10}) || !strings.Contains(r.err.Error(), "Options.SendQueueBytes") {
		t.Fatalf("the session ended with %v, want a QueueFullError naming the byte bound", r.err)
	}
}

// A session the server closes while no poll is outstanding: the next poll
// gets the close packet, the one after it a 400.
func TestPollingServerClose(t *testing.T) {
	t.Parallel()
	srv := engine.NewServer(engine.Options{PingInterval: time.Minute, PingTimeout: time.Minute}, func(s *engine.Session) {
		s.Read()
		s.Close()
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	base := hs.URL + "/"
	sid := open(t, base)
	q := base + "?EIO=4&transport=polling&sid=" + sid
	if r := do(t, "POST", q, "4bye"); r.status != 200 {
		t.Fatalf("POST: %d", r.status)
	}
	testkit.Eventually(t, wait, "the handler to close the session", func() bool {
		return srv.Session(sid).Err() != nil
	})
	if r := do(t, "GET", q, ""); r != (response{200, "1"}) {
		t.Fatalf("poll after the close: %v, want the close packet", r)
	}
	if r := do(t, "GET", q, ""); r.status != 400 {
		t.Fatalf("second poll: %v, want 400", r)
	}
}

// A POST whose body trickles in is ended once a heartbeat (ping interval
// plus ping timeout) has passed: its connection is closed, not held for
// as long as the client likes.
func TestSlowPostBodyIsCut(t *testing.T) {
	t.Parallel()
	base, _ := echoServer(t, engine.Options{})
	sid := open(t, base)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, wait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// 100 bytes announced, 2 sent: the rest never comes.
	fmt.Fprintf(c, "POST %s?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n4x", u.Path, sid, u.Host)
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(wait))
	answer, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("the server still held the connection of a POST whose body stopped after %v (want it closed after the ping interval plus the ping timeout, %v): %v", time.Since(start).Round(time.Millisecond), pingInterval+pingTimeout, err)
	}
	if !strings.HasPrefix(string(answer), "HTTP/1.1 400 ") {
		t.Fatalf("answer to a POST whose body stopped: %q, want 400", answer)
	}
}

// A WebSocket client's own ping (heartbeats of node's ws, gorilla) that
// comes after the deadline of the session's last write has passed gets its
// pong (framing/ws answers it by itself), and the session lives on. Before,
// the session's writer left its write deadline (the ping timeout) on the
// WebSocket: the pong failed on it and the connection ended.
func TestWebSocketClientPingAfterTheWriteDeadline(t *testing.T) {
	t.Parallel()
	const pingTimeout = 100 * time.Millisecond
	base, _ := echoServer(t, engine.Options{PingInterval: time.Minute, PingTimeout: pingTimeout})
	c := dialWS(t, base, "?EIO=4&transport=websocket")
	readText(t, c)                            // the open packet: the session's last write
	testkit.PingAnswered(t, c, 3*pingTimeout) // past the session's write deadline
}
