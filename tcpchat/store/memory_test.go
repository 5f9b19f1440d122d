package store_test

import (
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T, opts store.Options) store.Store {
			s := store.NewMemory(opts)
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
	})
}
