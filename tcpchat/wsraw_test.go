package tcpchat_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
)

// TestWebSocketUpgradeRequests: upgrade requests for /ws, sent in one
// write as clients do (the server then upgrades them on the connection
// itself, without net/http), get the answers of the HTTP handler's policy:
// 101 for a plain request or one with a query, 403 for a same-origin page
// under a name the server does not know (DNS rebinding) and for a foreign
// origin; other paths still reach net/http.
func TestWebSocketUpgradeRequests(t *testing.T) {
	t.Parallel()
	addr := chatServer(t, tcpchat.Options{})
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	for _, tc := range []struct {
		name, target, host, origin string
		status                     int
		body                       string // in the refusal
	}{
		{"plain", "/ws", addr, "", http.StatusSwitchingProtocols, ""},
		{"query", "/ws?v=1", addr, "", http.StatusSwitchingProtocols, ""},
		{"same origin", "/ws", addr, "http://" + addr, http.StatusSwitchingProtocols, ""},
		{"rebinding", "/ws", "evil.example", "http://evil.example", http.StatusForbidden, "DNS rebinding"},
		{"foreign origin", "/ws", addr, "http://evil.example", http.StatusForbidden, "not allowed"},
		{"other path", "/wsx", addr, "", http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(chattest.Timeout))
			req := "GET " + tc.target + " HTTP/1.1\r\nHost: " + tc.host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n"
			if tc.origin != "" {
				req += "Origin: " + tc.origin + "\r\n"
			}
			if _, err := nc.Write([]byte(req + "\r\n")); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.body != "" {
				b := make([]byte, 512)
				n, _ := resp.Body.Read(b)
				if !strings.Contains(string(b[:n]), tc.body) {
					t.Errorf("refusal %q, want it to say %q", b[:n], tc.body)
				}
			}
		})
	}
}
