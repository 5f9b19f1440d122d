package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestMessageRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	g := NewIDGen(7)
	for i := range 300 {
		m := Message{
			ID: g.New(time.Unix(int64(i), 0)), Offset: rng.Uint64(), Namespace: "/ns",
			Event: "ev", Created: time.Unix(0, rng.Int64()), Payload: make([]byte, rng.IntN(300)),
		}
		for range rng.IntN(4) {
			m.Rooms = append(m.Rooms, "room")
		}
		for range rng.IntN(3) {
			m.Except = append(m.Except, "x")
		}
		for j := range m.Payload {
			m.Payload[j] = byte(rng.Uint32())
		}
		b := AppendMessage(nil, &m)
		var got Message
		if err := DecodeMessage(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.ID != m.ID || got.Offset != m.Offset || !got.Created.Equal(m.Created) || got.Namespace != m.Namespace ||
			got.Event != m.Event || !slices.Equal(got.Rooms, m.Rooms) || !slices.Equal(got.Except, m.Except) || !bytes.Equal(got.Payload, m.Payload) {
			t.Fatalf("round trip %d: got %+v want %+v", i, got, m)
		}
		// every truncation is an error, never a panic
		for n := 0; n < len(b) && i < 30; n++ {
			if err := DecodeMessage(b[:n], &got); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("truncated to %d of %d: %v", n, len(b), err)
			}
		}
	}
}

func TestSessionRoundTrip(t *testing.T) {
	s := Session{ID: "s", Client: "c", Namespace: "/n", Rooms: []string{"a", "b"}, Offset: 9, Expires: time.Unix(5, 6)}
	b := AppendSession(nil, &s)
	var got Session
	if err := DecodeSession(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != s.ID || got.Client != s.Client || got.Namespace != s.Namespace || !slices.Equal(got.Rooms, s.Rooms) || got.Offset != 9 || !got.Expires.Equal(s.Expires) {
		t.Fatalf("got %+v", got)
	}
	if err := DecodeSession(append(b, 0), &got); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte: %v", err)
	}
	if err := DecodeMessage(b, &Message{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("session decoded as message: %v", err)
	}
}

func TestID(t *testing.T) {
	g := NewIDGen(0)
	now := time.UnixMilli(1764072000123)
	a, b := g.New(now), g.New(now)
	if a == b || a.IsZero() {
		t.Fatalf("ids %v %v", a, b)
	}
	if !a.Time().Equal(now) {
		t.Fatalf("time %v, want %v", a.Time(), now)
	}
	p, err := ParseID(a.String())
	if err != nil || p != a {
		t.Fatalf("ParseID(%s) = %v, %v", a, p, err)
	}
	for _, bad := range []string{"", "xyz", a.String()[:31], a.String()[:31] + "g"} {
		if _, err := ParseID(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseID(%q) = %v", bad, err)
		}
	}
	if txt, _ := a.AppendText(nil); string(txt) != a.String() {
		t.Fatalf("AppendText %q", txt)
	}
}

func TestAppendAllocs(t *testing.T) {
	m := Message{Namespace: "/chat", Event: "e", Payload: make([]byte, 100)}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = AppendMessage(buf[:0], &m) }); n != 0 {
		t.Fatalf("AppendMessage allocates %v times per run", n)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	m := Message{ID: ID{1}, Offset: 3, Namespace: "/chat", Event: "e", Rooms: []string{"r"}, Payload: []byte("p")}
	f.Add(AppendMessage(nil, &m))
	f.Add([]byte{1})
	f.Add([]byte{2, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := DecodeMessage(b, &m); err != nil {
			return
		}
		// what decodes re-encodes to the same bytes (one canonical form
		// up to varint padding, which Uvarint rejects beyond 10 bytes)
		var again Message
		if err := DecodeMessage(AppendMessage(nil, &m), &again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		var s Session
		_ = DecodeSession(b, &s)
	})
}

func FuzzDecodeSession(f *testing.F) {
	s := Session{ID: "s", Client: "c", Namespace: "/n", Rooms: []string{"a"}, Offset: 2}
	f.Add(AppendSession(nil, &s))
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Session
		if err := DecodeSession(b, &s); err != nil {
			return
		}
		var again Session
		if err := DecodeSession(AppendSession(nil, &s), &again); err != nil {
			t.Fatalf("re-encoded session does not decode: %v", err)
		}
	})
}
