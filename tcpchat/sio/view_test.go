package sio

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/socketio/engineio"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// The chat server's reading loop takes the transport's packets parsed
// (tcpchat's viewReader, which is unexported: this is its method set).
var _ interface {
	ReadView(*wire.View) ([]byte, error)
} = (*transport)(nil)

// viewSeeds are client messages whose translations viewOf takes or leaves.
var viewSeeds = []string{
	`2/chat,["ev",1]`,
	`2/chat,7["ev","x",{"n":1}]`,
	`2["ev"]`,
	`2/chat,[""]`,
	`2/chat,[ "ev" , 1 ] `,
	`2/chat,["e\u0076",[1,2]]`,
	`2/chat,[12,true]`,
	`2/chat,4294967295["ev",null]`,
	`2/chat,["` + strings.Repeat("n", 255) + `",1]`,
	`2/chat,["` + strings.Repeat("n", 256) + `",1]`,
	`2/` + strings.Repeat("s", 254) + `,["ev",1]`,
	`2/chat,["ev",1]]`,
	`2/chat,["ev",1}`,
	`3/chat,5[1]`,
	`0/chat,{"token":"t"}`,
	`1/chat,`,
}

// checkViews runs msg through the reader's translation and checks that
// every packet viewOf takes gives the view that wire.Parse of its
// encoding gives.
func checkViews(t *testing.T, msg string) (taken int) {
	tr := &transport{handshaken: true, rs: new(readScratch)}
	if err := tr.receive(engineio.Packet{Type: engineio.Message, Data: []byte(msg)}); err != nil {
		return 0
	}
	for i := range tr.rs.pending {
		p := &tr.rs.pending[i]
		var got, want wire.View
		if !viewOf(p, &got) {
			continue
		}
		taken++
		if err := wire.Parse(p.AppendTo(nil), &want); err != nil {
			t.Fatalf("%q: viewOf took %+v, which wire.Parse refuses: %v", msg, got, err)
		}
		if got.Type != want.Type || got.HasAck != want.HasAck || got.AckID != want.AckID ||
			!bytes.Equal(got.Namespace, want.Namespace) || !bytes.Equal(got.Event, want.Event) || !bytes.Equal(got.Args, want.Args) ||
			cap(got.Args) != len(got.Args) {
			t.Fatalf("%q: viewOf %+v, wire.Parse %+v", msg, got, want)
		}
		got.Namespace, got.Event, got.Args = want.Namespace, want.Event, want.Args
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: viewOf %+v, wire.Parse %+v", msg, got, want)
		}
	}
	return taken
}

func TestViewOfAgreesWithParse(t *testing.T) {
	taken := 0
	for _, m := range viewSeeds {
		taken += checkViews(t, m)
	}
	if taken < 8 {
		t.Fatalf("viewOf took %d of the seeds' packets", taken)
	}
	var v wire.View
	if !viewOf(&pong, &v) || !reflect.DeepEqual(v, wire.View{Type: wire.TypePong}) {
		t.Fatalf("pong: %+v", v)
	}
}

func FuzzViewOf(f *testing.F) {
	for _, m := range viewSeeds {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, msg string) { checkViews(t, msg) })
}
