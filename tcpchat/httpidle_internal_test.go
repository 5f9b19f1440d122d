package tcpchat

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// idleTestWait bounds each wait of TestIdleKeepAliveIsNotAHandshakeTimeout.
const idleTestWait = 10 * time.Second

// keepAliveRequest sends one GET /healthz on c and reads its answer, which
// must keep the socket open; it returns c's reader.
func keepAliveRequest(t *testing.T, c net.Conn) *bufio.Reader {
	t.Helper()
	c.SetDeadline(time.Now().Add(idleTestWait))
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the first request: %v", err)
	}
	if b, err := io.ReadAll(resp.Body); err != nil || resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("the first request: %s %q, %v (closing: %v); want 200, kept alive", resp.Status, b, err, resp.Close)
	}
	return br
}

// A keep-alive HTTP socket idle after its answer past the idle bound
// (lowered to 200 ms) is closed and not counted as a handshake timeout
// (wiredojo_chat_handshake_timeouts_total); one whose second request's
// header starts and never ends is closed at the handshake timeout and
// counted. An internal test: a close is counted on net/http's goroutine
// of the socket after the client sees it (httpConnState), so the test
// waits for that call, which it observes by wrapping the hook.
func TestIdleKeepAliveIsNotAHandshakeTimeout(t *testing.T) {
	t.Parallel()
	const idle, handshake = 200 * time.Millisecond, 400 * time.Millisecond
	s := NewServer(Options{HandshakeTimeout: handshake})
	s.httpIdle = idle
	s.mu.Lock()
	s.startLocked()
	s.mu.Unlock()
	// Set before Serve: every socket the HTTP server serves comes after.
	closed := make(chan string, 4)
	hook := s.httpS.ConnState
	s.httpS.ConnState = func(c net.Conn, st http.ConnState) {
		hook(c, st)
		if st == http.StateClosed {
			select { // never blocks net/http: the test has two sockets
			case closed <- c.RemoteAddr().String():
			default:
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	// serverClosed waits for the server to close c, having answered
	// nothing more, and for its ConnState call.
	serverClosed := func(c net.Conn, br *bufio.Reader, start time.Time, what string) time.Duration {
		t.Helper()
		b, err := io.ReadAll(br)
		took := time.Since(start)
		if err != nil || len(b) != 0 {
			t.Fatalf("%s was answered %q, %v after %v; want the socket closed", what, b, err, took)
		}
		for {
			select {
			case a := <-closed:
				if a == c.LocalAddr().String() {
					return took
				}
			case <-time.After(idleTestWait):
				t.Fatalf("%s: closed, but the HTTP server did not report it closed within %v", what, idleTestWait)
			}
		}
	}

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := keepAliveRequest(t, c)
	if took := serverClosed(c, br, time.Now(), "an idle keep-alive socket"); took < idle/2 {
		t.Fatalf("an idle keep-alive socket was closed after %v; want the idle bound, %v", took, idle)
	}
	if n := s.metrics.hsTimeouts.Load(); n != 0 {
		t.Fatalf("after an idle keep-alive socket was closed: %d handshake timeouts counted, want 0", n)
	}

	c, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br = keepAliveRequest(t, c)
	start := time.Now()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"); err != nil {
		t.Fatal(err)
	}
	if took := serverClosed(c, br, start, "a second request whose header never ends"); took < handshake/2 {
		t.Fatalf("a second request whose header never ends was closed after %v; want the handshake timeout, %v", took, handshake)
	}
	if n := s.metrics.hsTimeouts.Load(); n != 1 {
		t.Fatalf("after a second request whose header never ends was closed: %d handshake timeouts counted, want 1", n)
	}
}
