package store_test

import (
	"context"
	"fmt"
	"testing"

	"go.uber.org/goleak"

	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		ByteBounds: true,
		Open: func(t *testing.T, opts store.Options) store.Store {
			s := store.NewMemory(opts)
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
	})
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// In steady state a delivery cycle on the memory store allocates once: the
// store's own copy of the payload.
func TestMemoryCycleAllocs(t *testing.T) {
	s := store.NewMemory(store.Options{})
	defer s.Close()
	ctx := context.Background()
	m := store.Message{Namespace: "/chat", Event: "e", Payload: make([]byte, 64)}
	to := []string{"alice"}
	offs := make([]uint64, 0, 1)
	msgs := make([]store.Message, 0, 1)
	ids := make([]store.ID, 1)
	cycle := func() {
		id, o, err := s.Append(ctx, m, to, offs[:0])
		if err != nil {
			t.Fatal(err)
		}
		if msgs, err = s.Pending(ctx, "alice", o[0]-1, 1, msgs[:0]); err != nil || len(msgs) != 1 {
			t.Fatal(len(msgs), err)
		}
		ids[0] = id
		if n, err := s.AckBatch(ctx, "alice", ids); err != nil || n != 1 {
			t.Fatal(n, err)
		}
	}
	for range 100 { // warm up: queue slice and index map reach their size
		cycle()
	}
	if n := testing.AllocsPerRun(1000, cycle); n > 1 {
		t.Fatalf("a delivery cycle allocates %v times, want at most 1 (the payload copy)", n)
	}
}

func Example() {
	ctx := context.Background()
	st := store.NewMemory(store.Options{})
	defer st.Close()
	// a durable emit to a room's two members: one call
	id, offs, _ := st.Append(ctx, store.Message{Namespace: "/chat", Event: "news", Payload: []byte(`["hi"]`)}, []string{"alice", "bob"}, nil)
	fmt.Println("offsets:", offs)
	// alice connects and fetches what she missed (getAll), then acknowledges
	msgs, _ := st.Pending(ctx, "alice", 0, 0, nil)
	fmt.Println("pending:", len(msgs), string(msgs[0].Payload))
	fmt.Println(st.AckBatch(ctx, "alice", []store.ID{id}))
	fmt.Println(st.AckBatch(ctx, "alice", []store.ID{id})) // already acknowledged
	fmt.Println(store.AckOne(ctx, st, "alice", id))
	// Output:
	// offsets: [1 1]
	// pending: 1 ["hi"]
	// 1 <nil>
	// 0 <nil>
	// store: message is not pending for this client (unknown id or already acknowledged)
}
