package redisbus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wiredojo/wiredojo/internal/redistest"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat/redisadapter/internal/redisbus"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type got struct{ channel, payload string }

func collect() (redisbus.Handler, chan got) {
	ch := make(chan got, 100)
	return func(c string, p []byte) { ch <- got{c, string(p)} }, ch
}

func wait(t *testing.T, ch chan got, want got) {
	t.Helper()
	select {
	case g := <-ch:
		if g != want {
			t.Fatalf("received %+v, want %+v", g, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("nothing received, want %+v", want)
	}
}

func open(t *testing.T, srv *redistest.Server, mode redisbus.Mode) *redisbus.Bus {
	t.Helper()
	b, err := redisbus.Open(context.Background(), srv.URL(), redisbus.Options{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// Two buses stand for two nodes: what one publishes on a room channel
// reaches the other's subscription, in order; other rooms stay apart.
func TestPublishAcrossNodes(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	for _, mode := range []redisbus.Mode{redisbus.Auto, redisbus.Sharded, redisbus.Plain} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx := context.Background()
			a, b := open(t, srv, mode), open(t, srv, mode)
			if mode == redisbus.Auto && !a.Sharded() {
				t.Fatalf("redis-server (%s) should get sharded pub/sub", redistest.Version(t))
			}
			room, other := a.RoomChannel("/chat", "lobby"), a.RoomChannel("/chat", "other")
			h, ch := collect()
			sub, err := b.Subscribe(ctx, h, room)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Publish(ctx, other, []byte("not for you")); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				n, err := a.Publish(ctx, room, []byte(fmt.Sprint("hello ", i)))
				if err != nil || n != 1 {
					t.Fatalf("publish: %d receivers, %v; want 1", n, err)
				}
			}
			for i := range 5 {
				wait(t, ch, got{room, fmt.Sprint("hello ", i)})
			}
			if err := sub.Add(ctx, other); err != nil {
				t.Fatal(err)
			}
			a.Publish(ctx, other, []byte("now for you"))
			wait(t, ch, got{other, "now for you"})
			if err := sub.Remove(ctx, room); err != nil {
				t.Fatal(err)
			}
			if err := sub.Close(); err != nil {
				t.Fatal(err)
			}
			if n, _ := a.Publish(ctx, room, []byte("gone")); n != 0 {
				t.Fatalf("%d receivers after Close", n)
			}
		})
	}
}

// After redis-server restarts, the subscription is back without the caller
// doing anything.
func TestResubscribeAfterRedisRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	ctx := context.Background()
	a, b := open(t, srv, redisbus.Auto), open(t, srv, redisbus.Auto)
	room := a.RoomChannel("/chat", "lobby")
	h, ch := collect()
	if _, err := b.Subscribe(ctx, h, room); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	srv.Restart()
	// publish until the resubscribed node hears it (bounded: a failure, not a timing check)
	testkit.Eventually(t, 30*time.Second, "a subscriber to come back after the restart", func() bool {
		n, err := a.Publish(ctx, room, []byte("back"))
		return err == nil && n == 1
	})
	wait(t, ch, got{room, "back"})
}
