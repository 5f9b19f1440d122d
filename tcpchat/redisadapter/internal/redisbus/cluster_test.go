package redisbus_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wiredojo/wiredojo/internal/redistest"
	"github.com/wiredojo/wiredojo/tcpchat/redisadapter/internal/redisbus"
)

// On a Redis Cluster, sharded pub/sub carries each room's channel on the
// node owning its slot; two cluster clients stand for two chat nodes.
func TestClusterShardedPubSub(t *testing.T) {
	c := redistest.StartCluster(t, 3, redistest.Config{})
	ctx := context.Background()
	var buses []*redisbus.Bus
	for range 2 {
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
		t.Cleanup(func() { _ = rdb.Close() })
		b, err := redisbus.New(ctx, rdb, redisbus.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		if !b.Sharded() {
			t.Fatal("cluster bus is not sharded")
		}
		buses = append(buses, b)
	}
	h, ch := collect()
	var rooms []string
	for i := range 6 { // several rooms: their channels land on different nodes
		rooms = append(rooms, buses[0].RoomChannel("/chat", fmt.Sprint("room", i)))
	}
	for _, r := range rooms {
		// one subscription per room: a sharded subscription is per node
		if _, err := buses[1].Subscribe(ctx, h, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rooms {
		if _, err := buses[0].Publish(ctx, r, []byte("hi "+r)); err != nil {
			t.Fatal(err)
		}
		wait(t, ch, got{r, "hi " + r})
	}
}
