package hostile_test

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
)

// Issue 13 point 5: a server whose process may open 128 descriptors, held
// by 150 silent sockets, refuses new clients early with a reason and a
// log line, and /healthz and /metrics still answer at once.
func TestDescriptorLimit(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fdChildEnv+"=1")
	var stderr testkit.Buffer
	cmd.Stderr = &stderr
	child := testkit.StartProc(t, cmd, 10*time.Second)
	var addr string
	select {
	case addr = <-child.Lines:
	case <-time.After(10 * time.Second):
		t.Fatalf("the child server did not say its address; stderr:\n%s", stderr.String())
	}
	if addr = strings.TrimSpace(addr); addr == "" {
		t.Fatalf("the child server failed; stderr:\n%s", stderr.String())
	}

	for range 150 { // silent sockets from one address: more than the limit
		hostile.DialFrom(t, addr, "127.0.0.7", false)
	}
	if _, ok := handshaken(t, addr, "127.0.0.8"); ok {
		t.Fatal("a client was welcomed at the descriptor limit")
	}
	start := time.Now()
	if code, body := hostile.HTTP(t, addr, "GET", "/healthz", addr, nil); code != http.StatusOK {
		t.Fatalf("/healthz at the descriptor limit: %d %q", code, body)
	}
	if n := metric(t, addr, "wiredojo_chat_sockets_max"); n != 128-64 {
		t.Fatalf("sockets_max %v, want 64 (128 descriptors less 64 of headroom)", n)
	}
	if n := metric(t, addr, "wiredojo_chat_refused_connection_cap_total"); n == 0 {
		t.Fatal("refused_connection_cap_total is 0")
	}
	t.Logf("/healthz and /metrics answered in %v at the limit", time.Since(start))
	if !strings.Contains(stderr.String(), "refusing new connections") {
		t.Fatalf("no log line says the server refuses connections; stderr:\n%s", stderr.String())
	}
}
