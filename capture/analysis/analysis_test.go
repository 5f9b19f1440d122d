package analysis

import (
	"io"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/capture/decode"
	"github.com/wiredojo/wiredojo/capture/source"
)

// feed decodes a committed capture into the stats and the follower.
func feed(t *testing.T, name string, s *Stats, f *Follow) {
	t.Helper()
	src, err := source.OpenFile("../../testdata/captures/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	d := decode.New(decode.Options{OnStream: f.OnStream})
	var p capture.Packet
	for n := 1; ; n++ {
		data, info, err := src.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		d.Decode(data, src.LinkType(info.IfIndex), &p)
		p.No, p.WireLen = n, info.WireLen
		s.Add(&p)
		f.Add(&p)
	}
}

func TestStatsAndFollow(t *testing.T) {
	s, f := NewStats(), NewFollow(0)
	feed(t, "chat-tcp.pcap", s, f)
	var out strings.Builder
	if err := s.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"28 packets", "wiredojo-event", "TCP   0      127.0.0.1:43288 <-> 127.0.0.1:7070"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stats lack %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := f.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"=== TCP stream 0", "event /chat join", "disconnect /chat"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("follow lacks %q:\n%s", want, out.String())
		}
	}
	if err := NewFollow(7).Write(&out); err == nil {
		t.Error("following a stream that is not there is not an error")
	}
}

// TestFollowBytes: a stream without application messages is shown as its
// bytes, each direction's turn in order.
func TestFollowBytes(t *testing.T) {
	f := NewFollow(3)
	f.OnStream(3, 0, []byte("hello\x00"))
	f.OnStream(3, 0, []byte(" again\n"))
	f.OnStream(2, 0, []byte("other stream"))
	f.OnStream(3, 1, []byte("reply"))
	f.seen = true
	var out strings.Builder
	if err := f.Write(&out); err != nil {
		t.Fatal(err)
	}
	want := "> " + f.ends[0].String() + " 13 bytes\nhello. again\n< " + f.ends[1].String() + " 5 bytes\nreply\n"
	if !strings.Contains(out.String(), want) {
		t.Fatalf("got:\n%s\nwant it to hold:\n%s", out.String(), want)
	}
}
