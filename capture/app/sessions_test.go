package app

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/capture"
)

// pollConn plays one long-polling HTTP exchange on a connection of its own
// (a new Dir pair using s), at capture time at, and returns the socket.io
// layers it gave.
func pollConn(t *testing.T, s *Sessions, at time.Time, sid, method, reqBody, respBody string) []string {
	t.Helper()
	var a, b Dir
	Pair(&a, &b)
	a.UseSessions(s)
	req := method + " /socket.io/?EIO=4&transport=polling&t=x&sid=" + sid + " HTTP/1.1\r\nHost: x\r\n"
	if method == "POST" {
		req += fmt.Sprintf("Content-Length: %d\r\n", len(reqBody))
	}
	req += "\r\n" + reqBody
	resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(respBody), respBody)
	var out []string
	var pkt capture.Packet
	for _, step := range []struct {
		d *Dir
		b string
	}{{&a, req}, {&b, resp}} {
		pkt.Reset()
		pkt.Timestamp = at
		if n := step.d.Feed([]byte(step.b), &pkt); n != len(step.b) {
			t.Fatalf("Feed consumed %d of %d bytes", n, len(step.b))
		}
		for i := range pkt.Layers {
			if l := &pkt.Layers[i]; l.Proto == capture.ProtoSocketIO {
				out = append(out, sioDescribe(l))
			}
		}
	}
	return out
}

const (
	sioEvent = `451-["up",{"_placeholder":true,"num":0}]`
	sioAck   = `461-0[{"_placeholder":true,"num":0}]`
)

// TestSessionsJoinAcrossConnections: over long-polling a BINARY_EVENT and
// its attachment in two POSTs, and a BINARY_ACK and its attachment in the
// answers of two polls, each on a TCP connection of its own, are joined
// by their session id; another session's traffic in between is apart.
func TestSessionsJoinAcrossConnections(t *testing.T) {
	var s Sessions
	at := time.Unix(1e9, 0)
	steps := []struct {
		sid, method, req, resp string
		want                   []string
	}{
		{"A", "POST", sioEvent, "ok", []string{`socket.io BINARY_EVENT ns=/ name=up data=["up",{"_placeholder":true,"num":0}] ack=false/0 bin=false len=0 att=1`}},
		{"A", "GET", "", sioAck, []string{`socket.io BINARY_ACK ns=/ name= data=[{"_placeholder":true,"num":0}] ack=true/0 bin=false len=0 att=1`}},
		// Session B's attachment is not A's.
		{"B", "POST", "bCQk=", "ok", nil},
		{"B", "GET", "", "bCQk=", nil},
		{"A", "POST", "bAQID", "ok", []string{`socket.io BINARY_EVENT ns=/ name=up data=["up",{"$binary":"AQID"}] ack=false/0 bin=false len=0 att=1 joined`}},
		{"A", "GET", "", "bBAU=", []string{`socket.io BINARY_ACK ns=/ name= data=[{"$binary":"BAU="}] ack=true/0 bin=false len=0 att=1 joined`}},
		// Once joined, a further binary message is nobody's attachment.
		{"A", "POST", "bAQID", "ok", nil},
	}
	for i, st := range steps {
		got := pollConn(t, &s, at.Add(time.Duration(i)*time.Second), st.sid, st.method, st.req, st.resp)
		if strings.Join(got, "\n") != strings.Join(st.want, "\n") {
			t.Fatalf("step %d (%s %s):\ngot  %q\nwant %q", i, st.sid, st.method, got, st.want)
		}
	}
	if s.Held() != 0 || s.Len() != 1 {
		t.Fatalf("after the joins the table holds %d bytes in %d sessions, want 0 in 1", s.Held(), s.Len())
	}
}

// TestSessionsTextEndsWait: a text packet of the same session and
// direction ends the wait, as on one connection; the other direction's
// does not.
func TestSessionsTextEndsWait(t *testing.T) {
	var s Sessions
	at := time.Unix(1e9, 0)
	pollConn(t, &s, at, "A", "POST", sioEvent, "ok")
	pollConn(t, &s, at, "A", "GET", "", `42["x"]`) // server to client
	if got := pollConn(t, &s, at, "A", "POST", "bAQID", "ok"); len(got) != 1 || !strings.HasSuffix(got[0], "joined") {
		t.Fatalf("the server's text packet ended the client's wait: %q", got)
	}
	pollConn(t, &s, at, "A", "POST", sioEvent, "ok")
	pollConn(t, &s, at, "A", "POST", `42["x"]`, "ok")
	if got := pollConn(t, &s, at, "A", "POST", "bAQID", "ok"); len(got) != 0 {
		t.Fatalf("joined across a text packet of the same direction: %q", got)
	}
}

// TestSessionsBounds: the table forgets a session idle for longer than
// SessionIdle, holds at most MaxSessions sessions and MaxSessionBytes
// bytes, and counts what it drops.
func TestSessionsBounds(t *testing.T) {
	at := time.Unix(1e9, 0)
	t.Run("idle", func(t *testing.T) {
		var s Sessions
		pollConn(t, &s, at, "A", "POST", sioEvent, "ok")
		if s.Held() != len(sioEvent)-4 {
			t.Fatalf("held %d bytes, want %d (the packet's data)", s.Held(), len(sioEvent)-4)
		}
		if got := pollConn(t, &s, at.Add(SessionIdle+time.Second), "A", "POST", "bAQID", "ok"); len(got) != 0 {
			t.Fatalf("joined after %v idle: %q", SessionIdle, got)
		}
		if s.Held() != 0 || s.Dropped() != 1 {
			t.Fatalf("after expiry: held %d, dropped %d; want 0, 1", s.Held(), s.Dropped())
		}
	})
	t.Run("sessions", func(t *testing.T) {
		var s Sessions
		for i := range MaxSessions + 10 {
			pollConn(t, &s, at.Add(time.Duration(i)*time.Millisecond), fmt.Sprint("s", i), "POST", sioEvent, "ok")
		}
		if s.Len() != MaxSessions || s.Dropped() != 10 {
			t.Fatalf("%d sessions, %d dropped; want %d, 10", s.Len(), s.Dropped(), MaxSessions)
		}
		if s.Held() != MaxSessions*(len(sioEvent)-4) {
			t.Fatalf("held %d bytes, want %d", s.Held(), MaxSessions*(len(sioEvent)-4))
		}
		// The oldest went first; the newest still joins.
		if got := pollConn(t, &s, at, "s0", "POST", "bAQID", "ok"); len(got) != 0 {
			t.Fatalf("the least recently used session was kept: %q", got)
		}
		if got := pollConn(t, &s, at, fmt.Sprint("s", MaxSessions+9), "POST", "bAQID", "ok"); len(got) != 1 {
			t.Fatalf("the newest session did not join: %q", got)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		var s Sessions
		// Each session waits with one attachment of two held, half of
		// MaxPollBody, so the table fills after a few sessions.
		att := MaxPollBody / 2
		big := "b" + strings.Repeat("AAAA", att/3)
		ev := `452-["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`
		n := MaxSessionBytes/att + 3
		for i := range n {
			sid := fmt.Sprint("s", i)
			now := at.Add(time.Duration(i) * time.Millisecond)
			pollConn(t, &s, now, sid, "POST", ev, "ok")
			pollConn(t, &s, now, sid, "POST", big, "ok")
			if s.Held() > MaxSessionBytes {
				t.Fatalf("after %d sessions the table holds %d bytes (bound %d)", i+1, s.Held(), MaxSessionBytes)
			}
		}
		if s.Dropped() == 0 {
			t.Fatalf("no packet dropped: %d bytes held", s.Held())
		}
		// The last session still joins: the older ones made room.
		got := pollConn(t, &s, at.Add(time.Second), fmt.Sprint("s", n-1), "POST", "bAQID", "ok")
		if len(got) != 1 || !strings.HasSuffix(got[0], "joined") {
			t.Fatalf("the newest session did not join: %d layers", len(got))
		}
		// One packet with more than MaxPollBody of attachments is given up.
		pollConn(t, &s, at.Add(time.Second), "x", "POST", ev, "ok")
		pollConn(t, &s, at.Add(time.Second), "x", "POST", big, "ok")
		pollConn(t, &s, at.Add(time.Second), "x", "POST", big, "ok")
		if got := pollConn(t, &s, at.Add(time.Second), "x", "POST", "bAQID", "ok"); len(got) != 0 {
			t.Fatalf("joined past MaxPollBody: %d layers", len(got))
		}
	})
}

// TestSessionsPipelinedPolls: HTTP/1.1 answers pipelined requests in
// order, so over one connection carrying the polls of sessions A and B
// (both sent before either answer) A's answer is filed under A, not under
// B, the last request: the attachment that A's next poll brings on
// another connection joins it, and B's answer is B's.
func TestSessionsPipelinedPolls(t *testing.T) {
	var s Sessions
	at := time.Unix(1e9, 0)
	var a, b Dir
	Pair(&a, &b)
	a.UseSessions(&s)
	poll := func(sid string) string {
		return "GET /socket.io/?EIO=4&transport=polling&sid=" + sid + " HTTP/1.1\r\nHost: x\r\n\r\n"
	}
	answer := func(body string) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
	var pkt capture.Packet
	for _, step := range []struct {
		d *Dir
		b string
	}{{&a, poll("A") + poll("B")}, {&b, answer(sioAck)}, {&b, answer("bCQk=")}} {
		pkt.Reset()
		pkt.Timestamp = at
		if n := step.d.Feed([]byte(step.b), &pkt); n != len(step.b) {
			t.Fatalf("Feed consumed %d of %d bytes", n, len(step.b))
		}
	}
	// B's answer was a binary message with no packet of B waiting: nobody's.
	if s.Held() == 0 || s.Len() != 1 {
		t.Fatalf("after the pipelined polls the table holds %d bytes in %d sessions, want A's waiting ack alone", s.Held(), s.Len())
	}
	want := `socket.io BINARY_ACK ns=/ name= data=[{"$binary":"BAU="}] ack=true/0 bin=false len=0 att=1 joined`
	if got := pollConn(t, &s, at, "A", "GET", "", "bBAU="); len(got) != 1 || got[0] != want {
		t.Fatalf("A's next poll gave %q, want %q", got, want)
	}
}
