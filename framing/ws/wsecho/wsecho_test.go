package wsecho_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/framing/ws/wsecho"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServerEchoesAndCloses(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &wsecho.Server{}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ws.Dial(ctx, "ws://"+l.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(ws.OpText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if op, m, err := c.ReadMessage(); err != nil || op != ws.OpText || string(m) != "hi" {
		t.Fatalf("%s %q %v", op, m, err)
	}
	// Close the server with a connection open: Serve returns
	// ErrServerClosed and the connection ends.
	s.Close()
	if err := testkit.Recv(t, 30*time.Second, "Serve to return", done); err != wsecho.ErrServerClosed {
		t.Fatalf("Serve returned %v", err)
	}
	if _, _, err := c.ReadMessage(); err == nil {
		t.Fatal("connection still open after Close")
	}
	if err := s.Serve(l); err != wsecho.ErrServerClosed {
		t.Fatalf("Serve after Close: %v", err)
	}
}

// TestAutobahnClient runs the driver against a small stand-in for the
// fuzzingserver's protocol.
func TestAutobahnClient(t *testing.T) {
	var mu sync.Mutex
	var ran []string
	reported := false
	u := &ws.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := u.UpgradeHTTP(w, r)
		if err != nil {
			return
		}
		defer c.CloseNow()
		switch r.URL.Path {
		case "/getCaseCount":
			c.WriteMessage(ws.OpText, []byte("3"))
			c.Close(ws.StatusNormalClosure, "")
		case "/runCase":
			msg := "case " + r.URL.Query().Get("case") + " for " + r.URL.Query().Get("agent")
			c.WriteMessage(ws.OpText, []byte(msg))
			_, got, err := c.ReadMessage()
			mu.Lock()
			if err == nil && string(got) == msg {
				ran = append(ran, msg)
			}
			mu.Unlock()
			c.Close(ws.StatusNormalClosure, "")
		case "/updateReports":
			mu.Lock()
			reported = r.URL.Query().Get("agent") == "test agent"
			mu.Unlock()
			c.ReadMessage()
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var progress strings.Builder
	if err := wsecho.AutobahnClient(ctx, "ws://"+srv.Listener.Addr().String(), "test agent", nil, &progress); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ran) != 3 || ran[2] != "case 3 for test agent" || !reported {
		t.Fatalf("cases %q, reported %v, progress:\n%s", ran, reported, progress.String())
	}
}
