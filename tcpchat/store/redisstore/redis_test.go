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

// An append reports its log to the total over every log only when the
// log moved by a step since this node's last report (a round trip to
// Redis each time otherwise); the node's gauge counts every append.
func TestReplayTotalReportedBySteps(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	rdb := client(t, srv)
	ctx := context.Background()
	prefix := fmt.Sprintf("t%d", prefixes.Add(1))
	s := redisstore.New(rdb, prefix, store.Options{Limits: store.Limits{ReplayTotalBytes: 64 << 20}})
	t.Cleanup(func() { _ = s.Close() })
	size := int64(store.ReplayEntrySize(100, nil, nil))
	total := func() int64 {
		t.Helper()
		n, err := rdb.Get(ctx, prefix+":{replay}:total").Int64()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	appendOne := func() {
		t.Helper()
		if _, _, err := s.AppendReplay(ctx, store.Message{Namespace: "/a", Payload: make([]byte, 100)}); err != nil {
			t.Fatal(err)
		}
	}
	appendOne() // the first append of a log reports it
	if got := total(); got != size {
		t.Fatalf("total in Redis after the first append %d, want %d", got, size)
	}
	for range 9 {
		appendOne()
	}
	if got := total(); got != size {
		t.Fatalf("total in Redis after 10 small appends %d, want %d (reported at the first only)", got, size)
	}
	if got := s.Stats().ReplayBytes; got != uint64(10*size) {
		t.Fatalf("ReplayBytes %d, want %d", got, 10*size)
	}
	// 64 KiB of appends pass the step: the total is reported again
	for i := 0; int64(i)*size < 64<<10; i++ {
		appendOne()
	}
	if got, want := total(), int64(s.Stats().ReplayBytes); got+64<<10 < want || got > want {
		t.Fatalf("total in Redis %d after a step of appends, want within 64 KiB below %d", got, want)
	}
	if got := total(); got == size {
		t.Fatal("total in Redis not reported again after 64 KiB of appends")
	}
}
