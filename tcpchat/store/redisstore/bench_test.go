package redisstore_test

import (
	"fmt"
	"testing"

	"github.com/wiredojo/wiredojo/internal/redistest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/redisstore"
	"github.com/wiredojo/wiredojo/tcpchat/store/storetest"
)

// BenchmarkRedis measures the Redis store against a local redis-server with
// the append-only file on (appendfsync everysec, and always: fsync before
// every reply) and off.
func BenchmarkRedis(b *testing.B) {
	for _, fsync := range []string{"everysec", "always", ""} {
		name := "aof=" + fsync
		if fsync == "" {
			name = "aof=off"
		}
		b.Run(name, func(b *testing.B) {
			srv := redistest.Start(b, redistest.Config{AppendFsync: fsync})
			n := 0
			storetest.Bench(b, func(b *testing.B) store.Store {
				n++
				s := redisstore.New(client(b, srv), fmt.Sprintf("bench%d", n), store.Options{})
				b.Cleanup(func() { _ = s.Close() })
				return s
			})
		})
	}
}
