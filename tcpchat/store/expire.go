package store

import (
	"context"
	"time"
)

// ExpireEvery calls s.Expire every interval until ctx ends, passing errors
// to onErr (nil: ignored). It blocks; run it in a goroutine you own and end
// it by cancelling ctx.
func ExpireEvery(ctx context.Context, s Store, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Expire(ctx); err != nil && onErr != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}
