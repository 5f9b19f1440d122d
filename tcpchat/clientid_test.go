package tcpchat_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/boltstore"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// The Go client keeps the resume token of its client id: Dial without it
// is refused with ErrClientIDTaken, Dial with it gets the same token back.
func TestClientResumeToken(t *testing.T) {
	t.Parallel()
	_, _, addr := durableServer(t)
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{ClientID: "kim"})
	tok := c.ResumeToken()
	if len(tok) != 32 {
		t.Fatalf("ResumeToken() = %q, want 32 hex digits from the welcome", tok)
	}
	_, err := tcpchat.Dial(ctxT(t), addr, tcpchat.ClientOptions{ClientID: "kim", NoReconnect: true})
	var se *tcpchat.ServerError
	if !errors.Is(err, tcpchat.ErrClientIDTaken) || !errors.As(err, &se) {
		t.Fatalf("Dial without the token: %v, want ErrClientIDTaken", err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "\nwiredojo_chat_refused_client_id_total 1\n") {
		t.Fatalf("metrics without refused_client_id_total 1:\n%s", b)
	}
	c2 := chattest.Dial(t, addr, tcpchat.ClientOptions{ClientID: "kim", ResumeToken: tok})
	if c2.ResumeToken() != tok {
		t.Fatalf("second connection's token %q, want %q", c2.ResumeToken(), tok)
	}
}

// A client whose reconnection is refused for its client id ends with
// ErrClientIDTaken instead of trying again: its id now belongs to another
// client (here: the second server's store has it with another token).
func TestClientEndsWhenItsIDIsTaken(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	newSrv := func(st store.Store) *tcpchat.Server {
		t.Cleanup(func() { st.Close() })
		return tcpchat.NewServer(tcpchat.Options{Store: st, NewNamespace: builtin.Install})
	}
	a := newSrv(store.NewMemory(store.Options{}))
	stB := store.NewMemory(store.Options{})
	if _, err := stB.Claim(ctx, "F", "another-clients-token"); err != nil {
		t.Fatal(err)
	}
	addrB := chattest.NewServer(t, newSrv(stB))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(l) }()
	c := chattest.Dial(t, l.Addr().String(), tcpchat.ClientOptions{ClientID: "F", Addrs: []string{addrB},
		BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	a.Close()
	chattest.Recv(t, "server A's Serve to return", done)
	chattest.Recv(t, "the client to end", c.Done())
	if err := c.Err(); !errors.Is(err, tcpchat.ErrClientIDTaken) {
		t.Fatalf("the client ended with %v, want ErrClientIDTaken", err)
	}
}

// At the store's MaxClients a handshake naming a new client id is refused
// (code 10, saying why and what to do), one naming a known id with its
// token still connects, and so does one with no client id.
func TestNewClientIDsAreBounded(t *testing.T) {
	t.Parallel()
	boltPath := filepath.Join(t.TempDir(), "q.db")
	for _, kind := range []string{"memory", "bolt"} {
		t.Run(kind, func(t *testing.T) {
			limits := store.Limits{MaxClients: 2}
			var st store.Store = store.NewMemory(store.Options{Limits: limits})
			if kind == "bolt" {
				var err error
				if st, err = boltstore.Open(boltPath, store.Options{Limits: limits}); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() { st.Close() })
			srv := tcpchat.NewServer(tcpchat.Options{Store: st, NewNamespace: builtin.Install})
			addr := chattest.NewServer(t, srv)
			a := chattest.Dial(t, addr, tcpchat.ClientOptions{ClientID: "a"})
			chattest.Dial(t, addr, tcpchat.ClientOptions{ClientID: "b"})
			_, err := tcpchat.Dial(ctxT(t), addr, tcpchat.ClientOptions{ClientID: "c", NoReconnect: true})
			var se *tcpchat.ServerError
			if !errors.As(err, &se) || se.Code != wire.CodeTooManyConnections || !strings.Contains(se.Reason, `client id "c": the server keeps at most 2 client ids, and this one is new`) {
				t.Fatalf("Dial with a third client id at MaxClients 2: %v, want code %d saying the server keeps at most 2", err, wire.CodeTooManyConnections)
			}
			// The store's own context (bolt's file path) stays on the server.
			if strings.Contains(se.Reason, boltPath) || strings.Contains(se.Reason, "store:") {
				t.Errorf("the refusal tells the client the store's error: %q", se.Reason)
			}
			chattest.Dial(t, addr, tcpchat.ClientOptions{ClientID: "a", ResumeToken: a.ResumeToken()})
			chattest.Dial(t, addr, tcpchat.ClientOptions{})
			qs, err := st.Queues(ctxT(t))
			if err != nil || len(qs) != 2 {
				t.Fatalf("queues %+v, %v: want a and b only", qs, err)
			}
		})
	}
}
