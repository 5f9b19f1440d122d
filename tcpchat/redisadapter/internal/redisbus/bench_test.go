package redisbus_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/redistest"
	"github.com/wiredojo/wiredojo/tcpchat/redisadapter/internal/redisbus"
)

// BenchmarkPublish measures a broadcast crossing nodes: one bus publishes
// 128-byte messages on a room channel from parallel goroutines, another
// bus's subscription receives them. events/s counts messages received.
func BenchmarkPublish(b *testing.B) {
	srv := redistest.Start(b, redistest.Config{})
	for _, mode := range []redisbus.Mode{redisbus.Sharded, redisbus.Plain} {
		b.Run(mode.String(), func(b *testing.B) {
			ctx := context.Background()
			pub, err := redisbus.Open(ctx, srv.URL(), redisbus.Options{Mode: mode})
			if err != nil {
				b.Fatal(err)
			}
			defer pub.Close()
			sub, err := redisbus.Open(ctx, srv.URL(), redisbus.Options{Mode: mode})
			if err != nil {
				b.Fatal(err)
			}
			defer sub.Close()
			room := pub.RoomChannel("/chat", "bench")
			var got atomic.Int64
			all := make(chan struct{})
			target := int64(b.N)
			if _, err := sub.Subscribe(ctx, func(string, []byte) {
				if got.Add(1) == target {
					close(all)
				}
			}, room); err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, 128)
			b.SetParallelism(16)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := pub.Publish(ctx, room, payload); err != nil {
						b.Error(err)
						return
					}
				}
			})
			select {
			case <-all:
			case <-time.After(time.Minute):
				b.Fatalf("received %d of %d messages", got.Load(), b.N)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
