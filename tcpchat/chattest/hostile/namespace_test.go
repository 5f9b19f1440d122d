package hostile_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/socketio/engine"
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

// A connection opens namespace after namespace (each a socket of its
// own): past MaxNamespacesPerConn every connect gets a connect-error
// saying so, over framed TCP, WebSocket and a Socket.IO session alike;
// the namespaces it did not get are not made, and the observer goes on.
func TestNamespacesPerConnection(t *testing.T) {
	t.Parallel()
	const limit, tries = 8, 12
	srv, addr := sioChatServer(t, tcpchat.Options{MaxNamespacesPerConn: limit}, engine.Options{})
	obs := hostile.NewObserver(t, addr, "/chat", "r") // "/" declared, "/chat" created
	base := srv.Namespaces()
	obs.Watch(t)
	const want = "too many namespaces on this connection: it is in 8"

	// Framed TCP.
	a := hostile.Dial(t, addr, "")
	for i := range tries {
		a.Send(t, wire.Packet{Type: wire.TypeConnect, Namespace: fmt.Sprintf("/tcp%d", i)})
		p, err := a.Read()
		switch {
		case err != nil:
			t.Fatalf("framed connect %d: %v", i+1, err)
		case i < limit && p.Type != wire.TypeConnect, i >= limit && (p.Type != wire.TypeConnectError || !strings.Contains(string(p.Reason), want)):
			t.Fatalf("framed connect %d of a bound of %d: %s %q", i+1, limit, p.Type, p.Reason)
		}
	}

	// WebSocket (the Go client).
	c := chattest.Dial(t, "ws://"+addr+"/ws", tcpchat.ClientOptions{NoReconnect: true})
	for i := range tries {
		ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
		_, err := c.Connect(ctx, fmt.Sprintf("/ws%d", i), nil)
		cancel()
		var ce *tcpchat.ConnectError
		if i < limit && err != nil || i >= limit && (!errors.As(err, &ce) || !strings.Contains(ce.Reason, want)) {
			t.Fatalf("WebSocket connect %d of a bound of %d: %v", i+1, limit, err)
		}
	}

	// A Socket.IO polling session: all its connects in one request.
	p := newPoller(t, addr, "127.0.0.11")
	sid, why := p.open(t)
	if sid == "" {
		t.Fatalf("polling handshake refused: %s", why)
	}
	var connects []string
	for i := range tries {
		connects = append(connects, fmt.Sprintf("40/sio%d,", i))
	}
	if status, body := p.do(t, http.MethodPost, "transport=polling&sid="+sid, strings.Join(connects, "\x1e")); status != http.StatusOK {
		t.Fatalf("CONNECTs: %d %s", status, body)
	}
	answers := map[string]string{}
	for len(answers) < tries {
		status, body := p.do(t, http.MethodGet, "transport=polling&sid="+sid, "")
		if status != http.StatusOK {
			t.Fatalf("poll: %d %s", status, body)
		}
		for _, pkt := range strings.Split(body, "\x1e") {
			if len(pkt) < 2 {
				continue
			}
			if ns, rest, ok := strings.Cut(pkt[2:], ","); ok && strings.HasPrefix(ns, "/sio") { // "40/sio0,{...}": a message (4), a CONNECT (0) or CONNECT_ERROR (4)
				answers[ns] = pkt[:2] + rest
			}
		}
	}
	for i := range tries {
		got := answers[fmt.Sprintf("/sio%d", i)]
		if i < limit && !strings.HasPrefix(got, "40") || i >= limit && (!strings.HasPrefix(got, "44") || !strings.Contains(got, want)) {
			t.Fatalf("Socket.IO connect %d of a bound of %d answered %q", i+1, limit, got)
		}
	}

	obs.Check(t)
	if n := metric(t, addr, "wiredojo_chat_refused_conn_namespaces_total"); n != 3*(tries-limit) {
		t.Fatalf("refused_conn_namespaces_total %v, want %d", n, 3*(tries-limit))
	}
	if n := srv.Namespaces(); n != base+3*limit {
		t.Fatalf("%d namespaces, want %d: the refused connects made some", n, base+3*limit)
	}
}
