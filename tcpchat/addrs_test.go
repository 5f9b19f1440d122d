package tcpchat_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
)

// Connect-close from many source addresses: the state kept for addresses
// without sockets stays within its bound (lowered here to 16), those
// forgotten early are counted (and the burst logged once), and an address with sockets open keeps its
// state (its MaxConnsPerAddr still refuses).
func TestIdleAddrsAreBounded(t *testing.T) {
	t.Parallel()
	const bound, held, flood = 16, "127.0.1.1", 64
	var logged atomic.Int32
	srv := tcpchat.NewServer(tcpchat.Options{MaxConnsPerAddr: 2, Logf: func(format string, args ...any) {
		if strings.Contains(format, "forgetting some") {
			logged.Add(1)
		}
	}})
	tcpchat.SetMaxIdleAddrs(srv, bound)
	addr := chattest.NewServer(t, srv)
	for range 2 {
		hostile.DialFrom(t, addr, held, true).Handshake(t, "")
	}
	for i := range flood {
		src := fmt.Sprintf("127.1.%d.%d", i/250, 1+i%250)
		hostile.DialFrom(t, addr, src, false).Conn.Close()
		// Once the server has closed it, the addresses with sockets are
		// held's and 127.0.0.1's (the /metrics request's own).
		chattest.Eventually(t, fmt.Sprintf("the socket from %s closed on the server", src), func() bool {
			return hostile.Metric(t, addr, "wiredojo_chat_sockets_open") == 3
		})
		if n := hostile.Metric(t, addr, "wiredojo_chat_addrs"); n > bound+2 {
			t.Fatalf("after %d addresses connected and closed: wiredojo_chat_addrs %v, want at most %d (the bound, %s and 127.0.0.1)", i+1, n, bound+2, held)
		}
	}
	// Of flood+2 addresses at most bound+2 are kept; the sweep forgets
	// none in the test's few seconds (addrIdle is 10 s).
	if n := hostile.Metric(t, addr, "wiredojo_chat_addrs_forgotten_total"); n < flood-bound {
		t.Fatalf("wiredojo_chat_addrs_forgotten_total %v, want at least %d", n, flood-bound)
	}
	if n := logged.Load(); n != 1 {
		t.Fatalf("the bound met was logged %d times, want once (per burst)", n)
	}
	if reason := hostile.DialFrom(t, addr, held, false).Refused(t); reason == "" {
		t.Fatalf("a third connection from %s was not refused (MaxConnsPerAddr 2): its state was forgotten", held)
	}
}
