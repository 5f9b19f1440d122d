package ws_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

func TestEchoRoundTrip(t *testing.T) {
	t.Parallel()
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			t.Parallel()
			url := startEcho(t, ws.Upgrader{Compression: compress, Protocols: []string{"chat", "echo"}})
			c, err := ws.Dial(ctxT(t), url, &ws.DialOptions{Compression: compress, Protocols: []string{"echo", "x"}})
			if err != nil {
				t.Fatal(err)
			}
			if c.Subprotocol() != "echo" || c.Compressed() != compress {
				t.Fatalf("protocol %q compressed %v", c.Subprotocol(), c.Compressed())
			}
			for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 100000, 1 << 20} {
				for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
					msg := []byte(strings.Repeat("héllo wörld ", n/13+1)[:n])
					if op == ws.OpText {
						msg = bytes.ToValidUTF8(msg, []byte("?"))
					}
					if err := c.WriteMessage(op, msg); err != nil {
						t.Fatal(err)
					}
					gop, got, err := c.ReadMessage()
					if err != nil {
						t.Fatal(err)
					}
					if gop != op || !bytes.Equal(got, msg) {
						t.Fatalf("%d bytes %s: got %s %d bytes", n, op, gop, len(got))
					}
				}
			}
			if err := c.Close(ws.StatusNormalClosure, "bye"); err != nil {
				t.Fatal(err)
			}
			_, _, err = c.ReadMessage()
			var ce *ws.CloseError
			if !errors.As(err, &ce) || ce.Code != ws.StatusNormalClosure {
				t.Fatalf("after close: %v", err)
			}
		})
	}
}

// TestPreparedMessage broadcasts one prepared message to plain and
// compressing clients, and checks a client connection falls back.
func TestPreparedMessage(t *testing.T) {
	t.Parallel()
	if _, err := ws.NewPreparedMessage(ws.OpPing, nil); err == nil {
		t.Fatal("prepared ping accepted")
	}
	msg := []byte(strings.Repeat("broadcast ", 50))
	pm, err := ws.NewPreparedMessage(ws.OpText, msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			t.Parallel()
			sent := make(chan error, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := (&ws.Upgrader{Compression: true}).UpgradeHTTP(w, r)
				if err != nil {
					sent <- err
					return
				}
				defer c.CloseNow()
				for i := 0; i < 3; i++ {
					if err := c.WritePrepared(pm); err != nil {
						sent <- err
						return
					}
				}
				sent <- nil
				c.ReadMessage() // until the client closes
			}))
			defer srv.Close()
			c, err := ws.Dial(ctxT(t), "ws://"+srv.Listener.Addr().String()+"/", &ws.DialOptions{Compression: compress})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			var rsv1 []bool
			var mu sync.Mutex
			c.SetFrameObserver(func(sentByUs bool, h ws.Header, _ []byte) {
				if !sentByUs && h.OpCode == ws.OpText {
					mu.Lock()
					rsv1 = append(rsv1, h.Rsv1)
					mu.Unlock()
				}
			})
			for i := 0; i < 3; i++ {
				op, got, err := c.ReadMessage()
				if err != nil || op != ws.OpText || !bytes.Equal(got, msg) {
					t.Fatalf("message %d: %s %d bytes %v", i, op, len(got), err)
				}
			}
			if err := testkit.Recv(t, 30*time.Second, "the sender's result", sent); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			if len(rsv1) != 3 || rsv1[0] != compress {
				t.Fatalf("RSV1 of the frames: %v, want compressed=%v", rsv1, compress)
			}
			mu.Unlock()
			// A client connection sends it masked, through WriteMessage.
			if err := c.WritePrepared(pm); err != nil {
				t.Fatal(err)
			}
			c.Close(ws.StatusNormalClosure, "")
		})
	}
}

// batchSizes are the message sizes of the WriteMessages tests: empty,
// around the length encodings, around the 16 KiB assembly buffer, and
// larger than it.
var batchSizes = []int{0, 1, 125, 126, 5000, 16370, 16371, 20000, 70000, 3, 300000, 64}

func batchMessages() [][]byte {
	msgs := make([][]byte, 0, len(batchSizes)+100)
	for i, n := range batchSizes {
		msgs = append(msgs, bytes.Repeat([]byte{byte('a' + i)}, n))
	}
	for i := range 100 { // many small ones after the large ones
		msgs = append(msgs, []byte(fmt.Sprintf("small message %d", i)))
	}
	return msgs
}

// TestWriteMessagesEcho: a client's batch (masked, sometimes compressed)
// reaches the echo server as separate messages, in order, unchanged.
func TestWriteMessagesEcho(t *testing.T) {
	t.Parallel()
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			t.Parallel()
			url := startEcho(t, ws.Upgrader{Compression: compress})
			c, err := ws.Dial(ctxT(t), url, &ws.DialOptions{Compression: compress})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			msgs := batchMessages()
			if err := c.WriteMessages(ws.OpText, msgs); err != nil {
				t.Fatal(err)
			}
			for i, want := range msgs {
				op, got, err := c.ReadMessage()
				if err != nil || op != ws.OpText || !bytes.Equal(got, want) {
					t.Fatalf("message %d: %s %d bytes (want %d) %v", i, op, len(got), len(want), err)
				}
			}
			if err := c.WriteMessages(ws.OpPing, msgs[:1]); err == nil {
				t.Fatal("WriteMessages took a ping")
			}
			c.Close(ws.StatusNormalClosure, "")
			if err := c.WriteMessages(ws.OpBinary, msgs[:1]); !errors.Is(err, ws.ErrClosed) {
				t.Fatalf("WriteMessages after Close: %v, want ErrClosed", err)
			}
		})
	}
}

// writeCounter counts the writes that reach a connection (net.Buffers
// falls back to one Write per buffer on it, so a writev counts per piece).
type writeCounter struct {
	net.Conn
	writes atomic.Int64
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes.Add(1)
	return w.Conn.Write(p)
}

// TestWriteMessagesServer: a server's batch (unmasked: large payloads go
// out without a copy) arrives whole, and a batch of small messages costs
// one write, not one per message, up to 256 KiB of them (not one per 16
// KiB, and a writev for each message that crosses a 16 KiB buffer's end).
func TestWriteMessagesServer(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	msgs := batchMessages()
	var many [][]byte // 1,000 messages of 150 bytes: 154,000 bytes of frames
	for i := range 1000 {
		many = append(many, fmt.Appendf(nil, "%0150d", i))
	}
	type result struct {
		smallWrites, manyWrites int64
		err                     error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := l.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		wc := &writeCounter{Conn: nc}
		c, err := (&ws.Upgrader{}).Upgrade(wc, nil)
		if err != nil {
			nc.Close()
			done <- result{err: err}
			return
		}
		defer c.CloseNow()
		before := wc.writes.Load()
		if err := c.WriteMessages(ws.OpBinary, msgs[len(batchSizes):]); err != nil {
			done <- result{err: err}
			return
		}
		small := wc.writes.Load() - before
		before = wc.writes.Load()
		if err := c.WriteMessages(ws.OpBinary, many); err != nil {
			done <- result{err: err}
			return
		}
		manyWrites := wc.writes.Load() - before
		err = c.WriteMessages(ws.OpBinary, msgs)
		done <- result{small, manyWrites, err}
		c.ReadMessage() // until the client closes
	}()
	c, err := ws.Dial(ctxT(t), "ws://"+l.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for i, want := range slices.Concat(msgs[len(batchSizes):], many, msgs) {
		op, got, err := c.ReadMessage()
		if err != nil || op != ws.OpBinary || !bytes.Equal(got, want) {
			t.Fatalf("message %d: %s %d bytes (want %d) %v", i, op, len(got), len(want), err)
		}
	}
	r := testkit.Recv(t, 10*time.Second, "the writer to finish", done)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.smallWrites != 1 {
		t.Errorf("a batch of %d small messages took %d writes, want 1", len(msgs)-len(batchSizes), r.smallWrites)
	}
	if r.manyWrites != 1 {
		t.Errorf("a batch of %d messages of 150 bytes took %d writes, want 1", len(many), r.manyWrites)
	}
	c.Close(ws.StatusNormalClosure, "")
}

// TestReadIdleNotFinal checks that a read whose deadline passes before a
// message begins (here after a ping, which is handled on the way) leaves
// the connection usable, and says so with ErrReadIdle.
func TestReadIdleNotFinal(t *testing.T) {
	t.Parallel()
	send := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&ws.Upgrader{}).UpgradeHTTP(w, r)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.WriteFrame(true, ws.OpPing, []byte("p"))
		select {
		case <-send:
		case <-r.Context().Done():
			return
		}
		c.WriteMessage(ws.OpText, []byte("hello"))
		c.ReadMessage() // until the client closes
	}))
	defer srv.Close()
	c, err := ws.Dial(ctxT(t), "ws://"+srv.Listener.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for range 2 {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, msg, err := c.ReadMessage(); !errors.Is(err, ws.ErrReadIdle) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read before any message: %q %v, want ErrReadIdle", msg, err)
		}
	}
	close(send)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if op, msg, err := c.ReadMessage(); err != nil || op != ws.OpText || string(msg) != "hello" {
		t.Fatalf("read after the idle deadline: %s %q %v", op, msg, err)
	}
}

// writeEntered signals on entered (without waiting) each time a Write
// reaches the connection once armed is set.
type writeEntered struct {
	net.Conn
	armed   atomic.Bool
	entered chan struct{}
}

func (w *writeEntered) Write(p []byte) (int, error) {
	if w.armed.Load() {
		select {
		case w.entered <- struct{}{}:
		default:
		}
	}
	return w.Conn.Write(p)
}

// TestCloseNowEndsABlockedWrite: CloseNow, while a write to a peer that
// does not read is blocked (a 64 MiB message, beyond any socket buffers),
// returns at once and the write fails. Before, CloseNow waited for the
// write lock the blocked write held: for ever.
func TestCloseNowEndsABlockedWrite(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type server struct {
		c  *ws.Conn
		nc net.Conn
		we *writeEntered
	}
	accepted := make(chan server, 1)
	go func() {
		nc, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		we := &writeEntered{Conn: nc, entered: make(chan struct{}, 1)}
		c, err := (&ws.Upgrader{}).Upgrade(we, nil)
		if err != nil {
			nc.Close()
			close(accepted)
			return
		}
		accepted <- server{c, nc, we}
	}()
	cc, err := ws.Dial(ctxT(t), "ws://"+l.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.CloseNow() // the client never reads
	s := testkit.Recv(t, 10*time.Second, "the server's upgrade", accepted)
	if s.c == nil {
		t.Fatal("the upgrade failed")
	}
	defer s.nc.Close() // if CloseNow is held: lets the write, then CloseNow, return
	s.we.armed.Store(true)
	wrote := make(chan error, 1)
	go func() { wrote <- s.c.WriteMessage(ws.OpBinary, make([]byte, 64<<20)) }()
	testkit.Recv(t, 10*time.Second, "the 64 MiB write to reach the connection", s.we.entered)
	closed := make(chan struct{})
	go func() { s.c.CloseNow(); close(closed) }()
	testkit.Recv(t, 10*time.Second, "CloseNow while a write to a peer that does not read is blocked", closed)
	if err := testkit.Recv(t, 10*time.Second, "the blocked write to fail", wrote); err == nil {
		t.Fatal("the 64 MiB write to a peer that does not read succeeded")
	}
}
