package engine_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/socketio/engine"
	"github.com/wiredojo/wiredojo/socketio/engineio"
)

// writeServer starts an Engine.IO server whose handler, for each message
// the client sends, calls f with the session.
func writeServer(t *testing.T, opts engine.Options, f func(*engine.Session)) string {
	t.Helper()
	srv := engine.NewServer(opts, func(s *engine.Session) {
		for {
			if _, err := s.Read(); err != nil {
				return
			}
			f(s)
		}
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	return hs.URL + "/engine.io/"
}

// TestWriteWebSocket checks that Write on a WebSocket session sends the
// packets before it returns (the caller may change their data at once
// after) and allocates nothing.
func TestWriteWebSocket(t *testing.T) {
	const runs = 50
	allocs := make(chan float64, 1)
	base := writeServer(t, engine.Options{PingInterval: time.Minute, PingTimeout: time.Minute}, func(s *engine.Session) {
		a, b := []byte("a-000"), []byte("b-000")
		ps := []engineio.Packet{{Type: engineio.Message, Data: a}, {Type: engineio.Message, Data: b}}
		n := 0
		set := func(n int) {
			for _, d := range [][]byte{a, b} {
				d[2], d[3], d[4] = '0'+byte(n/100), '0'+byte(n/10%10), '0'+byte(n%10)
			}
		}
		allocs <- testing.AllocsPerRun(runs, func() {
			set(n)
			if err := s.Write(ps...); err != nil {
				t.Error(err)
			}
			set(999) // the packets are sent: their data is the caller's again
			n++
		})
	})
	c := dialWS(t, base, "?EIO=4&transport=websocket")
	readText(t, c) // the open packet
	c.WriteMessage(ws.OpText, []byte("4go"))
	// The client reads after the measurement: the writes fit in the
	// socket buffers.
	if a := <-allocs; a != 0 && !raceEnabled {
		t.Errorf("Write allocates %.1f times per call, want 0", a)
	}
	for n := range runs + 1 { // AllocsPerRun runs once more first
		for _, name := range []string{"a", "b"} {
			if got, want := readText(t, c), fmt.Sprintf("4%s-%03d", name, n); got != want {
				t.Fatalf("message %q, want %q", got, want)
			}
		}
	}
}

// TestWritePolling checks that Write on a polling session queues copies:
// the caller may change the data at once.
func TestWritePolling(t *testing.T) {
	t.Parallel()
	base := writeServer(t, engine.Options{}, func(s *engine.Session) {
		b := []byte("hello")
		s.Write(engineio.Packet{Type: engineio.Message, Data: b}, engineio.Packet{Type: engineio.Message, Binary: true, Data: b[:2]})
		copy(b, "xxxxx")
	})
	sid := open(t, base)
	q := base + "?EIO=4&transport=polling&sid=" + sid
	if r := do(t, "POST", q, "4go"); r.status != 200 {
		t.Fatalf("POST: %d %q", r.status, r.body)
	}
	var got []string
	for len(got) < 2 {
		r := do(t, "GET", q, "")
		if r.status != 200 {
			t.Fatalf("poll: %d %q", r.status, r.body)
		}
		for _, p := range strings.Split(r.body, "\x1e") {
			if p != "2" {
				got = append(got, p)
			}
		}
	}
	if strings.Join(got, " ") != "4hello baGU=" {
		t.Fatalf("polled %q, want the data as written", got)
	}
}

// TestWriteLongBatch checks that a batch longer than one write's worth of
// text arrives whole and in order.
func TestWriteLongBatch(t *testing.T) {
	t.Parallel()
	const n = 500 // 500 packets of 100 bytes: more than one run
	base := writeServer(t, engine.Options{}, func(s *engine.Session) {
		ps := make([]engineio.Packet, n)
		for i := range ps {
			ps[i] = engineio.Packet{Type: engineio.Message, Data: fmt.Appendf(nil, "%0100d", i)}
		}
		ps[n/2].Binary = true
		s.Write(ps...)
	})
	c := dialWS(t, base, "?EIO=4&transport=websocket")
	readText(t, c) // the open packet
	c.WriteMessage(ws.OpText, []byte("4go"))
	for i := range n {
		want := fmt.Sprintf("4%0100d", i)
		op, msg, err := c.ReadMessage()
		if i == n/2 {
			want = want[1:]
		}
		if err != nil || string(msg) != want || (op == ws.OpBinary) != (i == n/2) {
			t.Fatalf("message %d: %v %.20q %v, want %.20q", i, op, msg, err, want)
		}
	}
}

// TestDoneWebSocket checks Done on a WebSocket session, whose channel is
// made when first asked for: asked before the end it closes at the end,
// asked after it is closed already.
func TestDoneWebSocket(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	srv := engine.NewServer(engine.Options{}, func(s *engine.Session) {
		before := s.Done()
		for {
			if _, err := s.Read(); err != nil {
				break
			}
		}
		closed := func(c <-chan struct{}) bool {
			select {
			case <-c:
				return true
			default:
				return false
			}
		}
		got <- fmt.Sprintf("before %v after %v", closed(before), closed(s.Done()))
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	c := dialWS(t, hs.URL+"/engine.io/", "?EIO=4&transport=websocket")
	readText(t, c)                         // the open packet
	c.WriteMessage(ws.OpText, []byte("1")) // the client's close
	if r := testkit.Recv(t, wait, "the handler's report", got); r != "before true after true" {
		t.Errorf("Done channels: %s, want both closed", r)
	}
}
