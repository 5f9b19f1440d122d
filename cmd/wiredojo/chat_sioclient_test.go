package main

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/internal/testdep"
)

// chat listen, emit and client reach a Socket.IO server with a socketio://
// or http://.../socket.io/ --addr: here the chat server's own /socket.io/.
func TestChatSocketIOAddr(t *testing.T) {
	addr := chatServer(t)
	// The namespace comes from the URL.
	out, errb, stop := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", "socketio://"+addr+"/chat", "--room", "r1", "--json")
	chatWaitFor(t, "listen", errb, regexp.MustCompile(`(listening)`))
	code, stdout, stderr := chatRun(t, "", "chat", "emit", "--addr", "http://"+addr+"/socket.io/", "--ns", "/chat", "--room", "r1", "--event", "news", `{"a":1}`, `"two"`)
	if code != 0 {
		t.Fatalf("emit: %d %s %s", code, stdout, stderr)
	}
	chatWaitFor(t, "listen output", out, regexp.MustCompile(`(\{"ns":"/chat","event":"news","args":\[\{"a":1\},"two"\]\})`))
	if code := stop(); code != 0 {
		t.Fatalf("listen exited with %d: %s", code, errb.String())
	}

	code, stdout, stderr = chatRun(t, "", "chat", "emit", "--addr", "socketio://"+addr+"?transport=websocket", "--event", "echo", "--ack", `"hi"`, `{"$binary":"AQID"}`)
	if code != 0 || strings.TrimSpace(stdout) != `emitted echo on /chat: ack ["hi",{"$binary":"AQID"}]` {
		t.Fatalf("emit --ack: %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = chatRun(t, "/ack echo 1\n/quit\n", "chat", "client", "--addr", "socketio://"+addr, "--name", "ann")
	if code != 0 || !strings.Contains(stdout, "ack [1]") {
		t.Fatalf("client: %d %q %q", code, stdout, stderr)
	}

	// A durable client id cannot travel over Socket.IO: said at once.
	code, _, stderr = chatRun(t, "", "chat", "listen", "--addr", "socketio://"+addr, "--client-id", "c1")
	if code != 1 || !strings.Contains(stderr, "leave out --client-id") {
		t.Fatalf("listen --client-id: %d %q", code, stderr)
	}
	for _, args := range [][]string{
		{"chat", "client", "--addr", "socketio://" + addr, "--ws"},
		{"chat", "emit", "--addr", "socketio://" + addr + "?transport=smoke", "--event", "e"},
	} {
		if code, _, stderr := chatRun(t, "", args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (usage): %s", args, code, stderr)
		}
	}
}

// chat serve --socketio-client DIR serves the official client for the page
// /sio.html; a folder without it is a usage error.
func TestChatServeSocketIOClient(t *testing.T) {
	dir := testdep.NodeDir(t, "socket.io-client")
	out, _, stop := chatStart(t, strings.NewReader(""), "chat", "serve", "--addr", "127.0.0.1:0", "--socketio-client", filepath.Join(dir, "node_modules"))
	page := chatWaitFor(t, "serve", out, regexp.MustCompile(`(http://\S+/sio\.html)`))
	get := func(u string) string {
		t.Helper()
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("GET %s: %d", u, res.StatusCode)
		}
		return string(b)
	}
	if html := get(page); !strings.Contains(html, `<script src="/socket.io/socket.io.min.js">`) {
		t.Errorf("GET %s: the page does not load the official client:\n%s", page, html)
	}
	// The minified client is tens of kilobytes and defines the global io.
	if js := get(strings.Replace(page, "/sio.html", "/socket.io/socket.io.min.js", 1)); len(js) < 10000 || !strings.Contains(js, "io") {
		t.Errorf("socket.io.min.js: %d bytes", len(js))
	}
	stop()
	if code, _, stderr := chatRun(t, "", "chat", "serve", "--addr", "127.0.0.1:0", "--socketio-client", t.TempDir()); code != 2 || !strings.Contains(stderr, "socket.io.min.js") {
		t.Errorf("--socketio-client of an empty folder: %d %q", code, stderr)
	}
}

// Without --socketio-client, the file /sio.html loads is a 404 that says
// how to serve it (it was Engine.IO's 400 "Unsupported protocol version").
func TestChatServeSocketIOClientNotServed(t *testing.T) {
	addr := chatServer(t)
	res, err := http.Get("http://" + addr + "/socket.io/socket.io.min.js")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "--socketio-client DIR") {
		t.Errorf("GET /socket.io/socket.io.min.js: %d %q, want 404 and the flag to give", res.StatusCode, b)
	}
}
