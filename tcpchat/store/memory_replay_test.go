package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// The memory store bounds replay logs by bytes, per namespace and in all,
// dropping the oldest first (of the namespace, then of any namespace), and
// by age on every append; recording allocates nothing in steady state.
func TestMemoryReplayByteBounds(t *testing.T) {
	now := time.Unix(1000, 0)
	entry := int64(1000 + store.ReplayEntryOverhead)
	s := store.NewMemory(store.Options{Now: func() time.Time { return now }, Limits: store.Limits{
		ReplayMaxBytes: 4 * entry, ReplayTotalBytes: 6 * entry, ReplayWindow: time.Minute}})
	defer s.Close()
	ctx := context.Background()
	payload := make([]byte, 1000)
	add := func(ns string) uint64 {
		t.Helper()
		_, off, err := s.AppendReplay(ctx, store.Message{Namespace: ns, Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Millisecond)
		return off
	}
	count := func(ns string, after uint64) int {
		t.Helper()
		got, err := s.Replay(ctx, ns, after, 0, nil)
		if err != nil {
			t.Fatalf("replay %s after %d: %v", ns, after, err)
		}
		return len(got)
	}
	for range 6 {
		add("/a")
	}
	if n := count("/a", 2); n != 4 || s.Stats().ReplayBytes != uint64(4*entry) {
		t.Fatalf("/a: %d entries, %d bytes; want the newest 4 (per-namespace bound)", n, s.Stats().ReplayBytes)
	}
	if _, err := s.Replay(ctx, "/a", 1, 0, nil); !errors.Is(err, store.ErrReplayGap) {
		t.Fatalf("replay from a trimmed offset: %v, want ErrReplayGap", err)
	}
	for range 3 {
		add("/b")
	}
	// 7 entries over a total of 6: the oldest of any log (/a's) went.
	if a, b := count("/a", 3), count("/b", 0); a != 3 || b != 3 || s.Stats().ReplayBytes != uint64(6*entry) {
		t.Fatalf("/a %d, /b %d entries, %d bytes; want 3 and 3 (total bound, oldest first)", a, b, s.Stats().ReplayBytes)
	}
	now = now.Add(2 * time.Minute)
	off := add("/b") // the append trims what is past the window
	if got, err := s.Replay(ctx, "/b", off-1, 0, nil); err != nil || len(got) != 1 || s.Stats().ReplayBytes != uint64(4*entry) {
		t.Fatalf("after the window: %d entries (%v), %d bytes; want /b's newest and /a's 3 until Expire", len(got), err, s.Stats().ReplayBytes)
	}
	if err := s.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().ReplayBytes; got != uint64(entry) {
		t.Fatalf("after Expire: %d bytes, want one entry's", got)
	}
	if a := testing.AllocsPerRun(100, func() { add("/b") }); a > 0 {
		t.Fatalf("recording allocates %.1f times per entry in steady state, want 0", a)
	}
}

// An entry the caller stamps (Created set: the server stamps a broadcast
// with the clock reading of the read that brought its event) costs the
// memory store no clock read; its id and the age bound go by that stamp.
func TestMemoryReplayStampedEntries(t *testing.T) {
	reads := 0
	s := store.NewMemory(store.Options{Now: func() time.Time { reads++; return time.Unix(5000, 0) },
		Limits: store.Limits{ReplayWindow: time.Minute}})
	defer s.Close()
	reads = 0 // NewMemory reads the clock once, for the store's epoch
	ctx := context.Background()
	at := time.Unix(1000, 0)
	for i := range 3 {
		id, _, err := s.AppendReplay(ctx, store.Message{Namespace: "/chat", Payload: []byte{'a'}, Created: at.Add(time.Duration(i) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if want := at.Add(time.Duration(i) * time.Hour); !id.Time().Equal(want) {
			t.Fatalf("entry %d: id time %v, want its stamp %v", i, id.Time(), want)
		}
	}
	if reads != 0 {
		t.Fatalf("the store read its clock %d times for stamped entries, want 0", reads)
	}
	// Each append trimmed the entries an hour older than its stamp.
	if st := s.Stats(); st.ReplayTrimmed != 2 {
		t.Fatalf("trimmed %d entries, want 2 (older than the window at the newest stamp)", st.ReplayTrimmed)
	}
}

// The memory store checks a replay entry's names only when they are new to
// the log (a namespace without a log, rooms unlike the entry before's), and
// still refuses every bad one, with RecordReplay as with AppendReplay.
func TestMemoryReplayChecksNewNames(t *testing.T) {
	s := store.NewMemory(store.Options{})
	defer s.Close()
	ctx := context.Background()
	record := func(m store.Message) error {
		return s.RecordReplay(m.Namespace, m.Payload, m.Rooms, m.Except, m.Created)
	}
	ok := store.Message{Namespace: "/a", Rooms: []string{"r"}, Except: []string{"x"}, Payload: []byte("p")}
	if err := record(ok); err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]store.Message{
		"namespace with NUL": {Namespace: "/a\x00", Payload: []byte("p")},
		"room with NUL":      {Namespace: "/a", Rooms: []string{"r", "s\x00"}, Payload: []byte("p")},
		"empty except":       {Namespace: "/a", Rooms: []string{"r"}, Except: []string{""}, Payload: []byte("p")},
		"long event":         {Namespace: "/a", Event: string(make([]byte, store.MaxNameLen+1)), Payload: []byte("p")},
	} {
		if m.Event == "" { // RecordReplay records no event name
			if err := record(m); !errors.Is(err, store.ErrInvalidName) {
				t.Errorf("RecordReplay, %s: %v, want ErrInvalidName", name, err)
			}
		}
		if _, _, err := s.AppendReplay(ctx, m); !errors.Is(err, store.ErrInvalidName) {
			t.Errorf("AppendReplay, %s: %v, want ErrInvalidName", name, err)
		}
	}
	big := store.Message{Namespace: "/a", Payload: make([]byte, store.MaxPayload+1)}
	if err := record(big); !errors.Is(err, store.ErrPayloadTooLarge) {
		t.Errorf("RecordReplay, payload too large: %v", err)
	}
	if err := record(ok); err != nil { // the same rooms again: shared, fine
		t.Fatal(err)
	}
	got, err := s.Replay(ctx, "/a", 0, 0, nil)
	if err != nil || len(got) != 2 || got[1].Offset != 2 || got[1].Rooms[0] != "r" || got[1].Except[0] != "x" {
		t.Fatalf("replay: %v %+v, want the 2 good entries", err, got)
	}
	if head, err := s.ReplayHead(ctx, "/a\x00"); err != nil || head != 0 {
		t.Fatalf("a refused namespace has a log: head %d, %v", head, err)
	}
}

// A memory log keeps each entry's offset, names and payload through the
// drops of a log at its bound, within a chunk of entries and across chunks
// (128 entries each).
func TestMemoryReplayAtBound(t *testing.T) {
	for _, c := range []struct{ max, total int }{{10, 45}, {128, 640}, {300, 1000}} {
		t.Run(fmt.Sprint(c.max, "/", c.total), func(t *testing.T) {
			s := store.NewMemory(store.Options{Limits: store.Limits{ReplayMax: c.max}})
			defer s.Close()
			ctx := context.Background()
			for i := 1; i <= c.total; i++ {
				m := store.Message{Namespace: "/a", Event: "e", Rooms: []string{"r"}, Payload: []byte(strconv.Itoa(i))}
				if i%3 == 0 {
					m.Rooms, m.Except = []string{"q", "r"}, []string{"x"}
				}
				if _, off, err := s.AppendReplay(ctx, m); err != nil || off != uint64(i) {
					t.Fatalf("append %d: offset %d, %v", i, off, err)
				}
			}
			first := c.total - c.max + 1 // the oldest entry kept
			if _, err := s.Replay(ctx, "/a", uint64(first-2), 0, nil); !errors.Is(err, store.ErrReplayGap) {
				t.Fatalf("replay after a dropped offset: %v, want ErrReplayGap", err)
			}
			all, err := s.Replay(ctx, "/a", uint64(first-1), 0, nil)
			if err != nil || len(all) != c.max || all[0].Offset != uint64(first) {
				t.Fatalf("replay after %d: %d entries, %v; want %d from %d", first-1, len(all), err, c.max, first)
			}
			got, err := s.Replay(ctx, "/a", uint64(c.total-7), 0, nil)
			if err != nil || len(got) != 7 {
				t.Fatalf("replay after %d: %d entries, %v; want the last 7", c.total-7, len(got), err)
			}
			for j, m := range all {
				i := first + j
				rooms, except := "[r]", "[]"
				if i%3 == 0 {
					rooms, except = "[q r]", "[x]"
				}
				if m.Offset != uint64(i) || string(m.Payload) != strconv.Itoa(i) || m.Namespace != "/a" || m.Event != "e" ||
					fmt.Sprint(m.Rooms) != rooms || fmt.Sprint(m.Except) != except || m.ID == (store.ID{}) {
					t.Errorf("entry %d: %+v", i, m)
				}
			}
			if got, err := s.Replay(ctx, "/a", uint64(c.total-2), 1, nil); err != nil || len(got) != 1 || got[0].Offset != uint64(c.total-1) {
				t.Fatalf("replay after %d, limit 1: %+v, %v", c.total-2, got, err)
			}
		})
	}
}

// Replay's messages are the caller's: appends that trim the entries they
// came from (and reuse their payload buffers for new entries) do not
// change them.
func TestMemoryReplayPayloadsOutliveTrim(t *testing.T) {
	s := store.NewMemory(store.Options{Limits: store.Limits{ReplayMax: 4}})
	defer s.Close()
	ctx := context.Background()
	payload := func(i int) []byte { return []byte(fmt.Sprintf("entry %04d", i)) }
	for i := range 4 {
		if err := s.RecordReplay("/a", payload(i), nil, nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Replay(ctx, "/a", 0, 0, nil)
	if err != nil || len(got) != 4 {
		t.Fatalf("replay: %d entries, %v", len(got), err)
	}
	for i := 4; i < 12; i++ { // trims every entry replayed, reusing their buffers
		if err := s.RecordReplay("/a", payload(i), nil, nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range got {
		if string(m.Payload) != string(payload(i)) {
			t.Fatalf("replayed entry %d reads %q after the log moved on, want %q", i, m.Payload, payload(i))
		}
	}
}
