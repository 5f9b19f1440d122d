package source

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const dir = "../../testdata/captures"

func readAll(t *testing.T, s Source) (n int, err error) {
	t.Helper()
	for {
		_, _, err := s.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// TestWriteReadRoundTrip writes every committed capture back out as pcap
// and pcapng and reads it again: same packets, same bytes, same times.
func TestWriteReadRoundTrip(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	if len(files) == 0 {
		t.Fatal("no captures in testdata")
	}
	for _, f := range files {
		for _, ext := range []string{".pcap", ".pcapng"} {
			t.Run(filepath.Base(f)+ext, func(t *testing.T) {
				src, err := OpenFile(f)
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				out := filepath.Join(t.TempDir(), "out"+ext)
				w, err := Create(out, src.Snaplen())
				if err != nil {
					t.Fatal(err)
				}
				type rec struct {
					data []byte
					info Info
					lt   layers.LinkType
				}
				var want []rec
				for {
					data, info, err := src.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					lt := src.LinkType(info.IfIndex)
					want = append(want, rec{append([]byte(nil), data...), info, lt})
					if err := w.WritePacket(data, info, lt); err != nil {
						if ext == ".pcap" && lt != want[0].lt {
							return // a pcap holds one link type: refused, as it should
						}
						t.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				back, err := OpenFile(out)
				if err != nil {
					t.Fatal(err)
				}
				defer back.Close()
				for i, r := range want {
					data, info, err := back.Next()
					if err != nil {
						t.Fatalf("packet %d: %v", i+1, err)
					}
					if !bytes.Equal(data, r.data) || !info.Timestamp.Equal(r.info.Timestamp) || info.WireLen != r.info.WireLen || back.LinkType(info.IfIndex) != r.lt {
						t.Fatalf("packet %d differs after the round trip", i+1)
					}
				}
				if _, _, err := back.Next(); err != io.EOF {
					t.Fatalf("extra data after %d packets: %v", len(want), err)
				}
			})
		}
	}
}

func TestReaderErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(dir, "chat-tcp.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		want error
		off  int64
	}{
		{"empty", nil, ErrNotCapture, 0},
		{"garbage", []byte("not a capture at all"), ErrNotCapture, 0},
		{"header cut", good[:23], ErrTruncated, 23},
		{"record cut", good[:len(good)-1], ErrTruncated, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewReader(bytes.NewReader(c.data), "x.pcap")
			if err == nil {
				_, err = readAll(t, s)
			}
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, c.want) || fe.File != "x.pcap" {
				t.Fatalf("error %v, want a *FileError for x.pcap wrapping %v", err, c.want)
			}
			if c.off >= 0 && fe.Offset != c.off {
				t.Fatalf("offset %d, want %d", fe.Offset, c.off)
			}
		})
	}
}

// TestNgTimestampResolution: if_tsresol in powers of 10 and of 2.
func TestNgTimestampResolution(t *testing.T) {
	n := &ngReader{}
	for _, c := range []struct {
		mul, div uint64
		ts       uint64
		want     time.Time
	}{
		{1000, 1, 1_700_000_000_123_456, time.Unix(1_700_000_000, 123_456_000)},
		{1, 1, 1_700_000_000_123_456_789, time.Unix(1_700_000_000, 123_456_789)},
		{1e9, 1 << 10, 1024*5 + 512, time.Unix(5, 500_000_000)},
	} {
		got := n.ts(&ngInterfaceInfo{mul: c.mul, div: c.div}, c.ts)
		if !got.Equal(c.want) {
			t.Errorf("ts %d *%d/%d = %v, want %v", c.ts, c.mul, c.div, got, c.want)
		}
	}
}

// FuzzReader: any bytes give packets or an error, never a panic or a hang.
func FuzzReader(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 2048 {
			b = b[:2048]
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := NewReader(bytes.NewReader(b), "fuzz")
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error without file and offset: %v", err)
			}
			return
		}
		for i := 0; i < 10000; i++ {
			data, info, err := s.Next()
			if err != nil {
				return
			}
			if len(data) != info.CapLen || info.WireLen < info.CapLen {
				t.Fatalf("inconsistent lengths: data %d, caplen %d, wire %d", len(data), info.CapLen, info.WireLen)
			}
		}
	})
}

// TestPcapRecordSizes: records smaller and larger than the reader's
// buffer (read in place or copied out) come back byte for byte, each valid
// until the next call.
func TestPcapRecordSizes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sizes.pcap")
	w, err := Create(out, MaxSnaplen)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{1, 60, 1<<16 - 17, 1<<16 - 16, 1 << 16, 1<<16 + 1, 200000, 14, 1 << 16, MaxSnaplen}
	var want [][]byte
	for i, n := range sizes {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(i + j*7)
		}
		want = append(want, b)
		if err := w.WritePacket(b, Info{Timestamp: time.Unix(int64(i), 0), CapLen: n, WireLen: n}, layers.LinkTypeEthernet); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	src, err := OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i, b := range want {
		data, info, err := src.Next()
		if err != nil {
			t.Fatalf("record %d (%d bytes): %v", i, len(b), err)
		}
		if !bytes.Equal(data, b) || info.CapLen != len(b) || info.Timestamp.Unix() != int64(i) {
			t.Fatalf("record %d (%d bytes) differs: %d bytes, CapLen %d", i, len(b), len(data), info.CapLen)
		}
	}
	if _, _, err := src.Next(); err != io.EOF {
		t.Fatalf("after the last record: %v", err)
	}
}

// TestPcapBigEndian: a pcap written on a big-endian machine (every header
// field byte-swapped) reads as the same packets.
func TestPcapBigEndian(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(dir, "chat-tcp.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	swap := func(b []byte) {
		for i := 0; i+4 <= len(b); i += 4 {
			binary.BigEndian.PutUint32(b[i:], binary.LittleEndian.Uint32(b[i:]))
		}
	}
	be := append([]byte(nil), src...)
	swap(be[:4])
	binary.BigEndian.PutUint16(be[4:], binary.LittleEndian.Uint16(src[4:]))
	binary.BigEndian.PutUint16(be[6:], binary.LittleEndian.Uint16(src[6:]))
	swap(be[8:24])
	for i := 24; i+16 <= len(be); {
		n := int(binary.LittleEndian.Uint32(src[i+8:]))
		swap(be[i : i+16])
		i += 16 + n
	}
	a, err := NewReader(bytes.NewReader(src), "le")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewReader(bytes.NewReader(be), "be")
	if err != nil {
		t.Fatal(err)
	}
	if a.Snaplen() != b.Snaplen() || a.LinkType(0) != b.LinkType(0) {
		t.Fatalf("headers differ: snaplen %d/%d, link %v/%v", a.Snaplen(), b.Snaplen(), a.LinkType(0), b.LinkType(0))
	}
	for n := 0; ; n++ {
		da, ia, ea := a.Next()
		if ea == io.EOF {
			if _, _, eb := b.Next(); eb != io.EOF {
				t.Fatalf("big-endian file goes on after %d packets: %v", n, eb)
			}
			if n == 0 {
				t.Fatal("no packets")
			}
			return
		}
		db, ib, eb := b.Next()
		if ea != nil || eb != nil {
			t.Fatalf("packet %d: %v / %v", n+1, ea, eb)
		}
		if !bytes.Equal(da, db) || !ia.Timestamp.Equal(ib.Timestamp) || ia.CapLen != ib.CapLen || ia.WireLen != ib.WireLen {
			t.Fatalf("packet %d differs", n+1)
		}
	}
}
