package client_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/socketio"
	"github.com/wiredojo/wiredojo/socketio/client"
)

// hostileServer serves every connection to a listener on 127.0.0.1:0 with
// serve, which speaks just enough of the protocol to attack the client,
// and returns the listener's address. Cleanup closes the listener and the
// connections and waits for serve to return.
func hostileServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				serve(nc)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, nc := range conns {
			nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// dialErr dials url and returns how long Dial took and its error (a
// session that opens is closed and fails the test).
func dialErr(t *testing.T, url string) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	start := time.Now()
	c, err := client.Dial(ctx, url, client.Options{})
	if err == nil {
		c.Close()
		t.Fatalf("Dial %s: a session opened, want an error", url)
	}
	return time.Since(start), err
}

// TestOpenHeaderWithoutEnd: a server that answers the polling handshake
// with a header that never ends (one endless header line, as fast as the
// client reads) is refused once the header passes its bound (64 KiB), not
// read until the context ends; net/http's ReadResponse bounds no header.
func TestOpenHeaderWithoutEnd(t *testing.T) {
	var sent atomic.Int64
	addr := hostileServer(t, func(nc net.Conn) {
		http.ReadRequest(bufio.NewReader(nc))
		io.WriteString(nc, "HTTP/1.1 200 OK\r\nX-Endless: ")
		chunk := []byte(strings.Repeat("a", 32<<10))
		for {
			n, err := nc.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	took, err := dialErr(t, "socketio://"+addr)
	if !errors.Is(err, client.ErrProtocol) || !strings.Contains(err.Error(), "header longer than") {
		t.Fatalf("Dial after %v (the server sent %d bytes of header) = %v, want ErrProtocol: header longer than its bound", took, sent.Load(), err)
	}
}

// TestOpenPingTimingsOutOfRange: an open packet's pingInterval and
// pingTimeout are refused (ErrProtocol) when not positive or beyond 2^31-1
// ms. Before the upper bound, a pingInterval of 10^13 ms (or more) made
// pingInterval + pingTimeout in time.Duration overflow to a negative
// silence, and the first Read ended with ErrPingTimeout at once, the
// server not silent at all.
func TestOpenPingTimingsOutOfRange(t *testing.T) {
	for _, tc := range []struct{ interval, timeout string }{
		{"0", "20000"},
		{"25000", "-1"},
		{"10000000000000", "20000"},
		{"25000", "9223372036854775807"},
		{"2147483648", "20000"},
	} {
		open := `0{"sid":"s1","upgrades":[],"pingInterval":` + tc.interval + `,"pingTimeout":` + tc.timeout + `,"maxPayload":1000}`
		addr := hostileServer(t, func(nc net.Conn) {
			http.ReadRequest(bufio.NewReader(nc))
			io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(open))+"\r\n\r\n"+open)
		})
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		c, err := client.Dial(ctx, "socketio://"+addr+"?transport=polling", client.Options{})
		cancel()
		if err == nil {
			// What the session did with the timings, to say in the failure.
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			_, rerr := c.Read()
			c.Close()
			t.Errorf("open packet %s: Dial opened the session (its first Read: %v), want ErrProtocol", open, rerr)
			continue
		}
		if !errors.Is(err, client.ErrProtocol) {
			t.Errorf("open packet %s: Dial = %v, want ErrProtocol", open, err)
		}
	}
}

// TestPollPongNotAnswered: a polling server that pings (every GET answered
// with a ping) and never answers the POST that carries the pong cannot
// hold Read: the POST is bounded by the server's silence (pingInterval +
// pingTimeout, 100 ms here) and its failure ends the session with
// ErrPingTimeout. Before, Read waited for the POST without a bound, and
// the ping timeout with it.
func TestPollPongNotAnswered(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Query().Get("sid") == "":
			io.WriteString(w, `0{"sid":"s1","upgrades":[],"pingInterval":50,"pingTimeout":50,"maxPayload":1000}`)
		case r.Method == http.MethodPost:
			io.ReadAll(r.Body)   // then net/http sees the client close
			<-r.Context().Done() // held until the client gives up
		default:
			io.WriteString(w, "2")
		}
	}))
	t.Cleanup(hs.Close) // after the client's Close
	c := dial(t, "socketio://"+strings.TrimPrefix(hs.URL, "http://")+"?transport=polling")
	// Before the client's Close: a POST still held would hold Close too.
	t.Cleanup(hs.CloseClientConnections)
	_, errs := reads(c)
	wantPingTimeout(t, errs, "100 ms of pong POSTs held by the server")
}

// TestPollRedirectRefused: a polling server that redirects the session's
// GET (to itself: a loop) ends the session with ErrProtocol at the first
// redirect. Before, net/http followed 10 redirects, to any host, before it
// gave up.
func TestPollRedirectRefused(t *testing.T) {
	var gets atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sid") == "" {
			io.WriteString(w, `0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000}`)
			return
		}
		if r.Method == http.MethodGet {
			gets.Add(1)
		}
		http.Redirect(w, r, r.URL.String(), http.StatusFound)
	}))
	t.Cleanup(hs.Close)
	c := dial(t, "socketio://"+strings.TrimPrefix(hs.URL, "http://")+"?transport=polling")
	_, errs := reads(c)
	select {
	case err := <-errs:
		if !errors.Is(err, client.ErrProtocol) || gets.Load() != 1 {
			t.Fatalf("Read = %v after %d GETs, want ErrProtocol after 1", err, gets.Load())
		}
	case <-time.After(wait):
		t.Fatalf("Read still waits after %v and %d GETs, want ErrProtocol after 1", wait, gets.Load())
	}
}

// TestWebSocketPingsOutliveTheWriteDeadline: a WebSocket ping from the
// server (framing/ws answers it by itself) is answered after a Write whose
// deadline has passed. Before, the deadline stayed on the WebSocket, the
// pong failed, and the session with it.
func TestWebSocketPingsOutliveTheWriteDeadline(t *testing.T) {
	ping, pong := make(chan struct{}), make(chan struct{}, 1)
	addr := testkit.WSServer(t, func(c *ws.Conn) {
		testkit.SignalPongs(c, pong)
		c.WriteMessage(ws.OpText, []byte(`0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000}`))
		if _, _, err := c.ReadMessage(); err != nil { // the client's Write
			return
		}
		<-ping
		c.Ping([]byte("hi"))
		c.ReadMessage() // pongs go to the handler; until the client closes
	})
	sendPing := sync.OnceFunc(func() { close(ping) })
	t.Cleanup(sendPing) // before the server's close: the handler waits for it
	c := dial(t, "http://"+addr+"/socket.io/?transport=websocket")
	_, errs := reads(c)
	dl := time.Now().Add(50 * time.Millisecond)
	c.SetWriteDeadline(dl)
	if err := c.Write(client.Message{Packet: socketio.Packet{Type: socketio.Event, Data: []byte(`["n"]`)}}); err != nil {
		t.Fatal(err)
	}
	<-time.After(time.Until(dl)) // the write deadline has passed
	sendPing()
	select {
	case <-pong:
	case err := <-errs:
		t.Fatalf("Read ended before the server had its pong: %v", err)
	case <-time.After(wait):
		t.Fatalf("no pong to the server's WebSocket ping within %v", wait)
	}
}

// TestPongNotHeldByABlockedWrite: a WebSocket server that completes the
// handshake, then pings (every 20 ms; pingInterval and pingTimeout 50 ms)
// and never reads: the client's Writes, without a write deadline, block
// once the socket's buffers are full, and the pong Read owes the next ping
// waits for the write lock only within the read's bounds: Read ends the
// session with ErrPingTimeout, and the blocked Write fails with it. Before,
// the pong waited for the lock for ever, and Read with it.
func TestPongNotHeldByABlockedWrite(t *testing.T) {
	done := make(chan struct{})
	addr := testkit.WSServer(t, func(c *ws.Conn) {
		c.WriteMessage(ws.OpText, []byte(`0{"sid":"s1","upgrades":[],"pingInterval":50,"pingTimeout":50,"maxPayload":100000000}`))
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if c.WriteMessage(ws.OpText, []byte("2")) != nil {
					return
				}
			}
		}
	})
	c := dial(t, "http://"+addr+"/socket.io/?transport=websocket")
	t.Cleanup(func() { close(done) }) // before the client's Close
	_, errs := reads(c)
	big := client.Message{Packet: socketio.Packet{Type: socketio.Event, Data: []byte(`["n","` + strings.Repeat("a", 1<<20) + `"]`)}}
	wrote := make(chan error, 1)
	go func() {
		for {
			if err := c.Write(big); err != nil {
				wrote <- err
				return
			}
		}
	}()
	wantPingTimeout(t, errs, "pongs held behind a Write the server does not read")
	testkit.Recv(t, wait, "the blocked Write to fail once the session ended", wrote)
}
