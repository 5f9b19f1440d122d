package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat/store"
)

func TestExpireEvery(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := store.NewMemory(store.Options{Now: clock, Limits: store.Limits{MaxAge: time.Second}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		store.ExpireEvery(ctx, s, time.Millisecond, func(err error) { t.Error(err) })
	}()
	if _, _, err := s.Append(ctx, store.Message{Namespace: "/n", Event: "e"}, []string{"a"}, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	testkit.Eventually(t, 10*time.Second, "the sweeper to drop the expired message", func() bool {
		return s.Stats().DroppedAge == 1
	})
	cancel()
	testkit.Recv(t, 10*time.Second, "the sweeper to end after cancel", done)
}
