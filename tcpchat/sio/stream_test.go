package sio

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
)

// TestSteadyStreamKeepsSession sends events for 2 s in writes that each
// end inside a frame, so that every read of the server leaves part of a
// message buffered and its read batch never ends. The session must
// outlive the busy reader's one-second linger deadline: its reads must
// keep moving the deadline (the batch's clock is read again), or a read
// for the rest of a message fails once the deadline passes, and the
// session ends as if the client had gone quiet.
func TestSteadyStreamKeepsSession(t *testing.T) {
	_, _, _, addr := chatWithSocketIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c := openEngine(t, ctx, addr)
	connect := func(ns string) {
		t.Helper()
		if err := c.WriteMessage(ws.OpText, []byte("40"+ns+`{"token":"tok"}`)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(wait))
		for {
			_, m, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("waiting for the answer to CONNECT %q: %v", ns, err)
			}
			if strings.HasPrefix(string(m), "40"+ns+"{") {
				return
			}
		}
	}
	connect("")
	// One masked frame of an event ("slow": its handler does nothing),
	// written half a frame out of step: each write is the end of one
	// frame and the start of the next.
	frame := ws.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: [4]byte{7, 1, 2, 9}},
		[]byte(`42["slow","`+strings.Repeat("x", 100)+`"]`))
	half := len(frame) / 2
	nc := c.NetConn()
	nc.SetWriteDeadline(time.Now().Add(wait))
	if _, err := nc.Write(frame[:half]); err != nil {
		t.Fatal(err)
	}
	step := append(append([]byte(nil), frame[half:]...), frame[:half]...)
	writes := 0
	start := time.Now()
	for end := start.Add(2 * time.Second); time.Now().Before(end); writes++ {
		if _, err := nc.Write(step); err != nil {
			t.Fatalf("the server ended the session %v into the stream (write %d): %v", time.Since(start).Round(time.Millisecond), writes, err)
		}
		time.Sleep(2 * time.Millisecond) // pacing, not synchronisation
	}
	if _, err := nc.Write(frame[half:]); err != nil {
		t.Fatal(err)
	}
	nc.SetWriteDeadline(time.Time{})
	// Still connected: a second namespace's CONNECT is answered.
	connect("/chat,")
	t.Logf("%d events in %d writes, each ending inside a frame", writes+1, writes+2)
}

// TestBackpressureWaitKeepsSession has a publisher's events wait for
// room in a subscriber's full queue for 1.5 s in the middle of a read
// batch of events larger than the read buffer. The publisher's session
// must outlive its busy reader's one-second linger deadline: after the
// wait its reads must move the deadline (the clock is read again), or the
// next read for the rest of a message fails and the session ends as if
// the publisher had gone quiet.
func TestBackpressureWaitKeepsSession(t *testing.T) {
	srv := tcpchat.NewServer(tcpchat.Options{SendQueue: 2, SlowConsumerWait: wait})
	ns := srv.Of("/")
	ns.On("sub", func(e *tcpchat.Event) {
		e.Socket.Join("r")
		e.Socket.Emit("subbed")
	})
	ns.On("pub", func(e *tcpchat.Event) { e.Socket.To("r").EmitRaw("ev", e.Args) })
	ns.On("hello", func(e *tcpchat.Event) { e.Socket.Emit("hi") })
	s := New(srv, Options{})
	srv.HandleHTTP(Path, s)
	t.Cleanup(func() { s.Close() })
	addr := chattest.NewServer(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	await := func(c *ws.Conn, who, want string) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(wait))
		for {
			_, m, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("%s waiting for %q: %v", who, want, err)
			}
			if string(m) == want {
				return
			}
		}
	}
	sub := connectEngine(t, ctx, addr)
	if err := sub.WriteMessage(ws.OpText, []byte(`42["sub"]`)); err != nil {
		t.Fatal(err)
	}
	await(sub, "subscriber", `42["subbed"]`)
	pub := connectEngine(t, ctx, addr)
	if err := pub.WriteMessage(ws.OpText, []byte(`42["hello"]`)); err != nil {
		t.Fatal(err)
	}
	await(pub, "publisher", `42["hi"]`)

	// 400 events of 60 KB (24 MB: more than the subscriber's socket
	// buffers hold, so its queue fills), then half of one more.
	h := ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: [4]byte{3, 1, 4, 1}}
	frame := ws.AppendFrame(nil, h, []byte(`42["pub","`+strings.Repeat("x", 60<<10)+`"]`))
	half := len(frame) / 2
	stream := make([]byte, 0, 401*len(frame))
	for range 400 {
		stream = append(stream, frame...)
	}
	stream = append(stream, frame[:half]...)
	nc := pub.NetConn()
	wrote := make(chan error, 1)
	go func() {
		nc.SetWriteDeadline(time.Now().Add(wait))
		_, err := nc.Write(stream)
		wrote <- err
	}()
	// The subscriber reads nothing for 1.5 s (the publisher's events wait
	// for room meanwhile), then everything.
	time.Sleep(1500 * time.Millisecond)
	got := 0
	sub.SetReadDeadline(time.Now().Add(wait))
	for got < 400 {
		_, m, err := sub.ReadMessage()
		if err != nil {
			t.Fatalf("the subscriber after %d of 400 events: %v (the publisher's session ended?)", got, err)
		}
		if strings.HasPrefix(string(m), `42["ev",`) {
			got++
		}
	}
	if err := <-wrote; err != nil {
		t.Fatalf("the publisher's stream: %v", err)
	}
	if st := srv.Stats(); st.SendWaits == 0 {
		t.Fatalf("no send waited for room (stats %+v): the test did not fill the queue", st)
	}
	if _, err := nc.Write(frame[half:]); err != nil {
		t.Fatal(err)
	}
	nc.SetWriteDeadline(time.Time{})
	if err := pub.WriteMessage(ws.OpText, []byte(`42["hello"]`)); err != nil {
		t.Fatal(err)
	}
	await(pub, "publisher", `42["hi"]`)
}
