package app

import (
	"strings"
	"time"
)

// Bounds of a Sessions table.
const (
	// MaxSessions is the most Engine.IO sessions a Sessions table holds a
	// packet for; a new one forgets the least recently used.
	MaxSessions = 1024
	// MaxSessionBytes bounds the bytes held by all the packets a Sessions
	// table keeps (each at most MaxPollBody); the least recently used
	// sessions' packets are dropped to make room.
	MaxSessionBytes = 16 << 20
	// SessionIdle is how long (in capture time) a session's waiting packet
	// is kept without a packet of that session; Engine.IO closes a session
	// silent for pingInterval + pingTimeout, 45 s by default.
	SessionIdle = time.Minute
)

// Sessions joins the binary attachments of Socket.IO packets to their
// packet across the HTTP requests and TCP connections of one Engine.IO
// session. Over long-polling a BINARY_EVENT or BINARY_ACK and its
// attachments may travel in different POST bodies, or different poll
// answers, each on a connection of its own: the packet waiting for its
// attachments is filed under the session id (sid= in the request target)
// and the direction (requests or responses). Directions that know no sid
// (a WebSocket opened directly) keep their waiting packet themselves.
//
// The zero value is ready. The TCP connections sharing one table share it
// from one goroutine, as capture/decode does.
type Sessions struct {
	m     map[string]*sioSession
	held  int    // bytes held by the waiting packets
	drops uint64 // waiting packets dropped for the bounds
}

// sioSession is one Engine.IO session's waiting packets: bin[0] from the
// client (its requests and its WebSocket messages), bin[1] from the server.
type sioSession struct {
	bin  [2]*sioBinary
	last time.Time // capture time of the session's last packet
}

// Len reports how many sessions the table holds a packet for or has held
// one for (at most MaxSessions).
func (s *Sessions) Len() int { return len(s.m) }

// Held reports the bytes the waiting packets hold (at most
// MaxSessionBytes).
func (s *Sessions) Held() int { return s.held }

// Dropped reports how many waiting packets were given up to keep the
// bounds (MaxSessions, MaxSessionBytes, SessionIdle).
func (s *Sessions) Dropped() uint64 { return s.drops }

// UseSessions makes d and its peer file their waiting Socket.IO packets in
// s (nil: each direction keeps its own).
func (d *Dir) UseSessions(s *Sessions) {
	d.sessions = s
	if d.peer != nil {
		d.peer.sessions = s
	}
}

// sidOf returns the value of the sid parameter in a request target's
// query, "" when it has none.
func sidOf(target string) string {
	q := strings.IndexByte(target, '?')
	if q < 0 {
		return ""
	}
	for rest := target[q+1:]; rest != ""; {
		var p string
		p, rest, _ = strings.Cut(rest, "&")
		if v, ok := strings.CutPrefix(p, "sid="); ok {
			return v
		}
	}
	return ""
}

// session returns d's session in its table, creating it when create is
// set, or nil (no table, no sid, or not found). A session idle for longer
// than SessionIdle before now loses its waiting packets.
func (d *Dir) session(now time.Time, create bool) *sioSession {
	s := d.sessions
	if s == nil || len(d.sid) == 0 {
		return nil
	}
	e := s.m[string(d.sid)]
	if e == nil {
		if !create {
			return nil
		}
		if s.m == nil {
			s.m = make(map[string]*sioSession)
		}
		if len(s.m) >= MaxSessions {
			s.evict(now)
		}
		e = &sioSession{}
		s.m[string(d.sid)] = e
	} else if now.Sub(e.last) > SessionIdle {
		s.clear(e)
	}
	e.last = now
	return e
}

// clear drops the waiting packets of e.
func (s *Sessions) clear(e *sioSession) {
	for i, b := range e.bin {
		if b != nil {
			s.held -= b.size
			s.drops++
			e.bin[i] = nil
		}
	}
}

// evict forgets the sessions idle for longer than SessionIdle before now,
// or the least recently used one when none is.
func (s *Sessions) evict(now time.Time) {
	var lru string
	var lruAt time.Time
	n := 0
	for sid, e := range s.m {
		if now.Sub(e.last) > SessionIdle {
			s.clear(e)
			delete(s.m, sid)
			n++
		} else if lru == "" || e.last.Before(lruAt) {
			lru, lruAt = sid, e.last
		}
	}
	if n == 0 && lru != "" {
		s.clear(s.m[lru])
		delete(s.m, lru)
	}
}

// makeRoom drops the waiting packets of the least recently used sessions
// other than keep until n more bytes fit under MaxSessionBytes; false when
// they do not fit even so.
func (s *Sessions) makeRoom(n int, keep *sioSession) bool {
	for s.held+n > MaxSessionBytes {
		var lru *sioSession
		for _, e := range s.m {
			if e != keep && (e.bin[0] != nil || e.bin[1] != nil) && (lru == nil || e.last.Before(lru.last)) {
				lru = e
			}
		}
		if lru == nil {
			return false
		}
		s.clear(lru)
	}
	return true
}

// binDir is the index of d's direction in sioSession.bin.
func (d *Dir) binDir() int {
	if d.server {
		return 1
	}
	return 0
}

// waiting returns the packet of d's direction waiting for attachments, or
// nil.
func (d *Dir) waiting(now time.Time) *sioBinary {
	if e := d.session(now, false); e != nil {
		return e.bin[d.binDir()]
	}
	if d.sessions != nil && len(d.sid) > 0 {
		return nil
	}
	return d.bin
}

// setWaiting makes b (nil: none) the packet of d's direction waiting for
// attachments; false when the bounds leave no room for it.
func (d *Dir) setWaiting(b *sioBinary, now time.Time) bool {
	e := d.session(now, b != nil)
	if e == nil {
		d.bin = b
		return true
	}
	s, i := d.sessions, d.binDir()
	if old := e.bin[i]; old != nil {
		s.held -= old.size
		e.bin[i] = nil
	}
	if b == nil {
		return true
	}
	if !s.makeRoom(b.size, e) {
		s.drops++
		return false
	}
	s.held += b.size
	e.bin[i] = b
	return true
}

// hold accounts for n more bytes held by b, the waiting packet of d's
// direction; false (b is dropped) when they do not fit.
func (d *Dir) hold(b *sioBinary, n int, now time.Time) bool {
	if b.size+n > MaxPollBody {
		if d.sessions != nil {
			d.sessions.drops++
		}
		d.setWaiting(nil, now)
		return false
	}
	e := d.session(now, false)
	if e == nil {
		b.size += n
		return true
	}
	s := d.sessions
	if !s.makeRoom(n, e) {
		s.drops++
		d.setWaiting(nil, now)
		return false
	}
	b.size += n
	s.held += n
	return true
}
