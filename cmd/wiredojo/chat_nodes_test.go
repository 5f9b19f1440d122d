package main

// Many `chat serve` nodes: clients given several addresses, a node killed
// under its clients, Redis restarted under the nodes, a full disk.

import (
	"net"
	"regexp"
	"strings"
	"testing"
)

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// --addr takes several servers, comma-separated, tried in turn.
func TestChatAddrList(t *testing.T) {
	out, _, stop := chatStart(t, strings.NewReader(""), "chat", "serve", "--addr", "127.0.0.1:0", "--store", "memory")
	addr := chatWaitFor(t, "serve", out, regexp.MustCompile(`serving on (\S+)`))
	defer stop()
	dead := deadAddr(t)

	lout, lerr, lstop := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", dead+","+addr, "--json")
	if got := chatWaitFor(t, "listen", lerr, regexp.MustCompile(`listening on /chat at (\S+);`)); got != addr {
		t.Fatalf("listening at %s, want %s", got, addr)
	}
	if code, o, e := chatRun(t, "", "chat", "emit", "--addr", dead+", "+addr, "--event", "hi", "1"); code != 0 {
		t.Fatalf("emit: %d %s %s", code, o, e)
	}
	chatWaitFor(t, "event", lout, regexp.MustCompile(`("event":"hi")`))
	lstop()

	for _, bad := range []string{addr + ",", "," + addr} {
		if code, _, e := chatRun(t, "", "chat", "emit", "--addr", bad, "--event", "hi"); code != exitUsage || !strings.Contains(e, "empty address") {
			t.Fatalf("--addr %q: exit %d %s", bad, code, e)
		}
	}
	if code, _, e := chatRun(t, "", "chat", "client", "--ws", "--addr", addr+","+addr); code != exitUsage || !strings.Contains(e, "write each as a URL") {
		t.Fatalf("--ws with a list: exit %d %s", code, e)
	}
	code, _, e := chatRun(t, "", "chat", "emit", "--addr", dead+","+dead, "--event", "hi")
	if code != exitRuntime || !strings.Contains(e, "no server of 2 answered") {
		t.Fatalf("two dead servers: exit %d %s", code, e)
	}
}
