package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/capture/source"
)

func open(t *testing.T, data []byte) source.Source {
	t.Helper()
	s, err := source.NewReader(bytes.NewReader(data), "test.pcap")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRun(t *testing.T) {
	data, err := os.ReadFile("../../testdata/captures/chat-tcp.pcap")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	t.Run("all", func(t *testing.T) {
		var nos []int
		n, err := Run(ctx, open(t, data), Options{Handle: func(p *capture.Packet) error { nos = append(nos, p.No); return nil }})
		if err != nil || n != 28 || len(nos) != 28 || nos[27] != 28 {
			t.Fatalf("n %d err %v, handled %v", n, err, nos)
		}
	})
	t.Run("filter and count", func(t *testing.T) {
		var nos []int
		odd := func(pkt []byte, _ int, lt layers.LinkType) (bool, error) { return len(pkt)%2 == 1, nil }
		n, err := Run(ctx, open(t, data), Options{Filter: odd, Count: 2, Handle: func(p *capture.Packet) error {
			if len(p.Data)%2 != 1 {
				t.Errorf("packet %d kept by a filter that refuses it", p.No)
			}
			nos = append(nos, p.No)
			return nil
		}})
		if err != nil || n != 2 || len(nos) != 2 {
			t.Fatalf("n %d err %v handled %v", n, err, nos)
		}
	})
	t.Run("error after packets", func(t *testing.T) {
		var handled int
		n, err := Run(ctx, open(t, data[:len(data)-10]), Options{Handle: func(*capture.Packet) error { handled++; return nil }})
		var fe *source.FileError
		if !errors.As(err, &fe) || handled != 27 || n != 27 {
			t.Fatalf("n %d handled %d err %v: want 27 packets, then the file error", n, handled, err)
		}
	})
	t.Run("handler error stops", func(t *testing.T) {
		stop := errors.New("stop")
		n, err := Run(ctx, open(t, data), Options{Handle: func(p *capture.Packet) error {
			if p.No == 3 {
				return stop
			}
			return nil
		}})
		if !errors.Is(err, stop) || n != 3 {
			t.Fatalf("n %d err %v", n, err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		n, err := Run(c, open(t, data), Options{})
		if err != nil || n != 0 {
			t.Fatalf("n %d err %v, want a clean stop", n, err)
		}
	})
	t.Run("write", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "copy.pcapng")
		w, err := source.Create(out, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Run(ctx, open(t, data), Options{Write: w, NoDecode: true}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		back, err := source.OpenFile(out)
		if err != nil {
			t.Fatal(err)
		}
		defer back.Close()
		n, err := Run(ctx, back, Options{})
		if err != nil || n != 28 {
			t.Fatalf("read back %d packets, %v", n, err)
		}
	})
}
