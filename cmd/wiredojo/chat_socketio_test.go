package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chat serve answers Socket.IO clients at /socket.io/ (the handshake and a
// namespace connect by hand over long-polling); with --socketio-test it
// uses the protocol suites' timings and serves the Engine.IO echo too.
func TestChatServeSocketIO(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		interval string
	}{
		{nil, `"pingInterval":25000`},
		{[]string{"--socketio-test"}, `"pingInterval":300`},
	} {
		args := append([]string{"chat", "serve", "--addr", "127.0.0.1:0", "--store", "memory"}, tc.args...)
		out, _, stop := chatStart(t, strings.NewReader(""), args...)
		url := chatWaitFor(t, "serve", out, regexp.MustCompile(`Socket\.IO clients at (http://\S+/socket\.io/)`))
		do := func(method, url, body string) string {
			t.Helper()
			status, b := httpRequest(t, method, url, body)
			if status != 200 {
				t.Fatalf("%s %s: %d %s", method, url, status, b)
			}
			return b
		}
		open := do("GET", url+"?EIO=4&transport=polling", "")
		if !strings.HasPrefix(open, `0{"sid":"`) || !strings.Contains(open, tc.interval) {
			t.Fatalf("%q: open packet %s", tc.args, open)
		}
		sid := open[len(`0{"sid":"`):strings.Index(open, `",`)]
		ns := "/chat"
		if len(tc.args) > 0 {
			ns = "/custom"
		}
		q := url + "?EIO=4&transport=polling&sid=" + sid
		if got := do("POST", q, "40"+ns+",{}"); got != "ok" {
			t.Fatalf("POST: %q", got)
		}
		if got := do("GET", q, ""); !strings.HasPrefix(got, "40"+ns+`,{"sid":"`) {
			t.Fatalf("%q: connect answer %q", tc.args, got)
		}
		if len(tc.args) > 0 {
			echo := strings.Replace(url, "/socket.io/", "/engine.io/", 1)
			if got := do("GET", echo+"?EIO=4&transport=polling", ""); !strings.Contains(got, `"pingInterval":300`) {
				t.Fatalf("engine.io echo: %s", got)
			}
		}
		stop()
	}
}

// --send-queue and --send-queue-bytes bound the Engine.IO sessions' own
// queues with --socketio-test too (they took the engine's defaults, 1024
// packets and 8 MiB): a client of the echo at /engine.io/ that posts 200
// messages of 100 bytes and does not poll meanwhile has its session ended
// at either bound (its next poll: 400, an unknown session), where the
// defaults queue every echo. The POST returns once its last message is in
// the session's inbox (64 places): the echo has taken 136 by then.
func TestChatServeSocketIOTestSendQueueBounds(t *testing.T) {
	for _, flags := range [][]string{{"--send-queue", "16"}, {"--send-queue-bytes", "4096"}} {
		args := append([]string{"chat", "serve", "--addr", "127.0.0.1:0", "--store", "memory", "--socketio-test"}, flags...)
		out, _, stop := chatStart(t, strings.NewReader(""), args...)
		url := chatWaitFor(t, "serve", out, regexp.MustCompile(`Socket\.IO clients at (http://\S+/socket\.io/)`))
		echo := strings.Replace(url, "/socket.io/", "/engine.io/", 1) + "?EIO=4&transport=polling"
		do := func(method, url, body string) (int, string) {
			t.Helper()
			return httpRequest(t, method, url, body)
		}
		_, open := do("GET", echo, "")
		if !strings.HasPrefix(open, `0{"sid":"`) {
			t.Fatalf("%q: open packet %s", flags, open)
		}
		q := echo + "&sid=" + open[len(`0{"sid":"`):strings.Index(open, `",`)]
		msgs := make([]string, 200)
		for i := range msgs {
			msgs[i] = "4" + strings.Repeat("x", 100)
		}
		if status, body := do("POST", q, strings.Join(msgs, "\x1e")); status != http.StatusOK {
			t.Fatalf("%q: POST of 200 messages: %d %s", flags, status, body)
		}
		if status, body := do("GET", q, ""); status != http.StatusBadRequest {
			t.Errorf("%q: the poll after 200 echoes of 100 bytes: %d %.80s, want 400: the session ended at its queue's bound", flags, status, body)
		}
		stop()
	}
}

// httpRequest makes a request (within 10 s) and returns the status and
// the body of its answer.
func httpRequest(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
