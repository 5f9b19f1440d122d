package tcpchat

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRoomSet adds and removes members in a random order across the size
// from which a roomSet keeps an index, against a map.
func TestRoomSet(t *testing.T) {
	socks := make([]*Socket, 3*roomIndexFrom)
	for i := range socks {
		socks[i] = &Socket{id: string(rune('A' + i))}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var r roomSet
	want := map[*Socket]bool{}
	for step := range 5000 {
		s := socks[rng.IntN(len(socks))]
		if rng.IntN(2) == 0 {
			if got := r.add(s); got == want[s] {
				t.Fatalf("step %d: add(%s) = %v with the member %v", step, s.id, got, want[s])
			}
			want[s] = true
		} else {
			if got := r.del(s); got != want[s] {
				t.Fatalf("step %d: del(%s) = %v with the member %v", step, s.id, got, want[s])
			}
			delete(want, s)
		}
		if len(r.members()) != len(want) {
			t.Fatalf("step %d: %d members, want %d", step, len(r.members()), len(want))
		}
		for i, m := range r.members() {
			if !want[m] || r.find(m) != i || slices.Index(r.members(), m) != i {
				t.Fatalf("step %d: member %d (%s) is not one, or not found in its place", step, i, m.id)
			}
		}
	}
	var none *roomSet
	if none.members() != nil {
		t.Fatal("a nil roomSet has members")
	}
}
