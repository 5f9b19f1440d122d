package boltstore

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// While one commit runs, the writes that queue up behind it go out together
// in the next transaction: ten appends, one commit (plus the blocker's).
func TestGroupCommit(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "g.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	release := make(chan struct{})
	blocked := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
			close(blocked)
			<-release
			return nil
		})
	}()
	testkit.Recv(t, 10*time.Second, "the first write to hold the writer", blocked)
	const n = 10
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := s.Append(ctx, store.Message{Namespace: "/chat", Event: "e", Payload: []byte{byte(i)}}, []string{"a"}, nil); err != nil {
				t.Error(err)
			}
		}()
	}
	testkit.Eventually(t, 10*time.Second, "all ten appends to queue behind the blocked commit", func() bool {
		return len(s.ops) >= n
	})
	close(release)
	wg.Wait()
	st := s.Stats()
	if st.Commits != 2 || st.Appended != n {
		t.Fatalf("commits %d, appended %d; want 2 commits (blocker, then all %d appends together)", st.Commits, st.Appended, n)
	}
	msgs, err := s.Pending(ctx, "a", 0, 0, nil)
	if err != nil || len(msgs) != n {
		t.Fatalf("%d pending, %v", len(msgs), err)
	}
}

// A failing write in a group fails alone: its neighbours are retried one by
// one and commit.
func TestGroupFailureIsolated(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "g.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	release := make(chan struct{})
	blocked := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
			close(blocked)
			<-release
			return nil
		})
	}()
	testkit.Recv(t, 10*time.Second, "the first write to hold the writer", blocked)
	errs := make([]error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 1 {
				errs[i] = s.write(ctx, func(tx *bolt.Tx, d *store.Stats) error {
					_ = tx.Bucket(bQMeta).Put([]byte("half"), []byte("written"))
					return errFail
				})
				return
			}
			_, _, errs[i] = s.Append(ctx, store.Message{Namespace: "/chat", Event: "e"}, []string{"a"}, nil)
		}()
		testkit.Eventually(t, 10*time.Second, "the writes to queue in order", func() bool {
			return len(s.ops) >= i+1
		})
	}
	close(release)
	wg.Wait()
	if errs[0] != nil || errs[2] != nil || errs[1] == nil {
		t.Fatalf("errors %v; want only the middle write to fail", errs)
	}
	msgs, err := s.Pending(ctx, "a", 0, 0, nil)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("%d pending, %v; want 2", len(msgs), err)
	}
	_ = s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bQMeta).Get([]byte("half")) != nil {
			t.Fatal("the failed write's partial change was committed")
		}
		return nil
	})
}

var errFail = failError("injected failure")

type failError string

func (e failError) Error() string { return string(e) }

// A batch is one transaction: a hundred messages, one commit.
func TestAppendBatchOneCommit(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "b.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	batch := make([]store.Appending, 100)
	for i := range batch {
		batch[i] = store.Appending{Message: store.Message{Namespace: "/chat", Event: "e", Payload: []byte{byte(i)}}, To: []string{"a", "b"}}
	}
	s.AppendBatch(context.Background(), batch)
	for i, b := range batch {
		if b.Err != nil {
			t.Fatalf("entry %d: %v", i, b.Err)
		}
	}
	if st := s.Stats(); st.Commits != 1 || st.Appended != 200 {
		t.Fatalf("commits %d, appended %d; want 1 commit of 200 appends", st.Commits, st.Appended)
	}
}

// An ack is a lazy write: queued alone it waits for another write and
// shares its commit (one fsync for the append and the ack, not two); with
// nothing else coming it commits alone once its wait ends.
func TestLazyAckSharesCommit(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "g.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	id, _, err := s.Append(ctx, store.Message{Namespace: "/chat", Event: "e"}, []string{"a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	groups := make(chan struct{}, 1)
	s.lazyWait = func(time.Duration) time.Duration { // seen by the writes below (sent after it)
		select {
		case groups <- struct{}{}: // a group starts: the committer took the ack
		default:
		}
		return time.Hour
	}
	before := s.Stats().Commits
	acked := make(chan error, 1)
	go func() { acked <- store.AckOne(ctx, s, "a", id) }()
	testkit.Recv(t, 10*time.Second, "the committer to take the ack", groups)
	select {
	case err := <-acked:
		t.Fatalf("the ack committed alone (%v) while its wait ran", err)
	default:
	}
	if _, _, err := s.Append(ctx, store.Message{Namespace: "/chat", Event: "e"}, []string{"b"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := testkit.Recv(t, 10*time.Second, "the ack's answer", acked); err != nil {
		t.Fatal(err)
	}
	if c := s.Stats().Commits - before; c != 1 {
		t.Fatalf("the ack and the append took %d commits, want 1", c)
	}

	s.lazyWait = func(time.Duration) time.Duration { return time.Millisecond }
	id, _, err = s.Append(ctx, store.Message{Namespace: "/chat", Event: "e"}, []string{"a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.AckOne(ctx, s, "a", id); err != nil { // alone: commits after its wait
		t.Fatal(err)
	}
	if msgs, err := s.Pending(ctx, "a", 0, 0, nil); err != nil || len(msgs) != 0 {
		t.Fatalf("after the acks: %d pending, %v", len(msgs), err)
	}
}
