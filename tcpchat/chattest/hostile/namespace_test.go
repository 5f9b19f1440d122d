package hostile_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Issue 13 point 2: clients create namespaces only as the pattern allows
// and up to the cap; each is freed when its last socket leaves, so a
// client walking through names leaves nothing behind, while the declared
// ones and the observer's stay.
func TestNamespacesAreBoundedAndFreed(t *testing.T) {
	t.Parallel()
	const max = 20
	srv, addr := hostile.ChatServer(t, tcpchat.Options{NamespacePattern: "/*", MaxNamespaces: max})
	obs := hostile.NewObserver(t, addr, "/chat", "r") // "/" declared, "/chat" created
	base := srv.Namespaces()
	obs.Watch(t)

	a := hostile.Dial(t, addr, "")
	for i := range max - 1 {
		a.Join(t, fmt.Sprintf("/n%d", i))
	}
	a.Send(t, wire.Packet{Type: wire.TypeConnect, Namespace: "/one-too-many"})
	if p := a.Expect(t, wire.TypeConnectError); !strings.Contains(string(p.Reason), "too many namespaces") {
		t.Fatalf("over the cap: connect-error %q", p.Reason)
	}
	a.Send(t, wire.Packet{Type: wire.TypeConnect, Namespace: "/not/matched"})
	if p := a.Expect(t, wire.TypeConnectError); string(p.Reason) != "unknown namespace" {
		t.Fatalf("outside the pattern: connect-error %q", p.Reason)
	}
	// Leaving one frees it: another name fits.
	a.Send(t, wire.Packet{Type: wire.TypeDisconnect, Namespace: "/n0"})
	a.Join(t, "/another")
	if n := metric(t, addr, "wiredojo_chat_namespaces_refused_total"); n != 1 {
		t.Fatalf("namespaces_refused_total %v, want 1", n)
	}
	a.Conn.Close()
	chattest.Eventually(t, fmt.Sprintf("the namespaces to fall back to %d after the client left", base),
		func() bool { return srv.Namespaces() == base })
	obs.Check(t)
}
