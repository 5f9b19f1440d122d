package tcpchat_test

import (
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
)

// A reader notes an event name that had no handler so that the next
// event of that name skips the lookup; a handler registered for that name
// afterwards must still run for the events that follow.
func TestHandlerAddedAfterUnhandledEvents(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{})
	ns := srv.Of("/")
	anys := make(chan string, 10)
	named := make(chan string, 10)
	ns.OnAny(func(e *tcpchat.Event) {
		anys <- e.Name
		if e.Name == "late" {
			// From the catch-all, so that the next "late" is read after
			// the handler is there.
			ns.On("late", func(e *tcpchat.Event) { named <- e.Name })
		}
	})
	addr := chattest.NewServer(t, srv)
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
	sock := chattest.Connect(t, c, "/", nil, nil)
	for range 2 {
		if err := sock.Emit("late"); err != nil {
			t.Fatal(err)
		}
		if got := chattest.Recv(t, "the catch-all's event", anys); got != "late" {
			t.Fatalf("catch-all got %q", got)
		}
	}
	if got := chattest.Recv(t, "the named handler's event, registered after the first", named); got != "late" {
		t.Fatalf("named handler got %q", got)
	}
}
