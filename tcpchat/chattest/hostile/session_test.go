package hostile_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// Clients that join many long-named rooms and drop their connections,
// again and again, leave the sessions of connection state recovery
// within their byte bound (here 256 KiB; each connection's session
// counts about 27 KB), the oldest dropped first; an observer's delivery
// goes on, and an innocent client that drops its connection after the
// attack still resumes its session.
func TestRecoverySessionsAreBoundedByBytes(t *testing.T) {
	t.Parallel()
	const (
		conns    = 20
		rooms    = 100
		maxBytes = 256 << 10
	)
	rec := store.NewMemory(store.Options{Limits: store.Limits{SessionTotalBytes: maxBytes}})
	t.Cleanup(func() { rec.Close() })
	srv, addr := hostile.ChatServer(t, tcpchat.Options{RecoveryStore: rec})
	obs := hostile.NewObserver(t, addr, "/chat", "quiet")
	base := srv.Connections() // the observer's
	obs.Watch(t)

	for i := range conns {
		a := hostile.DialFrom(t, addr, "127.0.0.2", true)
		a.Handshake(t, "")
		a.Join(t, "/chat")
		for j := range rooms {
			name := fmt.Sprintf("%03d-%03d-", i, j)
			joinRoom(t, a, "/chat", name+strings.Repeat("r", store.MaxNameLen-len(name)))
		}
		a.Conn.Close()
	}
	// A connection's sessions are saved before the server lets it go.
	testkit.Eventually(t, 10*time.Second, "the attackers' connections to end", func() bool { return srv.Connections() == base })
	obs.Check(t)
	st := rec.Stats()
	t.Logf("%d sessions saved, %d dropped; %d bytes held (bound %d)", st.SessionsSaved, st.SessionsDropped, st.SessionBytes, maxBytes)
	checkBytesBound(t, addr, "the recovery sessions", st.SessionBytes, maxBytes, st.SessionsDropped, "wiredojo_chat_session_bytes", "wiredojo_chat_sessions_dropped_total")

	// The attack stopped: an innocent client in a room drops its
	// connection and resumes its session, room and all.
	c := chattest.DialRaw(t, addr, true)
	w := c.Handshake(t, "")
	c.Join(t, "/chat")
	joinRoom(t, &hostile.Attacker{Raw: c}, "/chat", "innocent")
	c.Conn.Close()
	testkit.Eventually(t, 10*time.Second, "the innocent client's connection to end", func() bool { return srv.Connections() == base })
	taken := rec.Stats().SessionsTaken
	c2 := chattest.DialRaw(t, addr, true)
	c2.Send(t, wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, SessionID: w.SessionID})
	if w2 := c2.Expect(t, wire.TypeWelcome); !w2.Resumed || w2.SessionID != w.SessionID {
		t.Fatalf("the innocent client's reconnection: resumed %v, session %q; want its session %q resumed", w2.Resumed, w2.SessionID, w.SessionID)
	}
	c2.Join(t, "/chat")
	if got := rec.Stats().SessionsTaken - taken; got != 2 {
		t.Fatalf("%d sessions taken on resuming, want 2 (the connection's and /chat's, with its room)", got)
	}
}
