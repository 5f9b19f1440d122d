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
	rec := store.NewMemory(store.Options{Limits: store.Limits{SessionTotalBytes: sessionAttackBytes}})
	t.Cleanup(func() { rec.Close() })
	sessionAttack(t, tcpchat.Options{RecoveryStore: rec}, rec, nil)
}

// sessionAttackBytes is the sessions' bound of sessionAttack.
const sessionAttackBytes = 256 << 10

// sessionAttack runs the attack on the recovery sessions against a server
// with opts whose recovery state rec holds (SessionTotalBytes
// sessionAttackBytes), and checks that the sessions keep their bound (and
// what held checks, when not nil, right after the attack) and that an
// innocent client resumes after it.
func sessionAttack(t *testing.T, opts tcpchat.Options, rec store.Store, held func(t *testing.T)) {
	const (
		conns    = 20
		rooms    = 100
		maxBytes = sessionAttackBytes
	)
	srv, addr := hostile.ChatServer(t, opts)
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
	if held != nil {
		held(t)
	}
	st := rec.Stats()
	t.Logf("%d sessions saved, %d dropped; %d bytes held (bound %d)", st.SessionsSaved, st.SessionsDropped, st.SessionBytes, maxBytes)
	checkBytesBound(t, addr, "the recovery sessions", st.SessionBytes, maxBytes, st.SessionsDropped, "wiredojo_chat_session_bytes", "wiredojo_chat_sessions_dropped_total")

	// The attack stopped: an innocent client in a room drops its
	// connection and resumes its session, room and all.
	session := innocentLeaves(t, srv, addr, base)
	taken := rec.Stats().SessionsTaken
	innocentResumes(t, addr, session)
	// the server takes the namespace's session after it answered the
	// connect (a store in Redis takes a while)
	testkit.Eventually(t, 10*time.Second, "2 sessions taken on resuming (the connection's and /chat's, with its room)", func() bool {
		return rec.Stats().SessionsTaken-taken == 2
	})
}

// innocentLeaves connects an innocent client to /chat of the server srv
// at addr, in room "innocent", drops its connection, waits until the
// server has conns connections (its sessions are saved then) and returns
// its session id.
func innocentLeaves(t *testing.T, srv *tcpchat.Server, addr string, conns int) string {
	t.Helper()
	c := chattest.DialRaw(t, addr, true)
	w := c.Handshake(t, "")
	c.Join(t, "/chat")
	joinRoom(t, &hostile.Attacker{Raw: c}, "/chat", "innocent")
	c.Conn.Close()
	testkit.Eventually(t, 10*time.Second, "the innocent client's connection to end", func() bool { return srv.Connections() == conns })
	return w.SessionID
}

// innocentResumes connects again with session, fails unless the welcome
// says it was resumed, and connects to /chat (which takes its rooms back
// and replays what it missed there).
func innocentResumes(t *testing.T, addr, session string) *chattest.Raw {
	t.Helper()
	c := chattest.DialRaw(t, addr, true)
	c.Send(t, wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, SessionID: session})
	if w := c.Expect(t, wire.TypeWelcome); !w.Resumed || w.SessionID != session {
		t.Fatalf("the innocent client's reconnection: resumed %v, session %q; want its session %q resumed", w.Resumed, w.SessionID, session)
	}
	c.Join(t, "/chat")
	return c
}
