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

// A node that stops between a log's script and the report to the total
// over every log leaves the total short; the next Expire sweep reports
// every log and the total is right again (it is the sum of each log's
// latest state, not a counter of deltas that would stay wrong).
func TestReplayTotalHealsInExpire(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	rdb := client(t, srv)
	ctx := context.Background()
	prefix := fmt.Sprintf("t%d", prefixes.Add(1))
	s := redisstore.New(rdb, prefix, store.Options{})
	t.Cleanup(func() { _ = s.Close() })
	for _, ns := range []string{"/a", "/b", "/a"} {
		if _, _, err := s.AppendReplay(ctx, store.Message{Namespace: ns, Payload: make([]byte, 1000)}); err != nil {
			t.Fatal(err)
		}
	}
	want := uint64(3 * store.ReplayEntrySize(1000, nil, nil))
	if got := s.Stats().ReplayBytes; got != want {
		t.Fatalf("ReplayBytes %d, want %d", got, want)
	}
	// the reports lost: as if every append's node stopped after its script
	if err := rdb.Del(ctx, prefix+":{replay}:bytes", prefix+":{replay}:vers", prefix+":{replay}:total", prefix+":{replay}:heads").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	total, err := rdb.Get(ctx, prefix+":{replay}:total").Uint64()
	if err != nil || total != want || s.Stats().ReplayBytes != want {
		t.Fatalf("after Expire: total in Redis %d (%v), ReplayBytes %d; want %d", total, err, s.Stats().ReplayBytes, want)
	}
}
