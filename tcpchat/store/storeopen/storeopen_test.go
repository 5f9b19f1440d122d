package storeopen_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/wiredojo/wiredojo/internal/redistest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/boltstore"
	"github.com/wiredojo/wiredojo/tcpchat/store/redisstore"
	"github.com/wiredojo/wiredojo/tcpchat/store/storeopen"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	def, err := storeopen.DefaultBoltPath()
	if err != nil || def != filepath.Join(dir, "wiredojo", "queues.db") {
		t.Fatalf("DefaultBoltPath = %q, %v", def, err)
	}
	srv := redistest.Start(t, redistest.Config{})
	for _, tc := range []struct {
		spec string
		want func(store.Store) bool
	}{
		{"memory", func(s store.Store) bool { _, ok := s.(*store.Memory); return ok }},
		{"bolt", func(s store.Store) bool { b, ok := s.(*boltstore.Store); return ok && b.Path() == def }},
		{"bolt:" + filepath.Join(dir, "sub", "q.db"), func(s store.Store) bool {
			b, ok := s.(*boltstore.Store)
			return ok && b.Path() == filepath.Join(dir, "sub", "q.db")
		}},
		{srv.URL(), func(s store.Store) bool { _, ok := s.(*redisstore.Store); return ok }},
	} {
		s, err := storeopen.Open(ctx, tc.spec, store.Options{})
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.spec, err)
		}
		if !tc.want(s) {
			t.Errorf("Open(%q) = %T", tc.spec, s)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"", "disk", "mem", "http://x"} {
		if _, err := storeopen.Open(ctx, bad, store.Options{}); !errors.Is(err, storeopen.ErrBadSpec) {
			t.Errorf("Open(%q) = %v, want ErrBadSpec", bad, err)
		}
	}
}
