package render

import (
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/capture/decode"
	"github.com/wiredojo/wiredojo/capture/source"
)

// packets decodes a committed capture and keeps copies of its packets.
func packets(t testing.TB, name string) []*capture.Packet {
	t.Helper()
	src, err := source.OpenFile(filepath.Join("../../testdata/captures", name))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	d := decode.New(decode.Options{})
	var out []*capture.Packet
	var p capture.Packet
	for n := 1; ; n++ {
		data, info, err := src.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		d.Decode(data, src.LinkType(info.IfIndex), &p)
		p.No, p.Timestamp, p.WireLen, p.CapLen = n, info.Timestamp, info.WireLen, info.CapLen
		out = append(out, p.Clone())
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"plain", `quote " and \ backslash`, "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f", "ünïcode ✓", "bad \xff\xfe utf-8"} {
		b := appendString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want && !strings.Contains(s, "\xff") {
			t.Fatalf("%q came back as %q", s, back)
		}
	}
}

// TestJSONLines: every packet of every capture gives one valid JSON line
// whose layers all carry osi, tcpip and proto.
func TestJSONLines(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/captures/*.pcap*")
	for _, f := range files {
		for _, p := range packets(t, filepath.Base(f)) {
			line := AppendJSON(nil, p)
			if len(line) == 0 || line[len(line)-1] != '\n' || strings.Count(string(line), "\n") != 1 {
				t.Fatalf("%s #%d: not one line: %q", f, p.No, line)
			}
			var v struct {
				Layers []map[string]any `json:"layers"`
			}
			if err := json.Unmarshal(line, &v); err != nil {
				t.Fatalf("%s #%d: %v\n%s", f, p.No, err, line)
			}
			for _, l := range v.Layers {
				if l["osi"] == nil || l["tcpip"] == nil || l["proto"] == nil {
					t.Fatalf("%s #%d: layer without placement: %v", f, p.No, l)
				}
			}
		}
	}
}

// TestNoAllocs: the one-line and JSON renderers allocate nothing with a
// buffer that has room.
func TestNoAllocs(t *testing.T) {
	pkts := packets(t, "chat-ws.pcap")
	pal := NewPalette()
	buf := make([]byte, 0, 64<<10)
	for _, c := range []struct {
		name string
		f    func(*capture.Packet)
	}{
		{"line", func(p *capture.Packet) { buf = pal.AppendLine(buf[:0], p) }},
		{"json", func(p *capture.Packet) { buf = AppendJSON(buf[:0], p) }},
	} {
		i := 0
		if a := testing.AllocsPerRun(200, func() { c.f(pkts[i%len(pkts)]); i++ }); a != 0 {
			t.Errorf("%s: %.1f allocations per packet", c.name, a)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	pkts := packets(b, "chat-ws.pcap")
	pal := NewPalette()
	buf := make([]byte, 0, 64<<10)
	for _, c := range []struct {
		name string
		f    func(*capture.Packet)
	}{
		{"line", func(p *capture.Packet) { buf = pal.AppendLine(buf[:0], p) }},
		{"json", func(p *capture.Packet) { buf = AppendJSON(buf[:0], p) }},
		{"detail", func(p *capture.Packet) { buf = pal.AppendDetail(buf[:0], p, ModelOSI) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				c.f(pkts[i%len(pkts)])
			}
		})
	}
}
