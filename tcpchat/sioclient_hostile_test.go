package tcpchat

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// TestSocketIORecoveryKeepsOnlyAskedNamespaces: a Socket.IO server that
// answers the client's CONNECT to "/" and then sends CONNECT packets, each
// with a 1 KiB pid, for 1000 namespaces the client never asked for makes
// the client's recovery state hold "/" alone. It held every namespace's
// pid before, for the client's lifetime: the server could grow it without
// a bound.
func TestSocketIORecoveryKeepsOnlyAskedNamespaces(t *testing.T) {
	const others = 1000
	pid := strings.Repeat("p", 1<<10)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&ws.Upgrader{}).UpgradeHTTP(w, r)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.WriteMessage(ws.OpText, []byte(`0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
		if _, msg, err := c.ReadMessage(); err != nil || !strings.HasPrefix(string(msg), "40") {
			return // not the client's CONNECT
		}
		c.WriteMessage(ws.OpText, []byte(`40{"sid":"a","pid":"p0"}`))
		for i := range others {
			c.WriteMessage(ws.OpText, fmt.Appendf(nil, `40/never%d,{"sid":"x","pid":"%s"}`, i, pid))
		}
		c.ReadMessage() // until the client closes
	}))
	defer hs.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := new(sioRecovery)
	tr, err := dialSocketIO(ctx, hs.URL+"/socket.io/?transport=websocket", nil, 1<<20, rec)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	connect := wire.Packet{Type: wire.TypeConnect, Namespace: "/"}
	if err := tr.WritePackets([][]byte{connect.AppendTo(nil)}); err != nil {
		t.Fatal(err)
	}
	tr.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range 1 + others {
		p, err := tr.ReadPacket()
		if err != nil {
			t.Fatalf("CONNECT answer %d of %d: %v", i, 1+others, err)
		}
		if v, err := wire.Decode(p); err != nil || v.Type != wire.TypeConnect {
			t.Fatalf("CONNECT answer %d: %v %v, want a connect", i, v.Type, err)
		}
	}
	rec.mu.Lock()
	n, root := len(rec.ns), rec.ns["/"]
	rec.mu.Unlock()
	if n != 1 || root.pid != "p0" {
		t.Fatalf("after CONNECT answers for / and %d namespaces never asked, the recovery state holds %d namespaces (/ with pid %q), want / alone with pid p0", others, n, root.pid)
	}
}
