package hostile_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// joinRoom makes the attacker a member of room in ns through the built-in
// "join" event.
func joinRoom(t *testing.T, a *hostile.Attacker, ns, room string) {
	t.Helper()
	a.Event(t, ns, builtin.EventJoin, 1, []byte(`["`+room+`"]`))
	for {
		p, err := a.Read()
		switch {
		case err != nil:
			t.Fatalf("join %q: waiting for its ack: %v", room, err)
		case p.Type == wire.TypePing, p.Type == wire.TypeEvent:
			// The room's traffic (an observer's probes) may reach the
			// new member between the join and its ack.
			continue
		case p.Type != wire.TypeAck || p.AckID != 1:
			t.Fatalf("join %q: got %s %+v, want ack 1", room, p.Type, p)
		}
		return
	}
}

// Issue 13 point 6: invalid UTF-8 inside event arguments is refused at the
// edge with the bad-packet code; nobody receives it.
func TestInvalidUTF8IsRefused(t *testing.T) {
	t.Parallel()
	_, addr := hostile.ChatServer(t, tcpchat.Options{})
	obs := hostile.NewObserver(t, addr, "/chat", "r")
	obs.Watch(t)
	for _, tc := range []struct{ name, event, args string }{
		{"argument", "message", "[\"\xff\xfe\"]"},
		{"object key", "custom", "[{\"\xc3\":1}]"},
		{"surrogate bytes", "custom", "[\"\xed\xa0\x80\"]"},
		{"event name", "ev\xff", `["x"]`},
	} {
		a := hostile.Dial(t, addr, "")
		a.Join(t, "/chat")
		joinRoom(t, a, "/chat", "r")
		a.Event(t, "/chat", tc.event, 2, []byte(tc.args))
		reason := a.ExpectCut(t, wire.CodeBadPacket)
		if !strings.Contains(reason, "UTF-8") {
			t.Errorf("%s: reason %q does not say UTF-8", tc.name, reason)
		}
	}
	obs.Check(t)
	if got := obs.Received(); len(got) > 0 {
		t.Fatalf("the observer received %q", got)
	}
}

// Issue 13 point 7: an event in a namespace the connection never joined is
// a protocol error (code 9); one in a namespace it just left is ignored (it
// may have crossed the disconnect).
func TestEventInUnjoinedNamespace(t *testing.T) {
	t.Parallel()
	_, addr := hostile.ChatServer(t, tcpchat.Options{})
	a := hostile.Dial(t, addr, "")
	a.Join(t, "/chat")
	a.Send(t, wire.Packet{Type: wire.TypeDisconnect, Namespace: "/chat"})
	a.Event(t, "/chat", "message", 0, []byte(`["late"]`))
	a.Join(t, "/")
	a.Event(t, "/", builtin.EventEcho, 7, []byte(`["still here"]`))
	if p := a.Expect(t, wire.TypeAck); p.AckID != 7 {
		t.Fatalf("echo ack id %d, want 7", p.AckID)
	}
	a.Event(t, "/never", "message", 0, []byte(`["hi"]`))
	reason := a.ExpectCut(t, wire.CodeProtocol)
	if !strings.Contains(reason, `"/never"`) {
		t.Fatalf("reason %q does not name the namespace", reason)
	}
}

// Issue 13 point 8: a browser page served under an attacker's DNS name
// (Host and Origin both that name, the name rebound to the server's
// address) is not upgraded; the server's own addresses, localhost and
// configured names are.
func TestDNSRebindingIsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		opts  tcpchat.Options
		host  string // PORT is replaced by the server's port
		ok    bool
		asked string // Origin; "" means http:// + host
	}{
		{name: "attacker's name", host: "evil.example:PORT"},
		{name: "attacker's name with an allow-list", opts: tcpchat.Options{Origins: []string{"*.example.com"}}, host: "evil.example:PORT"},
		{name: "server's address", host: "127.0.0.1:PORT", ok: true},
		{name: "localhost", host: "localhost:PORT", ok: true},
		{name: "configured name", opts: tcpchat.Options{Hosts: []string{"chat.example"}}, host: "chat.example:PORT", ok: true},
		{name: "configured glob", opts: tcpchat.Options{Hosts: []string{"*.lab.example"}}, host: "pc7.lab.example:PORT", ok: true},
		{name: "listed origin", opts: tcpchat.Options{Origins: []string{"https://app.example.com"}}, host: "chat.example.com:PORT", asked: "https://app.example.com", ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, addr := hostile.ChatServer(t, tc.opts)
			_, port, _ := net.SplitHostPort(addr)
			host := strings.ReplaceAll(tc.host, "PORT", port)
			origin := tc.asked
			if origin == "" {
				origin = "http://" + host
			}
			status, body := hostile.HTTP(t, addr, "GET", tcpchat.WebSocketPath, host, hostile.UpgradeHeader(origin))
			switch {
			case tc.ok && status != http.StatusSwitchingProtocols:
				t.Fatalf("Host %s, Origin %s: status %d %q, want 101", host, origin, status, body)
			case !tc.ok && status != http.StatusForbidden:
				t.Fatalf("Host %s, Origin %s: status %d %q, want 403", host, origin, status, body)
			case !tc.ok && !strings.Contains(body, "Host") && !strings.Contains(body, "origin"):
				t.Fatalf("refusal %q does not say why (the Host or the origin)", body)
			}
		})
	}
}

// Issue 13 point 9: /metrics is not open on a server that wants a token:
// it answers requests with the metrics token (default: the handshake
// token) as a bearer token, and 401 to the others; /healthz stays open.
func TestMetricsNeedTheToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		opts  tcpchat.Options
		token string // "" means the server's metrics are open
	}{
		{"no token", tcpchat.Options{}, ""},
		{"handshake token", tcpchat.Options{Token: "s3cret"}, "s3cret"},
		{"metrics token", tcpchat.Options{Token: "s3cret", MetricsToken: "m3trics"}, "m3trics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, addr := hostile.ChatServer(t, tc.opts)
			get := func(path, auth string) (int, string) {
				h := http.Header{}
				if auth != "" {
					h.Set("Authorization", auth)
				}
				return hostile.HTTP(t, addr, "GET", path, addr, h)
			}
			if code, _ := get("/healthz", ""); code != http.StatusOK {
				t.Fatalf("/healthz: %d", code)
			}
			code, body := get("/metrics", "")
			if tc.token == "" {
				if code != http.StatusOK || !strings.Contains(body, "wiredojo_chat_connections") {
					t.Fatalf("open /metrics: %d %.80q", code, body)
				}
				// DNS rebinding: a page under the attacker's name,
				// rebound to the server's address, reads nothing.
				_, port, _ := net.SplitHostPort(addr)
				if code, body := hostile.HTTP(t, addr, "GET", "/metrics", "evil.example:"+port, nil); code != http.StatusForbidden || strings.Contains(body, "wiredojo_chat") {
					t.Fatalf("open /metrics under a rebound name: %d %.80q, want 403 and no counters", code, body)
				}
				return
			}
			if code != http.StatusUnauthorized || strings.Contains(body, "wiredojo_chat") {
				t.Fatalf("/metrics without the token: %d %.80q, want 401 and no counters", code, body)
			}
			if code, _ := get("/metrics", "Bearer wrong"); code != http.StatusUnauthorized {
				t.Fatalf("/metrics with a wrong token: %d", code)
			}
			if code, body := get("/metrics", "Bearer "+tc.token); code != http.StatusOK || !strings.Contains(body, "wiredojo_chat_connections") {
				t.Fatalf("/metrics with the token: %d %.80q", code, body)
			}
		})
	}
}
