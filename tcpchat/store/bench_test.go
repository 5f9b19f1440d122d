package store_test

import (
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
