package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// size is what a session counts against Limits.SessionTotalBytes.
func size(s store.Session) uint64 {
	n := store.SessionOverhead + len(s.ID) + len(s.Client) + len(s.Namespace)
	for _, r := range s.Rooms {
		n += len(r) + 16
	}
	return uint64(n)
}

// The memory store counts the bytes of its sessions on save, replace,
// take and expiry, and over Limits.SessionTotalBytes drops the oldest
// saved first.
func TestMemorySessionBytes(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	sess := func(i, rooms int) store.Session {
		s := store.Session{ID: fmt.Sprintf("s%d", i), Client: "c", Namespace: "/chat"}
		for j := range rooms {
			s.Rooms = append(s.Rooms, fmt.Sprintf("%s-%d", strings.Repeat("r", 100), j))
		}
		return s
	}
	one := size(sess(0, 2)) // s0..s9 have the same size
	m := store.NewMemory(store.Options{Now: func() time.Time { return now }, Limits: store.Limits{SessionTotalBytes: int64(4 * one)}})
	defer m.Close()
	bytes := func(want uint64) {
		t.Helper()
		if got := m.Stats().SessionBytes; got != want {
			t.Fatalf("SessionBytes %d, want %d", got, want)
		}
	}
	save := func(s store.Session) {
		t.Helper()
		if err := m.SaveSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	has := func(id string) bool {
		t.Helper()
		_, err := m.TakeSession(ctx, id)
		if err != nil && !errors.Is(err, store.ErrSessionNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	// save and replace
	for i := range 3 {
		save(sess(i, 2))
	}
	bytes(3 * one)
	save(sess(1, 0)) // s1 replaced by a smaller one: now the newest
	bytes(2*one + size(sess(1, 0)))
	save(sess(1, 2))
	bytes(3 * one)

	// over the bound: the oldest saved go first (s0, then s2: s1 was saved again after it)
	save(sess(3, 2))
	save(sess(4, 2))
	bytes(4 * one)
	if st := m.Stats(); st.SessionsDropped != 1 {
		t.Fatalf("SessionsDropped %d, want 1", st.SessionsDropped)
	}
	save(sess(5, 2))
	bytes(4 * one)
	if has("s0") || has("s2") {
		t.Fatal("s0 or s2 kept: the oldest should have been dropped")
	}
	// take
	if !has("s1") {
		t.Fatal("s1 dropped, not the oldest")
	}
	bytes(3 * one)
	if has("s1") {
		t.Fatal("s1 taken twice")
	}
	// a taken session's place in the order is skipped: the next drop is s3
	save(sess(6, 2))
	save(sess(7, 2))
	if st := m.Stats(); st.SessionsDropped != 3 {
		t.Fatalf("SessionsDropped %d, want 3", st.SessionsDropped)
	}
	bytes(4 * one)
	if has("s3") {
		t.Fatal("s3 kept")
	}
	bytes(4 * one) // taking a dropped session changes nothing

	// expire: the sweep and a take past the window both uncount
	now = now.Add(store.DefaultWindow)
	if err := m.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	bytes(0)
	save(sess(8, 2))
	now = now.Add(store.DefaultWindow)
	if has("s8") {
		t.Fatal("s8 taken past its window")
	}
	bytes(0)

	// a session larger than the bound is not kept
	save(sess(9, 400))
	bytes(0)
	if st := m.Stats(); st.SessionsDropped != 4 || st.SessionsSaved != 12 {
		t.Fatalf("SessionsDropped %d, SessionsSaved %d; want 4 and 12", st.SessionsDropped, st.SessionsSaved)
	}
}

// Many sessions saved and taken or dropped keep the saving order short
// and the byte count exact; a negative bound keeps every session.
func TestMemorySessionChurn(t *testing.T) {
	ctx := context.Background()
	s := store.Session{Client: "c", Namespace: "/chat", Rooms: []string{"room"}}
	s.ID = "s-000000"
	one := size(s)
	m := store.NewMemory(store.Options{Limits: store.Limits{SessionTotalBytes: int64(100 * one)}})
	defer m.Close()
	unbounded := store.NewMemory(store.Options{Limits: store.Limits{SessionTotalBytes: -1}})
	defer unbounded.Close()
	for i := range 10000 {
		s.ID = fmt.Sprintf("s-%06d", i)
		for _, st := range []*store.Memory{m, unbounded} {
			if err := st.SaveSession(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		if i%3 == 0 {
			m.TakeSession(ctx, s.ID)
		}
	}
	// The last save (s-009999) filled the bound and was taken: 99 left.
	if got := m.Stats().SessionBytes; got != 99*one {
		t.Fatalf("SessionBytes %d, want %d", got, 99*one)
	}
	if got := unbounded.Stats(); got.SessionBytes != 10000*one || got.SessionsDropped != 0 {
		t.Fatalf("no limit: SessionBytes %d, SessionsDropped %d; want %d and 0", got.SessionBytes, got.SessionsDropped, 10000*one)
	}
	// The sessions kept are the newest not taken.
	kept := 0
	for i := 9999; i >= 9000; i-- {
		id := fmt.Sprintf("s-%06d", i)
		_, err := m.TakeSession(ctx, id)
		if want := i%3 != 0 && kept < 99; (err == nil) != want {
			t.Fatalf("take %s: %v, want it kept: %v", id, err, want)
		}
		if err == nil {
			kept++
		}
	}
	if got := m.Stats().SessionBytes; got != 0 {
		t.Fatalf("SessionBytes %d after every session was taken", got)
	}
}
