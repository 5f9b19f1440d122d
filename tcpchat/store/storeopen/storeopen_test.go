package storeopen_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
		{srv.URL(), func(s store.Store) bool {
			r, ok := s.(interface{ Prefix() string }) // *redisstore.Store, embedded
			return ok && r.Prefix() == redisstore.DefaultPrefix
		}},
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

func TestClusterOptions(t *testing.T) {
	for _, tc := range []struct {
		url, addrs, user, pass string
		tls                    bool
	}{
		{"redis-cluster://127.0.0.1:7000", "127.0.0.1:7000", "", "", false},
		{"redis-cluster://a:1,b:2,c:3/0", "a:1 b:2 c:3", "", "", false},
		{"rediss-cluster://u:p@a:1,b:2/?dial_timeout=3s", "a:1 b:2", "u", "p", true},
	} {
		o, err := storeopen.ClusterOptions(tc.url)
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if strings.Join(o.Addrs, " ") != tc.addrs || o.Username != tc.user || o.Password != tc.pass || (o.TLSConfig != nil) != tc.tls {
			t.Errorf("%s: addrs %v user %q password %q TLS %v", tc.url, o.Addrs, o.Username, o.Password, o.TLSConfig != nil)
		}
	}
	if o, _ := storeopen.ClusterOptions("redis-cluster://a:1?dial_timeout=3s"); o == nil || o.DialTimeout != 3*time.Second {
		t.Errorf("options after the list: %+v", o)
	}
	for _, bad := range []string{"redis-cluster://", "redis-cluster://a:1,,b:2", "redis-cluster://a:1/2", "redis-cluster://a:1?nope=1"} {
		if _, err := storeopen.ClusterOptions(bad); !errors.Is(err, storeopen.ErrBadSpec) {
			t.Errorf("ClusterOptions(%q) = %v, want ErrBadSpec", bad, err)
		}
	}
	if !storeopen.IsRedisCluster("rediss-cluster://a:1") || storeopen.IsRedisCluster("redis://a:1") {
		t.Error("IsRedisCluster")
	}
}

// Servers on different addresses get different default files; a file that
// another process holds is reported as ErrLocked.
func TestDefaultBoltPathForAndLocked(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	for addr, want := range map[string]string{
		"127.0.0.1:7070": "queues-127.0.0.1-7070.db",
		":7071":          "queues-all-7071.db",
		"[::1]:7072":     "queues-__1-7072.db",
		"localhost:x/y":  "queues-localhost-xy.db",
	} {
		got, err := storeopen.DefaultBoltPathFor(addr)
		if err != nil || got != filepath.Join(dir, "wiredojo", want) {
			t.Errorf("DefaultBoltPathFor(%q) = %q, %v; want %s", addr, got, err, want)
		}
	}
	a, _ := storeopen.DefaultBoltPathFor("127.0.0.1:7070")
	b, _ := storeopen.DefaultBoltPathFor("127.0.0.1:7071")
	if a == b {
		t.Fatalf("two addresses share %s", a)
	}
	// bbolt's lock is per open file description (flock), so a second Open
	// in this process meets it as another process would.
	p := filepath.Join(dir, "held.db")
	s, err := storeopen.Open(context.Background(), "bolt:"+p, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := storeopen.Open(context.Background(), "bolt:"+p, store.Options{}); !errors.Is(err, storeopen.ErrLocked) || !strings.Contains(err.Error(), p) {
		t.Fatalf("second Open = %v; want ErrLocked naming %s", err, p)
	}
}
