package ws_test

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

// wait bounds every wait of these tests: what they wait for takes a few
// hundred milliseconds when it works.
const wait = 5 * time.Second

// moveWait bounds the transfer of blockWrite's 32 MiB message: well under
// a second on loopback, but it took over 5 s once under CI with a
// conformance suite running beside it.
const moveWait = 30 * time.Second

// pair returns a client connection (Dial) and the server connection it
// is upgraded to (Upgrader.Upgrade on the raw socket), both closed when
// the test ends.
func pair(t *testing.T, u ws.Upgrader) (client, server *ws.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type result struct {
		c   *ws.Conn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		nc, err := l.Accept()
		if err != nil {
			accepted <- result{nil, err}
			return
		}
		c, err := u.Upgrade(nc, bufio.NewReader(nc))
		if err != nil {
			nc.Close()
		}
		accepted <- result{c, err}
	}()
	client, err = ws.Dial(ctxT(t), "ws://"+l.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.CloseNow() })
	r := testkit.Recv(t, wait, "the server's upgrade", accepted)
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { r.c.CloseNow() })
	return client, r.c
}

// readResult is what a Read on another goroutine returned, and when.
type readResult struct {
	err  error
	took time.Duration
}

// readWithin starts a ReadMessage on c with a read deadline d from now.
func readWithin(c *ws.Conn, d time.Duration) <-chan readResult {
	done := make(chan readResult, 1)
	c.SetReadDeadline(time.Now().Add(d))
	go func() {
		start := time.Now()
		_, _, err := c.ReadMessage()
		done <- readResult{err, time.Since(start)}
	}()
	return done
}

// blockWrite starts a write on c of a message far larger than the
// socket buffers of a loopback connection, without a write deadline, and
// returns once the writer holds c's write lock (its frame header went to
// the observer); the write's error comes on the channel. The observer
// also counts the pings c receives.
func blockWrite(t *testing.T, c *ws.Conn, pings *atomic.Int32) <-chan error {
	t.Helper()
	started := make(chan struct{})
	var once sync.Once
	c.SetFrameObserver(func(sent bool, h ws.Header, _ []byte) {
		switch {
		case sent && h.OpCode == ws.OpBinary:
			once.Do(func() { close(started) })
		case !sent && h.OpCode == ws.OpPing:
			pings.Add(1)
		}
	})
	werr := make(chan error, 1)
	go func() { werr <- c.WriteMessage(ws.OpBinary, make([]byte, 32<<20)) }()
	testkit.Recv(t, wait, "the big write to start", started)
	return werr
}

// isTimeoutOrClose reports whether err is what a Read whose deadline
// passed (or whose connection ended) returns.
func isTimeoutOrClose(err error) bool {
	var ce *ws.CloseError
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ce)
}

// TestReadNotHeldByABlockedWrite: the peer pings and never reads; the
// client's Write, without a write deadline, is blocked for ever. The
// client's Read still ends at its read deadline (the reader does not wait
// for the write lock to answer the ping), and closing the connection ends
// the Write.
func TestReadNotHeldByABlockedWrite(t *testing.T) {
	t.Parallel()
	client, server := pair(t, ws.Upgrader{})
	var pings atomic.Int32
	werr := blockWrite(t, client, &pings)
	if err := server.Ping([]byte("are you there")); err != nil {
		t.Fatal(err)
	}
	r := testkit.Recv(t, wait, "the client's Read (read deadline 300 ms) to return while its Write is blocked", readWithin(client, 300*time.Millisecond))
	t.Logf("Read returned after %v: %v", r.took, r.err)
	if !isTimeoutOrClose(r.err) {
		t.Fatalf("Read: %v, want an i/o timeout or a close", r.err)
	}
	if pings.Load() != 1 {
		t.Fatalf("the reader saw %d pings before its deadline, want 1", pings.Load())
	}
	client.CloseNow()
	if err := testkit.Recv(t, wait, "the blocked Write to end once the connection is closed", werr); err == nil {
		t.Fatal("the blocked Write succeeded after CloseNow")
	}
}

// TestPongOwedIsSentAfterTheWrite: pings come while the client's Write
// holds the connection; the Read ends at its deadline without answering
// them, and the pong for the last ping goes out as soon as the Write is
// done (RFC 6455 5.5.3: only the most recent ping need be answered).
func TestPongOwedIsSentAfterTheWrite(t *testing.T) {
	t.Parallel()
	client, server := pair(t, ws.Upgrader{MaxMessageSize: 64 << 20})
	var pings atomic.Int32
	werr := blockWrite(t, client, &pings)
	for _, p := range []string{"first", "second", "last"} {
		if err := server.Ping([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	r := testkit.Recv(t, wait, "the client's Read (read deadline 300 ms) to return while its Write is blocked", readWithin(client, 300*time.Millisecond))
	t.Logf("Read returned after %v: %v", r.took, r.err)
	if !isTimeoutOrClose(r.err) {
		t.Fatalf("Read: %v, want an i/o timeout", r.err)
	}
	if pings.Load() != 3 {
		t.Fatalf("the reader saw %d pings before its deadline, want 3", pings.Load())
	}
	// The server reads the big message, then the pong.
	pongs := make(chan string, 4)
	server.SetPongHandler(func(p []byte) { pongs <- string(p) })
	server.SetReadDeadline(time.Now().Add(moveWait))
	read := make(chan error, 2)
	go func() {
		for {
			_, _, err := server.ReadMessage()
			read <- err
			if err != nil {
				return
			}
		}
	}()
	if err := testkit.Recv(t, moveWait, "the server to read the big message", read); err != nil {
		t.Fatal(err)
	}
	if err := testkit.Recv(t, moveWait, "the client's Write to end", werr); err != nil {
		t.Fatal(err)
	}
	if p := testkit.Recv(t, wait, "the pong owed to the server", pongs); p != "last" {
		t.Fatalf("first pong after the write: %q, want the last ping's payload %q", p, "last")
	}
	server.CloseNow()
	testkit.Recv(t, wait, "the server's Read to end", read)
}

// TestPingFloodDoesNotHoldRead: the peer floods pings and never reads, so
// that the client's pongs fill the socket's buffers; no write holds the
// connection, but the reader's pong write blocks. The Read still ends by
// its read deadline: the reader bounds its pong by it.
func TestPingFloodDoesNotHoldRead(t *testing.T) {
	t.Parallel()
	client, server := pair(t, ws.Upgrader{})
	// Small buffers, so that the pongs fill them in a few hundred.
	client.NetConn().(*net.TCPConn).SetWriteBuffer(4 << 10)
	server.NetConn().(*net.TCPConn).SetReadBuffer(4 << 10)
	payload := bytes.Repeat([]byte("p"), ws.MaxControlPayload)
	var flood []byte
	for range 64 {
		flood = ws.AppendFrame(flood, ws.Header{Fin: true, OpCode: ws.OpPing, Length: int64(len(payload))}, payload)
	}
	flooding := make(chan struct{})
	go func() {
		defer close(flooding)
		for {
			if _, err := server.NetConn().Write(flood); err != nil {
				return
			}
		}
	}()
	r := testkit.Recv(t, wait, "the client's Read (read deadline 300 ms) to return while its pongs are not read", readWithin(client, 300*time.Millisecond))
	t.Logf("Read returned after %v: %v", r.took, r.err)
	if !isTimeoutOrClose(r.err) {
		t.Fatalf("Read: %v, want an i/o timeout or a close", r.err)
	}
	client.CloseNow()
	server.CloseNow()
	testkit.Recv(t, wait, "the flood to end once the connection is closed", flooding)
}
