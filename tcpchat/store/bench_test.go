package store_test

import (
	"context"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/storetest"
)

func BenchmarkMemory(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s := store.NewMemory(store.Options{})
		b.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// BenchmarkMemoryReplayFull appends to a replay log that is already at its
// entry bound, the steady state of a busy chat: every append drops the
// oldest entry, and must not move the whole log to do it.
func BenchmarkMemoryReplayFull(b *testing.B) {
	ctx := context.Background()
	s := store.NewMemory(store.Options{})
	b.Cleanup(func() { _ = s.Close() })
	m := store.Message{Namespace: "/chat", Rooms: []string{"lobby"}, Payload: []byte(`["message",{"text":"hi"}]`)}
	for range store.DefaultReplayMax + 1 {
		if _, _, err := s.AppendReplay(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, _, err := s.AppendReplay(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}
