package redisstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/redistest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/redisstore"
)

// TestRedisRestart ends redis-server under a store and starts it again on
// the same port with its append-only file: killed with SIGKILL under
// appendfsync always, and stopped with SIGTERM (redis flushes the file) under
// appendfsync everysec. Every append the store acknowledged is still there,
// acks stay done, and the same Store goes on (its go-redis client
// reconnects, its scripts reload).
func TestRedisRestart(t *testing.T) {
	for _, tc := range []struct {
		name, fsync string
		kill        bool
	}{
		{"kill9/appendfsync=always", "always", true},
		{"sigterm/appendfsync=everysec", "everysec", false},
	} {
		t.Run(tc.name, func(t *testing.T) { testRestart(t, tc.fsync, tc.kill) })
	}
}

func testRestart(t *testing.T, fsync string, kill bool) {
	srv := redistest.Start(t, redistest.Config{AppendFsync: fsync})
	ctx := context.Background()
	s, err := redisstore.Open(ctx, srv.URL(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ids []store.ID
	for i := range 50 {
		id, _, err := s.Append(ctx, store.Message{Namespace: "/chat", Event: "e", Payload: []byte{byte(i)}}, []string{"a", "b"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids[:10] {
		if err := store.AckOne(ctx, s, "a", id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Subscribe(ctx, "a", store.Sub{Namespace: "/chat", Room: "r"}); err != nil {
		t.Fatal(err)
	}

	if kill {
		srv.Kill()
	} else {
		srv.Stop()
	}
	down, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	if _, _, err := s.Append(down, store.Message{Namespace: "/chat", Event: "e"}, []string{"a"}, nil); err == nil {
		t.Fatal("Append succeeded while Redis was down")
	} else {
		t.Logf("while Redis is down: %v", err)
	}
	cancel()
	srv.Restart()

	msgs, err := s.Pending(ctx, "a", 0, 0, nil)
	if err != nil {
		t.Fatalf("Pending after restart: %v", err)
	}
	if len(msgs) != 40 || msgs[0].ID != ids[10] || msgs[39].ID != ids[49] || msgs[0].Offset != 11 {
		t.Fatalf("after restart a has %d messages (first offset %d), want 40 from offset 11", len(msgs), msgs[0].Offset)
	}
	if msgs, err := s.Pending(ctx, "b", 0, 0, nil); err != nil || len(msgs) != 50 {
		t.Fatalf("after restart b has %d messages, %v; want 50", len(msgs), err)
	}
	_, offs, err := s.Append(ctx, store.Message{Namespace: "/chat", Event: "e"}, []string{"a", "b"}, nil)
	if err != nil {
		t.Fatalf("Append after restart: %v", err)
	}
	if !slices.Equal(offs, []uint64{51, 51}) {
		t.Fatalf("offsets after restart = %v, want [51 51]", offs)
	}
	if err := store.AckOne(ctx, s, "a", ids[0]); err == nil {
		t.Fatal("an ack done before the restart was undone")
	}
	mem, err := s.Members(ctx, store.Sub{Namespace: "/chat", Room: "r"})
	if err != nil || !slices.Equal(mem, []string{"a"}) {
		t.Fatalf("members after restart = %v, %v", mem, err)
	}
}
