package tcpchat

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
)

// countingEncoder is a SharedEncoder that upper-cases payloads starting
// with 'e' and declines the others, counting its calls.
type countingEncoder struct {
	Transport
	calls atomic.Int32
}

func (e *countingEncoder) AppendShared(dst, payload []byte) ([]byte, bool) {
	e.calls.Add(1)
	if len(payload) == 0 || payload[0] != 'e' {
		return dst, false
	}
	return append(dst, bytes.ToUpper(payload)...), true
}

// TestSharedForOncePerMessage checks that the writers of a message's
// recipients have its shared translation made once, all get it (or the
// payload when the encoder declines), and a pooled message starts afresh.
func TestSharedForOncePerMessage(t *testing.T) {
	enc := new(countingEncoder)
	if got := NewMessage([]byte("event")).sharedFor(nil); string(got) != "event" {
		t.Fatalf("without an encoder: %q, want the payload", got)
	}
	for _, tc := range []struct{ payload, want string }{{"event", "EVENT"}, {"ack", "ack"}} {
		enc.calls.Store(0)
		m := NewMessage([]byte(tc.payload))
		var wg sync.WaitGroup
		got := make([]string, 8)
		for i := range got {
			wg.Go(func() {
				// A writer that finds another making it gets the payload;
				// it asks again until the translation is made or declined.
				for {
					b := m.sharedFor(enc)
					st := m.sharedState.Load()
					if st == sharedBusy || st == sharedDone && string(b) == tc.payload {
						continue
					}
					got[i] = string(b)
					return
				}
			})
		}
		wg.Wait()
		for i, g := range got {
			if g != tc.want {
				t.Errorf("%s: writer %d got %q, want %q", tc.payload, i, g, tc.want)
			}
		}
		if n := enc.calls.Load(); n != 1 {
			t.Errorf("%s: AppendShared called %d times, want 1", tc.payload, n)
		}
		m.Release()
	}
	m := newMessage()
	if m.sharedState.Load() != sharedNone || len(m.shared) != 0 {
		t.Fatalf("a pooled message keeps its shared translation: state %d, %q", m.sharedState.Load(), m.shared)
	}
	m.Release()
}
