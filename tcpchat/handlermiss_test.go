package tcpchat_test

import (
	"fmt"
	"slices"
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

// Event.SenderRooms gives what Socket.Rooms gives, event after event, in
// the reader's buffer.
func TestEventSenderRooms(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{})
	ns := srv.Of("/")
	got := make(chan string, 10)
	ns.OnConnection(func(s *tcpchat.Socket) {
		if err := s.Join("a", "b"); err != nil {
			t.Error(err)
		}
	})
	ns.OnAny(func(e *tcpchat.Event) {
		rooms := e.SenderRooms()
		want := e.Socket.Rooms()
		slices.Sort(rooms)
		slices.Sort(want)
		if !slices.Equal(rooms, want) {
			got <- fmt.Sprintf("SenderRooms %q, Rooms %q", rooms, want)
			return
		}
		got <- "ok"
		if e.Name == "leave" {
			e.Socket.Leave("a")
		}
	})
	addr := chattest.NewServer(t, srv)
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
	sock := chattest.Connect(t, c, "/", nil, nil)
	for _, ev := range []string{"one", "leave", "two"} {
		if err := sock.Emit(ev); err != nil {
			t.Fatal(err)
		}
		if r := chattest.Recv(t, "the handler's comparison", got); r != "ok" {
			t.Fatalf("event %s: %s", ev, r)
		}
	}
}
