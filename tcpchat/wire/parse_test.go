package wire

import (
	"bytes"
	"reflect"
	"testing"
)

// checkParseEvent checks that Parse's fast path for events gives what the
// general one does, or leaves the packet to it.
func checkParseEvent(t *testing.T, b []byte) {
	var fast, general View
	err := parse(b, &general)
	if !parseEvent(b, &fast) {
		return
	}
	if err != nil {
		t.Fatalf("% x: the fast path took what parse refuses: %v", b, err)
	}
	if !reflect.DeepEqual(fast, general) || cap(fast.Args) != len(fast.Args) || cap(fast.Event) != len(fast.Event) || cap(fast.Namespace) != len(fast.Namespace) {
		t.Fatalf("% x: fast path %+v, parse %+v", b, fast, general)
	}
}

var parseEventSeeds = [][]byte{
	(&Packet{Type: TypeEvent, Namespace: "/chat", Event: "ev", Args: []byte(`["x",1]`)}).AppendTo(nil),
	(&Packet{Type: TypeEvent, Namespace: "/", Event: "ev", HasAck: true, AckID: 7, Args: []byte(`[]`)}).AppendTo(nil),
	(&Packet{Type: TypeEvent, Namespace: "", Event: "", Args: nil}).AppendTo(nil),
	(&Packet{Type: TypeEvent, Namespace: "/a", Event: "e", HasAck: true}).AppendTo(nil),
	{byte(TypeEvent), 0, 1, '/', 2, 'e'},
	{byte(TypeEvent), FlagAck, 0, 0, 1, 2},
	{byte(TypeEvent), 0, 0, 0, '['},
	{byte(TypeEvent), 0, 0, 0, ']'},
	{byte(TypeEvent), 4, 0, 0},
}

func TestParseEventAgrees(t *testing.T) {
	taken := 0
	for _, b := range parseEventSeeds {
		checkParseEvent(t, b)
		var v View
		if parseEvent(b, &v) {
			taken++
		}
	}
	if taken < 4 {
		t.Fatalf("the fast path took %d of the seeds", taken)
	}
	var v View
	b := bytes.Clone(parseEventSeeds[0])
	if testing.AllocsPerRun(100, func() { Parse(b, &v) }) != 0 {
		t.Fatal("Parse of an event allocates")
	}
}

func FuzzParseEvent(f *testing.F) {
	for _, b := range parseEventSeeds {
		f.Add(b)
	}
	f.Fuzz(checkParseEvent)
}
