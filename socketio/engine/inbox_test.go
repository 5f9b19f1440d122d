package engine_test

import (
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/socketio/engine"
)

// A polling client cannot grow its session's inbox past Options.Inbox
// while the handler does not read: not with many packets in one POST body
// (the POST waits with the inbox full, Options.InboxWait is told), nor
// with more POSTs (a second one while the first waits ends the session
// and adds nothing).
func TestInboxIsBounded(t *testing.T) {
	t.Parallel()
	const inbox, sent = 8, 100
	var waits atomic.Int64
	sessions := make(chan *engine.Session, 1)
	read := make(chan struct{})
	got := make(chan string, sent)
	srv := engine.NewServer(engine.Options{PingInterval: wait, PingTimeout: wait, Inbox: inbox, InboxWait: func() { waits.Add(1) }},
		func(s *engine.Session) {
			sessions <- s
			<-read
			for {
				p, err := s.Read()
				if err != nil {
					close(got)
					return
				}
				got <- string(p.Data)
			}
		})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	var once sync.Once
	release := func() { once.Do(func() { close(read) }) }
	t.Cleanup(release) // before the server closes: it waits for the handler
	base := hs.URL + "/engine.io/"
	q := base + "?EIO=4&transport=polling&sid=" + open(t, base)
	s := <-sessions
	var body strings.Builder
	for i := range sent {
		if i > 0 {
			body.WriteByte('\x1e')
		}
		body.WriteString("4m" + string(rune('0'+i%10)))
	}
	posted := make(chan response, 1)
	go func() { posted <- requestAsync("POST", q, body.String()) }()
	testkit.Eventually(t, wait, "the POST of 100 messages to wait with the inbox full (or be answered)", func() bool {
		return waits.Load() > 0 || len(posted) > 0
	})
	if len(posted) > 0 || engine.InboxLen(s) != inbox || waits.Load() != 1 {
		t.Fatalf("a POST of %d messages to a session that reads nothing: answered %v, %d messages in the inbox, %d waits; want it waiting with %d in the inbox (the bound) and 1 wait",
			sent, len(posted) > 0, engine.InboxLen(s), waits.Load(), inbox)
	}
	if r := do(t, "POST", q, "4more"); r.status != 400 {
		t.Fatalf("a second POST while the first waits: %d %q, want 400", r.status, r.body)
	}
	if n := engine.InboxLen(s); n > inbox {
		t.Fatalf("after a second POST the inbox holds %d messages, over its bound %d", n, inbox)
	}
	release()
	<-posted
	for range got { // the session ended: drain what it had
	}
}
