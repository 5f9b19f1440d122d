package hostile_test

import (
	"io"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// A slowloris before the handshake: sockets that send nothing, sockets
// that send the preamble and then nothing, and sockets that start an HTTP
// request and never end its header. Each is closed at the handshake
// timeout (after the preamble with an error packet, code 5), an
// observer's delivery goes on, and wiredojo_chat_handshake_timeouts_total
// counts every one.
func TestSlowlorisBeforeTheHandshake(t *testing.T) {
	t.Parallel()
	_, addr := hostile.ChatServer(t, tcpchat.Options{HandshakeTimeout: 300 * time.Millisecond})
	obs := hostile.NewObserver(t, addr, "/chat", "r") // from 127.0.0.1
	obs.Watch(t)
	const n = 5
	silent := make([]*hostile.Attacker, n)
	preambled := make([]*hostile.Attacker, n)
	headerless := make([]*hostile.Attacker, n)
	for i := range n {
		silent[i] = hostile.DialFrom(t, addr, "127.0.0.4", false)
		preambled[i] = hostile.DialFrom(t, addr, "127.0.0.4", true)
		headerless[i] = hostile.DialFrom(t, addr, "127.0.0.4", false)
		if _, err := io.WriteString(headerless[i].Conn, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if p := silent[i].ExpectClose(t); p.Type != 0 {
			t.Fatalf("a silent socket got %+v before the close, want nothing", p)
		}
		if reason := preambled[i].ExpectCut(t, wire.CodeHandshake); reason == "" {
			t.Fatal("a socket silent after the preamble was cut without a reason")
		}
		headerless[i].Conn.SetReadDeadline(time.Now().Add(chattest.Timeout))
		if b, err := io.ReadAll(headerless[i].Conn); err != nil || len(b) != 0 {
			t.Fatalf("a request whose header never ends was answered %q, %v; want the socket closed", b, err)
		}
	}
	obs.Check(t)
	if got := metric(t, addr, "wiredojo_chat_handshake_timeouts_total"); got != 3*n {
		t.Fatalf("wiredojo_chat_handshake_timeouts_total %v, want %d", got, 3*n)
	}
}
