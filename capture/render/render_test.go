package render

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fatih/color"
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

// TestTimeFormats: the JSON timestamp and the one-line clock, computed from
// the Unix time without the calendar, equal time.Time's formatting, leap
// days and centuries included.
func TestTimeFormats(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	secs := []int64{0, 1, 86399, 86400, 951782400, 951868800, 4107542400, 4107628800, 2147483647, 1780000000, -1, -86401, 253402300799, 253402300800, 400000000000}
	for range 2000 {
		secs = append(secs, rng.Int64N(253402300800))
	}
	for i, sec := range secs {
		ns := int64(rng.IntN(1e6)) * 1000
		if i%2 == 1 {
			ns += int64(rng.IntN(999) + 1)
		}
		ts := time.Unix(sec, ns).In(time.FixedZone("x", 3600*5))
		layout := "2006-01-02T15:04:05.000000Z"
		if ns%1000 != 0 {
			layout = "2006-01-02T15:04:05.000000000Z"
		}
		if got, want := string(appendRFC3339(nil, ts)), ts.UTC().Format(layout); got != want {
			t.Fatalf("appendRFC3339(%d.%09d) = %s, want %s", sec, ns, got, want)
		}
		if got, want := string(appendClock(nil, &capture.Packet{Timestamp: ts})), ts.UTC().Format("15:04:05.000000"); got != want {
			t.Fatalf("appendClock(%d.%09d) = %s, want %s", sec, ns, got, want)
		}
	}
}

// TestBulkCopiesMatchByteByByte: appendString, appendArgs and appendQuoted
// copy runs of bytes at once; they write what the byte-by-byte definition
// writes on every input.
func TestBulkCopiesMatchByteByByte(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	inputs := []string{"", "plain", `q " b \ end`, "\x00\x1f\x7f\x80", "ünïcode ✓ \ufffd", "bad \xff\xfe\xe2\x9c", "\xf0\x9f\x98\x80 emoji"}
	alphabet := []byte("ab \"\\\n\r\t\x00\x1f\x7f\x7e\x80\xbf\xc3\xa9\xe2\x9c\x93\xff")
	for range 3000 {
		b := make([]byte, rng.IntN(100))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, string(b))
	}
	for _, s := range inputs {
		if got, want := string(appendString(nil, s)), jsonStringByteByByte(s); got != want {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
		if got, want := string(appendString(nil, []byte(s))), jsonStringByteByByte(s); got != want {
			t.Fatalf("appendString([]byte(%q)) = %s, want %s", s, got, want)
		}
		for _, max := range []int{0, 3, 60, 80} {
			if got, want := string(appendArgs([]byte("x"), []byte(s), max)), "x"+cleanByteByByte(s, max, func(c byte) bool { return c < 0x20 || c == 0x7f }); got != want {
				t.Fatalf("appendArgs(%q, %d) = %q, want %q", s, max, got, want)
			}
			if got, want := string(appendQuoted(nil, []byte(s), max)), `"`+cleanByteByByte(s, max, func(c byte) bool { return c < 0x20 || c > 0x7e })+`"`; got != want {
				t.Fatalf("appendQuoted(%q, %d) = %q, want %q", s, max, got, want)
			}
		}
	}
}

func jsonStringByteByByte(s string) string {
	b := []byte{'"'}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return string(append(b, '"'))
}

func cleanByteByByte(s string, max int, dot func(byte) bool) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if i == max {
			return string(append(b, "..."...))
		}
		c := s[i]
		if dot(c) {
			c = '.'
		}
		b = append(b, c)
	}
	return string(b)
}

// TestHexLegendOnce: the hex dumps carry no legend; AppendHexLegend gives
// it once with colour, never without (its squares would name no colour).
func TestHexLegendOnce(t *testing.T) {
	pkts := packets(t, "veth-arp-frag.pcap")
	noColor := color.NoColor
	defer func() { color.NoColor = noColor }()
	for _, off := range []bool{true, false} {
		color.NoColor = off
		pal := NewPalette()
		var out []byte
		for _, p := range pkts {
			out = pal.AppendHexLegend(out)
			out = pal.AppendLine(out, p)
			out = pal.AppendHex(out, p)
		}
		want := 1
		if off {
			want = 0
		}
		if n := strings.Count(string(out), "■"); n != want*4 {
			t.Fatalf("colour off %v: %d squares in %d packets' dumps, want %d (one legend of 4 layers)", off, n, len(pkts), want*4)
		}
		if !off && !strings.HasPrefix(string(out), "  "+string(pal.layer[capture.TCPIPLink].on)+"■ link") {
			t.Fatalf("the legend does not head the output:\n%q", out[:min(len(out), 200)])
		}
	}
}
