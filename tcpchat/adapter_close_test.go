package tcpchat_test

import (
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
)

// notifyOnClose is an adapter whose Close waits for a room event to be
// reported, as a multi-node adapter waits for its subscription's handler,
// which may be reporting one from another node.
type notifyOnClose struct {
	*tcpchat.MemoryAdapter
	host tcpchat.AdapterHost
}

func (a *notifyOnClose) Close() error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.host.RoomEvent(tcpchat.RoomEvent{Kind: tcpchat.RoomLeft, Namespace: "/", Room: "r", SocketID: "elsewhere"})
	}()
	<-done
	return a.MemoryAdapter.Close()
}

// Closing the server does not deadlock with a room event that an adapter
// reports while it closes.
func TestCloseWhileAdapterReportsRoomEvent(t *testing.T) {
	t.Parallel()
	events := make(chan tcpchat.RoomEvent, 4)
	srv := tcpchat.NewServer(tcpchat.Options{
		Adapter: func(h tcpchat.AdapterHost) tcpchat.Adapter {
			return &notifyOnClose{MemoryAdapter: tcpchat.NewMemoryAdapter(h), host: h}
		},
		OnRoomEvent: func(e tcpchat.RoomEvent) { events <- e },
	})
	srv.Of("/")
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(chattest.Timeout):
		t.Fatal("Close deadlocked with the adapter's room event")
	}
	if e := chattest.Recv(t, "the room event", events); e.SocketID != "elsewhere" {
		t.Fatalf("room event %+v", e)
	}
}
