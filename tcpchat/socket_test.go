package tcpchat

import "testing"

// TestSocketLoadOrStore: LoadOrStore stores a value only where the key has
// none, and returns the one that stays.
func TestSocketLoadOrStore(t *testing.T) {
	s := new(Socket)
	if v, loaded := s.LoadOrStore("k", 1); v != 1 || loaded {
		t.Fatalf("first LoadOrStore = %v, %v; want 1, false", v, loaded)
	}
	if v, loaded := s.LoadOrStore("k", 2); v != 1 || !loaded {
		t.Fatalf("second LoadOrStore = %v, %v; want 1, true", v, loaded)
	}
	s.Set("k", 3)
	if v, loaded := s.LoadOrStore("k", 4); v != 3 || !loaded {
		t.Fatalf("LoadOrStore after Set = %v, %v; want 3, true", v, loaded)
	}
	if v := s.Get("k"); v != 3 {
		t.Fatalf("Get = %v, want 3", v)
	}
}
