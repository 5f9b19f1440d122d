package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/wiredojo/wiredojo/internal/redistest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/redisstore"
	"github.com/wiredojo/wiredojo/tcpchat/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var prefixes atomic.Int64

func client(t testing.TB, srv *redistest.Server) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestConformance(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	rdb := client(t, srv)
	storetest.Run(t, storetest.Harness{
		ByteBounds: true,
		Open: func(t *testing.T, opts store.Options) store.Store {
			s := redisstore.New(rdb, fmt.Sprintf("t%d", prefixes.Add(1)), opts)
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

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := redisstore.Open(ctx, "http://x", store.Options{}); err == nil {
		t.Fatal("Open with a bad URL succeeded")
	}
	srv := redistest.Start(t, redistest.Config{})
	addr := srv.Addr()
	srv.Kill()
	if _, err := redisstore.Open(ctx, "redis://"+addr+"/0", store.Options{}); err == nil {
		t.Fatal("Open of a stopped server succeeded")
	} else {
		t.Log(err)
	}
}
