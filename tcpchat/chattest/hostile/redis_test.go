package hostile_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wiredojo/wiredojo/internal/redistest"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest/hostile"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/redisstore"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

var redisPrefixes atomic.Int64

// redisStore starts a redis-server and returns a store on it with limits
// (the server's Store and so its RecoveryStore, as `chat serve --redis`
// has it), a client of that Redis, and the store's key prefix.
func redisStore(t *testing.T, l store.Limits) (*redisstore.Store, *redis.Client) {
	t.Helper()
	srv := redistest.Start(t, redistest.Config{})
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	st := redisstore.New(rdb, fmt.Sprintf("h%d", redisPrefixes.Add(1)), store.Options{Limits: l})
	t.Cleanup(func() { _ = st.Close() })
	return st, rdb
}

// usedMemory is Redis's INFO used_memory.
func usedMemory(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no used_memory in INFO memory: %q", info)
	return 0
}

// keyBytes is the sum of MEMORY USAGE of the keys that match pattern.
func keyBytes(t *testing.T, rdb *redis.Client, pattern string) (n int64, keys int) {
	t.Helper()
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, pattern, 100).Iterator()
	for iter.Next(ctx) {
		v, err := rdb.MemoryUsage(ctx, iter.Val(), 0).Result()
		if err != nil {
			t.Fatal(err)
		}
		n += v
		keys++
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return n, keys
}

// The replay log attack against a server whose recovery state is in
// Redis (`chat serve --redis`): the logs in Redis keep their byte bound
// (1 MiB per namespace, 2 MiB in all), measured by MEMORY USAGE of the
// log streams and by Redis's used_memory, and after it an innocent client
// that missed a broadcast while away gets it replayed.
func TestReplayLogInRedisIsBoundedByBytes(t *testing.T) {
	t.Parallel()
	const (
		events   = 64
		size     = 256 << 10 // 16 MiB in all
		maxBytes = 1 << 20
	)
	st, rdb := redisStore(t, store.Limits{ReplayMaxBytes: maxBytes, ReplayTotalBytes: 2 * maxBytes})
	srv, addr := hostile.ChatServer(t, tcpchat.Options{Store: st})
	obs := hostile.NewObserver(t, addr, "/chat", "quiet")
	base := srv.Connections()
	before := usedMemory(t, rdb)
	obs.Watch(t)

	a := floodSoloRoom(t, addr, events, size)
	obs.Check(t)
	stats := st.Stats()
	logs, n := keyBytes(t, rdb, st.Prefix()+":{ns:*}:replay")
	grew := usedMemory(t, rdb) - before
	t.Logf("sent %d MiB; replay logs: %.2f MiB counted (ReplayBytes), %.2f MiB by MEMORY USAGE of %d logs; %d entries trimmed; Redis used_memory grew %.2f MiB",
		events*size>>20, float64(stats.ReplayBytes)/(1<<20), float64(logs)/(1<<20), n, stats.ReplayTrimmed, float64(grew)/(1<<20))
	// an entry's record holds its payload as the frame has it (a little
	// more than the event's argument); a quarter more covers the stream's own
	if limit := int64(maxBytes * 5 / 4); logs > limit {
		t.Fatalf("the replay logs in Redis use %d bytes (MEMORY USAGE), over %d", logs, limit)
	}
	if limit := int64(4 * maxBytes); grew > limit {
		t.Fatalf("Redis's used_memory grew by %.1f MiB after %d MiB of broadcasts, over %d MiB", float64(grew)/(1<<20), events*size>>20, limit>>20)
	}
	checkBytesBound(t, addr, "the replay logs in Redis", stats.ReplayBytes, maxBytes, stats.ReplayTrimmed, "wiredojo_chat_replay_bytes", "wiredojo_chat_replay_trimmed_total")

	// The attack stopped: an innocent client in a room of its own drops
	// its connection, misses a broadcast to its room, and resumes (the
	// attack's entries are still in the log, which holds the new one).
	session := innocentLeaves(t, srv, addr, base+1) // the attacker stays
	joinRoom(t, a, "/chat", "innocent")
	a.Event(t, "/chat", "note", 500, []byte(`["while you were away"]`))
	a.Expect(t, wire.TypeAck)
	c2 := innocentResumes(t, addr, session)
	for {
		p := c2.Expect(t, wire.TypeEvent)
		if p.Event == "note" {
			break
		}
	}
}

// The recovery sessions attack against a server whose recovery state is in
// Redis: the sessions keep their byte bound, measured by MEMORY USAGE of
// the session keys too, and an innocent client resumes after it.
func TestRecoverySessionsInRedisAreBoundedByBytes(t *testing.T) {
	t.Parallel()
	st, rdb := redisStore(t, store.Limits{SessionTotalBytes: sessionAttackBytes})
	before := usedMemory(t, rdb)
	sessionAttack(t, tcpchat.Options{Store: st}, st, func(t *testing.T) {
		held, n := keyBytes(t, rdb, st.Prefix()+":{session:*")
		t.Logf("%d session keys in Redis, %d bytes by MEMORY USAGE (bound %d); Redis used_memory grew %d bytes",
			n, held, sessionAttackBytes, usedMemory(t, rdb)-before)
		// a session's record holds its names as the store counts them,
		// less the overhead; a quarter more covers Redis's own
		if limit := int64(sessionAttackBytes * 5 / 4); held > limit {
			t.Fatalf("the sessions in Redis use %d bytes (MEMORY USAGE), over %d", held, limit)
		}
	})
}
