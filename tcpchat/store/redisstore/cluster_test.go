package redisstore_test

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wiredojo/wiredojo/internal/redistest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/redisstore"
	"github.com/wiredojo/wiredojo/tcpchat/store/storetest"
)

// TestClusterConformance runs the conformance suite on a three-master Redis
// Cluster: the hash tags keep every script and every multi-key command in
// one slot (a CROSSSLOT error would fail it), and go-redis routes each to the
// node that owns the slot.
func TestClusterConformance(t *testing.T) {
	c := redistest.StartCluster(t, 3, redistest.Config{})
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = rdb.Close() })
	n := 0
	storetest.Run(t, storetest.Harness{
		ByteBounds: true,
		Open: func(t *testing.T, opts store.Options) store.Store {
			n++
			s := redisstore.New(rdb, fmt.Sprintf("c%d", n), opts)
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		Reopen: func(t *testing.T, s store.Store, opts store.Options) store.Store {
			_ = s.Close()
			s2 := redisstore.New(rdb, s.(*redisstore.Store).Prefix(), opts)
			t.Cleanup(func() { _ = s2.Close() })
			return s2
		},
	})
}
