package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/boltstore"
	"github.com/wiredojo/wiredojo/tcpchat/store/storetest"
)

// BenchmarkBolt measures the bolt store with fsync on (every write is
// durable when it returns), group commits included.
func BenchmarkBolt(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	})
}
