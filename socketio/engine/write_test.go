package engine_test

import (
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
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
	const n = 1000 // 1000 packets of 100 bytes: more than one run (runText)
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

// TestTryWriteKeepsTheRest checks TryWrite on a WebSocket session: it
// allocates nothing while the socket takes the packets, never waits once
// the socket is full (it keeps the rest and says so), and the next Write,
// with no packets, sends that rest: the client reads every message whole
// and in order.
func TestTryWriteKeepsTheRest(t *testing.T) {
	const runs = 50
	type result struct {
		allocs float64
		sent   int // messages in all
		err    error
	}
	res := make(chan result, 1)
	flushed := make(chan error, 1)
	msg := func(dst []byte, i int) []byte { // message i, 3000 bytes
		dst = strconv.AppendInt(dst, int64(i), 10)
		for len(dst) < 3000 {
			dst = append(dst, '.')
		}
		return dst
	}
	base := writeServer(t, engine.Options{PingInterval: time.Minute, PingTimeout: time.Minute}, func(s *engine.Session) {
		sc, ok := s.WebSocketConn().(syscall.Conn)
		if !ok {
			res <- result{err: fmt.Errorf("%T is no syscall.Conn", s.WebSocketConn())}
			return
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			res <- result{err: err}
			return
		}
		var r result
		data := make([]byte, 0, 3100)
		ps := []engineio.Packet{{Type: engineio.Message}}
		next := func() (bool, error) {
			data = msg(data[:0], r.sent) // the caller's buffer, reused
			ps[0].Data = data
			r.sent++
			return s.TryWrite(rc, ps...)
		}
		r.allocs = testing.AllocsPerRun(runs, func() {
			if rest, err := next(); rest || err != nil {
				t.Errorf("TryWrite: rest %v, %v (the socket takes 150 KB)", rest, err)
			}
		})
		for rest := false; !rest; {
			if r.sent > 100000 { // 300 MB: no socket buffers that much
				r.err = fmt.Errorf("the socket never filled")
				break
			}
			if rest, r.err = next(); r.err != nil {
				break
			}
		}
		res <- r
		flushed <- s.Write() // waits for the client
	})
	c := dialWS(t, base, "?EIO=4&transport=websocket")
	readText(t, c) // the open packet
	c.WriteMessage(ws.OpText, []byte("4go"))
	r := testkit.Recv(t, wait, "the handler's writes", res)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.allocs != 0 && !raceEnabled {
		t.Errorf("TryWrite allocates %.1f times per call, want 0", r.allocs)
	}
	for i := range r.sent {
		if got, want := readText(t, c), "4"+string(msg(nil, i)); got != want {
			t.Fatalf("message %d of %d: %.20q, want %.20q", i, r.sent, got, want)
		}
	}
	if err := testkit.Recv(t, wait, "the Write that flushes", flushed); err != nil {
		t.Fatal(err)
	}
}
