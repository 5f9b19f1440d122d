package tcpchat_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
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
