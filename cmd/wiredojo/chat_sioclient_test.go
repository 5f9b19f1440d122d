package main

import (
	"regexp"
	"strings"
	"testing"
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
