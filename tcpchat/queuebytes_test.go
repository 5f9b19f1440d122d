package tcpchat_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
)

// A connection that does not read gets large broadcasts: far fewer than
// its packet bound (SendQueue), but more bytes than its byte bound. The
// bytes it holds queued stay within SendQueueBytes, the broadcasts wait
// for room (the sender is paced), and the reader is cut as a slow
// consumer, the log naming the byte bound. Without the byte bound the 200
// packets of 64 KiB (12.5 MiB) all fit in its queue of 1024 packets.
func TestSendQueueBytesBound(t *testing.T) {
	t.Parallel()
	const bound = 1 << 20
	reasons := make(chan error, 8)
	var mu sync.Mutex
	var logs []string
	srv := tcpchat.NewServer(tcpchat.Options{SendQueue: 1024, SendQueueBytes: bound,
		SlowConsumerWait: 300 * time.Millisecond, WriteTimeout: time.Minute,
		OnClose: func(ci tcpchat.CloseInfo) { reasons <- ci.Reason },
		Logf: func(f string, a ...any) {
			mu.Lock()
			logs = append(logs, fmt.Sprintf(f, a...))
			mu.Unlock()
		}})
	ns := srv.Of("/")
	addr := chattest.NewServer(t, srv)
	dialStuck(t, addr) // never reads after joining

	big := json.RawMessage(`["` + strings.Repeat("x", 64<<10) + `"]`)
	most := 0
	for i := 0; i < 200; i++ {
		ns.To().EmitRaw("big", big) // waits for room in the stuck queue, then cuts it
		most = max(most, tcpchat.MaxQueuedBytes(srv))
	}
	if most > bound || most == 0 {
		t.Errorf("the stuck connection held up to %d bytes queued, want some and at most %d", most, bound)
	}
	if err := chattest.Recv(t, "the close reason", reasons); !errors.Is(err, tcpchat.ErrSlowConsumer) {
		t.Fatalf("closed with %v, want ErrSlowConsumer", err)
	}
	if st := srv.Stats(); st.SlowConsumerCuts != 1 || st.SendWaits == 0 {
		t.Fatalf("stats %+v: want waits (the sender paced) and one cut", st)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, l := range logs {
		if strings.Contains(l, tcpchat.ErrSlowConsumer.Error()) {
			if !strings.Contains(l, fmt.Sprintf("of its %d bytes held", bound)) {
				t.Errorf("the cut's log line does not name the byte bound: %s", l)
			}
			return
		}
	}
	t.Errorf("no log line of the cut in %q", logs)
}

// An empty queue takes a packet larger than SendQueueBytes: a large
// packet is never refused for good.
func TestSendQueueBytesTakesOneLargePacket(t *testing.T) {
	t.Parallel()
	srv := tcpchat.NewServer(tcpchat.Options{SendQueueBytes: 1024})
	ns := srv.Of("/")
	addr := chattest.NewServer(t, srv)
	c := chattest.Dial(t, addr, tcpchat.ClientOptions{})
	got := make(chan int, 4)
	chattest.Connect(t, c, "/", nil, func(s *tcpchat.ClientSocket) {
		s.On("big", func(e *tcpchat.ClientEvent) { got <- len(e.Args) })
	})
	big := json.RawMessage(`["` + strings.Repeat("y", 256<<10) + `"]`)
	for i := 0; i < 3; i++ {
		if n, err := ns.To().EmitRaw("big", big); n != 1 || err != nil {
			t.Fatalf("emit %d: queued for %d (%v), want 1", i, n, err)
		}
		if n := chattest.Recv(t, "the large event", got); n == 0 {
			t.Fatalf("event %d came without its argument", i)
		}
	}
	if st := srv.Stats(); st.SlowConsumerCuts != 0 {
		t.Fatalf("stats %+v: want no cut", st)
	}
}
