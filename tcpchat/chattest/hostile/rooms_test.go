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
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// A client walks through room names with the built-in "join", as a
// durable client (each join was also a store write that outlives it):
// past MaxRoomsPerSocket every join is refused with an ack saying the
// bound, the server holds no more rooms and the store no more durable
// rooms than the bound, and the observer's room goes on.
func TestRoomsPerSocketAreBounded(t *testing.T) {
	t.Parallel()
	const limit, joins = 100, 1000 // within the packet burst: the bound, not the rate limit, stops it
	st := store.NewMemory(store.Options{})
	t.Cleanup(func() { st.Close() })
	_, addr := hostile.ChatServer(t, tcpchat.Options{Store: st, MaxRoomsPerSocket: limit})
	obs := hostile.NewObserver(t, addr, "/chat", "r")
	obs.Watch(t)

	a := hostile.Attacker{Raw: chattest.DialRaw(t, addr, true)}
	a.Send(t, wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, ClientID: "mallory"})
	a.Expect(t, wire.TypeWelcome)
	a.Join(t, "/chat")
	for i := range joins {
		a.Event(t, "/chat", builtin.EventJoin, uint32(i+1), fmt.Appendf(nil, `["flood-%d"]`, i))
	}
	refused := 0
	for i := range joins {
		p := a.Expect(t, wire.TypeAck)
		switch args := string(p.Args); {
		case strings.Contains(args, "error"):
			if !strings.Contains(args, fmt.Sprintf("this server lets one socket be in %d", limit)) || !strings.Contains(args, "--max-rooms-per-socket") {
				t.Fatalf("join %d refused with %s: want the bound and its flag", i+1, args)
			}
			refused++
		case refused > 0:
			t.Fatalf("join %d accepted after a refusal: %s", i+1, args)
		}
	}
	obs.Check(t)
	if refused != joins-limit {
		t.Fatalf("%d of %d joins refused, want %d", refused, joins, joins-limit)
	}
	if n := metric(t, addr, "wiredojo_chat_refused_rooms_total"); n != joins-limit {
		t.Fatalf("refused_rooms_total %v, want %d", n, joins-limit)
	}
	if n := metric(t, addr, "wiredojo_chat_rooms"); n != limit+1 {
		t.Fatalf("the server holds %v rooms, want %d (the attacker's and the observer's)", n, limit+1)
	}
	subs, err := st.Subscriptions(context.Background(), "mallory")
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != limit+1 {
		t.Fatalf("the store holds %d durable rooms of the attacker's client id, want %d (its rooms and its namespace's)", len(subs), limit+1)
	}
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
