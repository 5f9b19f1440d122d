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
		client := &http.Client{Timeout: 10 * time.Second}
		do := func(method, url, body string) string {
			t.Helper()
			req, _ := http.NewRequest(method, url, strings.NewReader(body))
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, b)
			}
			return string(b)
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
