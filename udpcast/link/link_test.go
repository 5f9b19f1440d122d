package link_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/udpcast/impair"
	"github.com/wiredojo/wiredojo/udpcast/link"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// uniqueName returns a link name no other test (or run) uses.
func uniqueName(t *testing.T) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

// upLink brings a link up for the test and removes it when the test ends,
// whatever happens.
func upLink(t *testing.T, cfg link.Config) *link.Link {
	t.Helper()
	testdep.RequireRoot(t)
	testdep.Require(t, "ip", "apt-get install iproute2")
	cfg.Name = uniqueName(t)
	t.Cleanup(func() {
		if link.Exists(cfg.Name) {
			_ = link.Remove(cfg.Name)
		}
	})
	l, err := link.Up(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if link.Exists(cfg.Name) {
			t.Errorf("namespaces of %s still exist after Close", cfg.Name)
		}
	})
	return l
}

func TestLinkCarriesTCPAndUDP(t *testing.T) {
	l := upLink(t, link.Config{})
	info := l.Info()
	if info.Congestion != "cubic" && info.CongestionNote == "" {
		t.Errorf("congestion control %q, want cubic or a note saying why not", info.Congestion)
	}
	var ln net.Listener
	var uc net.PacketConn
	if err := l.Do(link.SideB, func() error {
		var err error
		if ln, err = net.Listen("tcp4", l.AddrB().String()+":0"); err != nil {
			return err
		}
		uc, err = net.ListenPacket("udp4", l.AddrB().String()+":0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	defer uc.Close()
	payload := strings.Repeat("wiredojo ", 50000) // several hundred segments
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got <- string(b)
	}()
	var c net.Conn
	var u net.Conn
	if err := l.Do(link.SideA, func() error {
		var err error
		d := net.Dialer{Timeout: 5 * time.Second}
		if c, err = d.Dial("tcp4", ln.Addr().String()); err != nil {
			return err
		}
		u, err = net.Dial("udp4", uc.LocalAddr().String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, payload); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case s := <-got:
		if s != payload {
			t.Fatalf("TCP through the link: got %d bytes, want %d", len(s), len(payload))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("TCP transfer through the link did not finish")
	}
	defer u.Close()
	if _, err := u.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	_ = uc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	n, from, err := uc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("UDP through the link: %q %v", buf[:n], err)
	}
	if !strings.HasPrefix(from.String(), l.AddrA().String()+":") {
		t.Errorf("UDP came from %v, want side A %v", from, l.AddrA())
	}
	ab, ba := l.Counters()
	if ab.Impair.Out == 0 || ba.Impair.Out == 0 {
		t.Errorf("relay counters %+v %+v", ab, ba)
	}
}

func TestLinkImpairsAndReliableTCPSurvives(t *testing.T) {
	l := upLink(t, link.Config{AtoB: impair.Config{Loss: 0.05, Delay: 5 * time.Millisecond, Jitter: time.Millisecond, Seed: 1}})
	var ln net.Listener
	if err := l.Do(link.SideB, func() error {
		var err error
		ln, err = net.Listen("tcp4", l.AddrB().String()+":0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	payload := strings.Repeat("x", 300000)
	got := make(chan int, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got <- len(b)
	}()
	var c net.Conn
	if err := l.Do(link.SideA, func() error {
		var err error
		c, err = net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, payload); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case n := <-got:
		if n != len(payload) {
			t.Fatalf("got %d bytes through a lossy link, want %d", n, len(payload))
		}
	case <-time.After(60 * time.Second):
		t.Fatal("transfer did not finish")
	}
	ab, _ := l.Counters()
	if ab.Impair.Lost == 0 || ab.Impair.Delayed == 0 {
		t.Fatalf("no impairment applied: %+v", ab)
	}
}

func TestLinkNamesAndErrors(t *testing.T) {
	if _, err := link.Up(context.Background(), link.Config{Name: "no spaces"}); !errors.Is(err, link.ErrName) {
		t.Fatalf("bad name: %v", err)
	}
	if os.Geteuid() != 0 {
		if _, err := link.Up(context.Background(), link.Config{}); !errors.Is(err, link.ErrPrivilege) {
			t.Fatalf("without root: %v", err)
		}
		return
	}
	l := upLink(t, link.Config{})
	if _, err := link.Up(context.Background(), link.Config{Name: l.Info().Name}); !errors.Is(err, link.ErrExists) {
		t.Fatalf("second Up with the same name: %v", err)
	}
	out, err := exec.Command("ip", "netns", "exec", l.Namespace(link.SideA), "ip", "-4", "addr", "show").CombinedOutput()
	if err != nil || !strings.Contains(string(out), l.AddrA().String()) {
		t.Fatalf("side A has no %v: %s %v", l.AddrA(), out, err)
	}
	if err := link.Remove("zz-none"); !errors.Is(err, link.ErrNotUp) {
		t.Fatalf("Remove of a missing link: %v", err)
	}
}
