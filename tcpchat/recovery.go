package tcpchat

import (
	"errors"
	"slices"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// Connection state recovery (docs/PROTOCOL.md, "Connection state
// recovery"). With a store, every non-volatile broadcast is appended to its
// namespace's replay log before it is sent; when a connection ends, the
// server saves its session (session id, client id) and, per namespace, its
// rooms and the replay-log head. A client that reconnects within the
// store's session window with that session id in its handshake gets the
// session id back (welcome flag RESUMED); each namespace it connects to
// again gets its rooms back and then the broadcasts of the log it missed,
// in order.

// connSessionNS marks the connection-level session record.
const connSessionNS = "\x01conn"

func nsSessionID(session, ns string) string { return session + " " + ns }

// appendReplay records a non-volatile broadcast for recovery. It runs for
// every broadcast, so it allocates nothing in steady state with the memory
// store (which copies the payload into a reused buffer): that store never
// waits, so the call gets no timeout (a context with a timer per broadcast
// cost about a seventh of recording); other stores are bounded by
// WriteTimeout. at, when not 0, is the monoNow() of the read that brought
// the packet being handled: the memory store's entry is stamped with it
// (as a duration since clockEpoch: no time.Time built per broadcast)
// rather than with a clock read of its own per broadcast (entries age on
// the monotonic clock there).
func (s *Server) appendReplay(ns string, payload []byte, rooms, except []string, at int64) {
	var err error
	if mem, local := s.opts.RecoveryStore.(*store.Memory); local {
		if at != 0 {
			err = mem.RecordReplayAt(ns, payload, rooms, except, clockEpoch, time.Duration(at))
		} else {
			err = mem.RecordReplay(ns, payload, rooms, except, time.Time{}) // the store reads its clock
		}
	} else {
		ctx, cancel := s.storeCtx()
		_, _, err = s.opts.RecoveryStore.AppendReplay(ctx, store.Message{Namespace: ns, Rooms: rooms, Except: except, Payload: payload})
		cancel()
	}
	if err != nil {
		s.durableError("replay append", err)
	}
}

// saveSessions stores the connection's session and, per namespace, its rooms
// and the replay head, before the sockets are cleaned up.
func (c *conn) saveSessions() {
	st := c.srv.opts.RecoveryStore
	if st == nil || c.session == "" || len(c.sockets) == 0 {
		return
	}
	ctx, cancel := c.srv.storeCtx()
	defer cancel()
	if err := st.SaveSession(ctx, store.Session{ID: c.session, Client: c.clientID, Namespace: connSessionNS}); err != nil {
		c.srv.durableError("save session", err)
		return
	}
	for _, s := range c.sockets {
		if s.gone.Load() {
			continue
		}
		head, err := st.ReplayHead(ctx, s.ns.name)
		if err != nil {
			c.srv.durableError("replay head", err)
			continue
		}
		rooms := slices.DeleteFunc(s.Rooms(), func(r string) bool { return r == namespaceRoom })
		err = st.SaveSession(ctx, store.Session{ID: nsSessionID(c.session, s.ns.name), Client: c.clientID, Namespace: s.ns.name, Rooms: rooms, Offset: head})
		if err != nil {
			c.srv.durableError("save session", err)
		}
	}
}

// resume looks up the session a handshake names; it reports whether the
// connection takes it over.
func (c *conn) resume(session, client string) bool {
	st := c.srv.opts.RecoveryStore
	if st == nil || session == "" || store.ValidName(session) != nil {
		return false
	}
	ctx, cancel := c.srv.storeCtx()
	defer cancel()
	sess, err := st.TakeSession(ctx, session)
	if err != nil {
		if !errors.Is(err, store.ErrSessionNotFound) {
			c.srv.durableError("take session", err)
		}
		return false
	}
	if sess.Namespace != connSessionNS || (client != "" && client != sess.Client) {
		return false
	}
	c.session, c.clientID, c.resumed = sess.ID, sess.Client, true
	c.srv.metrics.recovered.Add(1)
	return true
}

// recoverNamespace gives a resumed connection's new socket its rooms back
// and sends the broadcasts it missed.
func (c *conn) recoverNamespace(s *Socket) {
	st := c.srv.opts.RecoveryStore
	ctx, cancel := c.srv.storeCtx()
	defer cancel()
	sess, err := st.TakeSession(ctx, nsSessionID(c.session, s.ns.name))
	if err != nil {
		return
	}
	if len(sess.Rooms) > 0 {
		s.addRooms(-1, sess.Rooms) // all of them, even beyond Options.MaxRoomsPerConn (they count)
	}
	entries, err := st.Replay(ctx, s.ns.name, sess.Offset, 0, nil)
	if err != nil {
		c.srv.durableError("replay", err) // ErrReplayGap: the window was exceeded
		return
	}
	for _, e := range entries {
		if len(e.Rooms) > 0 && !slices.ContainsFunc(e.Rooms, func(r string) bool { return slices.Contains(sess.Rooms, r) }) {
			continue
		}
		if slices.ContainsFunc(e.Except, func(r string) bool { return slices.Contains(sess.Rooms, r) }) {
			continue
		}
		m := NewMessage(e.Payload)
		c.enqueue(m, false)
		m.Release()
		c.srv.metrics.replayed.Add(1)
	}
}

// Resumed reports whether the server recovered the client's session on the
// latest (re)connection (welcome flag RESUMED): its rooms came back and the
// missed broadcasts were replayed.
func (c *Client) Resumed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome.Resumed
}
