package boltstore_test

import (
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/boltstore"
	"github.com/wiredojo/wiredojo/tcpchat/store/storetest"
)

func TestMain(m *testing.M) {
	if childMain() {
		return
	}
	goleak.VerifyTestMain(m)
}

func open(t *testing.T, path string, opts store.Options) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		ByteBounds: true,
		Open: func(t *testing.T, opts store.Options) store.Store {
			return open(t, filepath.Join(t.TempDir(), "q.db"), opts)
		},
		Reopen: func(t *testing.T, s store.Store, opts store.Options) store.Store {
			bs := s.(*boltstore.Store)
			if err := bs.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, bs.Path(), opts)
		},
	})
}
