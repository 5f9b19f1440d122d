package hostile_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// closedSilently waits for the server to close c (within chattest.Timeout)
// and fails if it answered anything first; what names the socket.
func closedSilently(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(chattest.Timeout))
	if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
		t.Fatalf("%s was answered %q, %v; want the socket closed", what, b, err)
	}
}

// send writes s to c or fails the test.
func send(t *testing.T, c net.Conn, s string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(chattest.Timeout))
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

// A slowloris before the handshake: sockets that send nothing, sockets
// that send the preamble and then nothing, and sockets that start an HTTP
// request and never end its header. Each is closed at the handshake
// timeout (after the preamble with an error packet, code 5), an
// observer's delivery goes on, and wiredojo_chat_handshake_timeouts_total
// counts every one.
func TestSlowlorisBeforeTheHandshake(t *testing.T) {
	t.Parallel()
	_, addr := hostile.ChatServer(t, tcpchat.Options{HandshakeTimeout: 300 * time.Millisecond})
	obs := hostile.NewObserver(t, addr, "/chat", "r") // from 127.0.0.1
	obs.Watch(t)
	const n = 5
	silent := make([]*hostile.Attacker, n)
	preambled := make([]*hostile.Attacker, n)
	headerless := make([]*hostile.Attacker, n)
	for i := range n {
		silent[i] = hostile.DialFrom(t, addr, "127.0.0.4", false)
		preambled[i] = hostile.DialFrom(t, addr, "127.0.0.4", true)
		headerless[i] = hostile.DialFrom(t, addr, "127.0.0.4", false)
		if _, err := io.WriteString(headerless[i].Conn, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if p := silent[i].ExpectClose(t); p.Type != 0 {
			t.Fatalf("a silent socket got %+v before the close, want nothing", p)
		}
		if reason := preambled[i].ExpectCut(t, wire.CodeHandshake); reason == "" {
			t.Fatal("a socket silent after the preamble was cut without a reason")
		}
		closedSilently(t, headerless[i].Conn, "a request whose header never ends")
	}
	obs.Check(t)
	hostile.WaitMetric(t, addr, "wiredojo_chat_handshake_timeouts_total", 3*n)
}

// A slowloris past the first bytes, in handshakes the sniff hands on: a
// TLS ClientHello that never ends, a WebSocket upgrade request (GET /ws,
// upgraded on the raw socket) whose header never ends, and a keep-alive
// HTTP socket whose second request's header never ends. Each is closed
// at the handshake timeout without an answer (the keep-alive socket
// after its first answer) and counted in
// wiredojo_chat_handshake_timeouts_total.
func TestSlowlorisPastTheFirstBytes(t *testing.T) {
	t.Parallel()
	der, key := testkit.SelfSigned(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	_, addr := hostile.ChatServer(t, tcpchat.Options{HandshakeTimeout: 300 * time.Millisecond, TLSConfig: cfg, Plaintext: true})
	const n = 3
	var hellos, upgrades, keepAlives []net.Conn
	for range n {
		hello := hostile.DialFrom(t, addr, "127.0.0.5", false).Conn
		send(t, hello, "\x16\x03\x01\x02\x00\x01") // a handshake record of 512 bytes: its header and first byte
		hellos = append(hellos, hello)
		upgrade := hostile.DialFrom(t, addr, "127.0.0.5", false).Conn
		send(t, upgrade, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n")
		upgrades = append(upgrades, upgrade)
		keep := hostile.DialFrom(t, addr, "127.0.0.5", false).Conn
		send(t, keep, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		keep.SetReadDeadline(time.Now().Add(chattest.Timeout))
		resp, err := http.ReadResponse(bufio.NewReader(keep), nil)
		if err != nil {
			t.Fatalf("the keep-alive socket's first request: %v", err)
		}
		if b, err := io.ReadAll(resp.Body); err != nil || resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("the keep-alive socket's first request: %s %q, %v (closing: %v); want 200, kept alive", resp.Status, b, err, resp.Close)
		}
		send(t, keep, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
		keepAlives = append(keepAlives, keep)
	}
	for i := range n {
		closedSilently(t, hellos[i], "a ClientHello that never ends")
		closedSilently(t, upgrades[i], "a WebSocket upgrade whose header never ends")
		closedSilently(t, keepAlives[i], "a keep-alive socket's second request whose header never ends")
	}
	hostile.WaitMetric(t, addr, "wiredojo_chat_handshake_timeouts_total", 3*n)
}

// Handshakes that start late and then come a byte at a time: their first
// bytes at 0.7 of the handshake timeout, the rest one byte per tenth of
// it, never ending. Each socket is closed at the handshake timeout from
// the connect, not at a timeout of its own from the first bytes (1.7 of
// it): a WebSocket upgrade on the raw socket ("GET /ws ", all that sniff
// reads and peeks before handing the socket to the upgrader), another
// HTTP request (net/http's ReadHeaderTimeout starts at its first bytes;
// it answers 400) and a framed client whose handshake packet never comes
// after its preamble (answered with an error packet, code 5), or after
// its WebSocket upgrade (answered 101), or inside a TLS connection
// whose handshake came in time. Each is counted in
// wiredojo_chat_handshake_timeouts_total.
func TestSlowlorisLateHandshake(t *testing.T) {
	t.Parallel()
	const timeout = 500 * time.Millisecond
	for _, tc := range []struct {
		name, from, first, rest string
		answered                bool   // an error is the answer, then the close
		after                   string // the answer timed is what comes after this (the 101's head)
		tls                     bool   // a TLS handshake at 0.5 of the timeout, first at 0.9, inside it
	}{
		{"WebSocket upgrade", "127.0.0.6", "GET /ws ", "HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Slow: ", false, "", false},
		// net/http answers 400 to a request line cut short by the deadline.
		{"HTTP request", "127.0.0.8", "GET /h", "ealthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", true, "", false},
		{"framed handshake", "127.0.0.9", string(wire.Preamble), "", true, "", false},
		// Inside TLS, whose handshake came in time: the preamble at 0.9,
		// and no handshake packet (a fresh timeout inside TLS answered at 1.9).
		{"framed handshake over TLS", "127.0.0.11", string(wire.Preamble), "", true, "", true},
		// Upgraded (101), and then no handshake packet: timed is the error
		// the server sends then (the close waits for a closing handshake).
		{"WebSocket handshake", "127.0.0.10", "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", "", true, "\r\n\r\n", false},
		// The same request in absolute form: sniff reads "GET h", not
		// "GET /", so the socket goes through net/http and is upgraded
		// by the GET /ws handler, whose handshake packet must come by
		// the same deadline.
		{"WebSocket handshake through net/http", "127.0.0.12", "GET http://127.0.0.1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", "", true, "\r\n\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := tcpchat.Options{HandshakeTimeout: timeout}
			if tc.tls {
				der, key := testkit.SelfSigned(t)
				opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
				opts.Plaintext = true // the metrics are read in plain HTTP
			}
			_, addr := hostile.ChatServer(t, opts)
			c := hostile.DialFrom(t, addr, tc.from, false).Conn
			start := time.Now()
			// The client's pace, the test's input.
			if tc.tls {
				time.Sleep(timeout / 2)
				tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
				tc.SetDeadline(time.Now().Add(chattest.Timeout))
				if err := tc.Handshake(); err != nil {
					t.Fatalf("TLS handshake: %v", err)
				}
				c = tc
				time.Sleep(time.Until(start.Add(timeout * 9 / 10)))
			} else {
				time.Sleep(timeout * 7 / 10)
			}
			send(t, c, tc.first)
			stop, done := make(chan struct{}), make(chan struct{})
			go func() { // the rest, a byte at a time, never ending
				defer close(done)
				rest := tc.rest + strings.Repeat("x", 1000)
				if tc.rest == "" {
					return // a client that sends nothing more
				}
				for i := 0; i < len(rest); i++ {
					select {
					case <-stop:
						return
					case <-time.After(timeout / 10):
					}
					c.SetWriteDeadline(time.Now().Add(chattest.Timeout))
					if _, err := c.Write([]byte{rest[i]}); err != nil {
						return
					}
				}
			}()
			defer func() { close(stop); <-done }()
			// took is when the answer after tc.after came, or the close.
			c.SetReadDeadline(time.Now().Add(chattest.Timeout))
			var b []byte
			var took time.Duration
			buf := make([]byte, 4096)
			var err error
			for err == nil {
				var n int
				n, err = c.Read(buf)
				b = append(b, buf[:n]...)
				if i := strings.Index(string(b), tc.after); took == 0 && i >= 0 && len(b) > i+len(tc.after) {
					took = time.Since(start)
				}
			}
			if took == 0 {
				took = time.Since(start)
			}
			if err != io.EOF && !errors.Is(err, syscall.ECONNRESET) || len(b) != 0 && !tc.answered {
				t.Fatalf("the late %s was answered %q, %v after %v; want the socket closed", tc.name, b, err, took)
			}
			if took >= timeout*3/2 {
				t.Fatalf("the late %s was answered or closed %v after the connect; want about the handshake timeout, %v (under %v)", tc.name, took, timeout, timeout*3/2)
			}
			hostile.WaitMetric(t, addr, "wiredojo_chat_handshake_timeouts_total", 1)
		})
	}
}

// A keep-alive socket's second request cut short and pipelined: sent in
// the same write as the first, so that net/http has read all of it with
// the first and awaits the rest without a new read of the socket. It is
// closed at the handshake timeout after the first answer and counted in
// wiredojo_chat_handshake_timeouts_total, as one sent after the answer
// (TestSlowlorisPastTheFirstBytes).
func TestSlowlorisPipelinedRequest(t *testing.T) {
	t.Parallel()
	_, addr := hostile.ChatServer(t, tcpchat.Options{HandshakeTimeout: 300 * time.Millisecond})
	c := hostile.DialFrom(t, addr, "127.0.0.7", false).Conn
	send(t, c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
	c.SetReadDeadline(time.Now().Add(chattest.Timeout))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the first request: %v", err)
	}
	if b, err := io.ReadAll(resp.Body); err != nil || resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("the first request: %s %q, %v (closing: %v); want 200, kept alive", resp.Status, b, err, resp.Close)
	}
	if b, err := io.ReadAll(br); err != nil || len(b) != 0 {
		t.Fatalf("the pipelined request whose header never ends was answered %q, %v; want the socket closed", b, err)
	}
	hostile.WaitMetric(t, addr, "wiredojo_chat_handshake_timeouts_total", 1)
}

// A WebSocket upgrade as a keep-alive socket's second request, its first
// bytes at once after the first answer and the rest of its header at 0.7
// of the handshake timeout, and then no handshake packet: the server's
// error (code 5) comes at the handshake timeout from the request's first
// bytes, not at a timeout of its own from the upgrade (1.7 of it), and
// is counted in wiredojo_chat_handshake_timeouts_total.
func TestSlowlorisLateHandshakeKeepAlive(t *testing.T) {
	t.Parallel()
	const timeout = 500 * time.Millisecond
	_, addr := hostile.ChatServer(t, tcpchat.Options{HandshakeTimeout: timeout})
	c := hostile.DialFrom(t, addr, "127.0.0.13", false).Conn
	send(t, c, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(chattest.Timeout))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the first request: %v", err)
	}
	if b, err := io.ReadAll(resp.Body); err != nil || resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("the first request: %s %q, %v (closing: %v); want 200, kept alive", resp.Status, b, err, resp.Close)
	}
	start := time.Now()
	send(t, c, "GET /ws HTTP/1.1\r\n")
	time.Sleep(timeout * 7 / 10) // the client's pace, the test's input
	send(t, c, "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("the upgrade: %v, %v; want 101", resp, err)
	}
	// The first byte after the 101's head: the error packet, or the close.
	var one [1]byte
	_, err = io.ReadFull(br, one[:])
	took := time.Since(start)
	if err != nil {
		t.Fatalf("after the upgrade: %v after %v; want the error packet (code 5)", err, took)
	}
	if took >= timeout*3/2 {
		t.Fatalf("the upgraded socket without a handshake packet was answered %v after its request's first bytes; want about the handshake timeout, %v (under %v)", took, timeout, timeout*3/2)
	}
	hostile.WaitMetric(t, addr, "wiredojo_chat_handshake_timeouts_total", 1)
}
