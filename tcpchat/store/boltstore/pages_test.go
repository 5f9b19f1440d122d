package boltstore

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// BenchmarkAppendAckPages runs the durable stream of one consumer as the
// server drives it: batches of 256 appends of 128 bytes, each batch's
// acks (concurrent, as the ack worker sends them) beside the next batch.
// It reports the pages each event costs to write (every page a commit
// touched is written again before its fsync: fewer pages, shorter
// commits) and the events per commit.
func BenchmarkAppendAckPages(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "p.db"), store.Options{Limits: store.Limits{MaxMessages: 1 << 30}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	payload := bytes.Repeat([]byte("x"), 128)
	const batch = 256
	var pend []store.ID
	apps := make([]store.Appending, batch)
	before := s.db.Stats().TxStats
	commits := s.Stats().Commits
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for _, id := range pend {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := store.AckOne(ctx, s, "consumer", id); err != nil {
					b.Error(err)
				}
			}()
		}
		for i := range apps {
			apps[i] = store.Appending{Message: store.Message{Namespace: "/", Event: "ev", Payload: payload}, To: []string{"consumer"}}
		}
		s.AppendBatch(ctx, apps)
		wg.Wait()
		pend = pend[:0]
		for i := range apps {
			if apps[i].Err != nil {
				b.Fatal(apps[i].Err)
			}
			pend = append(pend, apps[i].ID)
		}
	}
	b.StopTimer()
	after := s.db.Stats().TxStats
	events := float64(b.N * batch)
	b.ReportMetric(float64(after.GetWrite()-before.GetWrite())/events, "pages/event")
	b.ReportMetric(events/float64(s.Stats().Commits-commits), "events/commit")
}
