package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/udpcast/link"
)

func linkTestName(t *testing.T) string {
	t.Helper()
	testdep.RequireRoot(t)
	testdep.Require(t, "ip", "apt-get install iproute2")
	var b [3]byte
	_, _ = rand.Read(b[:])
	name := "c" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if link.Exists(name) {
			_ = link.Remove(name)
		}
	})
	return name
}

func TestLinkUpRunsUntilCancelled(t *testing.T) {
	name := linkTestName(t)
	old := linkStateDir
	linkStateDir = t.TempDir()
	t.Cleanup(func() { linkStateDir = old })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := udpRunCLI(ctx, "--no-color", "link", "up", "--name", name, "--loss", "5%", "--delay", "5ms")
		done <- result{code, out, errs}
	}()
	testkit.Eventually(t, 20*time.Second, "link up to write its state and make the link", func() bool {
		if st, ok := readLinkState(name); ok && st.PID == os.Getpid() && link.Exists(name) {
			if !strings.Contains(st.AtoB, "loss 5%") || !strings.Contains(st.BtoA, "loss 5%") {
				t.Errorf("state %+v", st)
			}
			return true
		}
		select {
		case r := <-done:
			t.Fatalf("link up ended early: exit %d\n%s\n%s", r.code, r.out, r.err)
		default:
		}
		return false
	})
	cancel()
	r := testkit.Recv(t, 20*time.Second, "link up to go down after its context was cancelled", done)
	if r.code != 0 {
		t.Fatalf("link up: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	for _, want := range []string{"ip netns exec " + name + "-b", "10.77.0.2", "offloads", "congestion", "going down"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	if link.Exists(name) {
		t.Error("namespaces left after Ctrl-C")
	}
	if _, ok := readLinkState(name); ok {
		t.Error("state file left after Ctrl-C")
	}
}

func TestLinkDownAndStatus(t *testing.T) {
	name := linkTestName(t)
	old := linkStateDir
	linkStateDir = t.TempDir()
	t.Cleanup(func() { linkStateDir = old })
	ctx := context.Background()
	if code, out, _ := udpRunCLI(ctx, "--no-color", "link", "status", "--name", name); code != 0 || !strings.Contains(out, "is down") {
		t.Fatalf("status of a missing link: %d %s", code, out)
	}
	l, err := link.Up(ctx, link.Config{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Namespaces without a relay process that owns a state file.
	if code, out, _ := udpRunCLI(ctx, "--no-color", "link", "status", "--name", name); code != 0 || !strings.Contains(out, "no relay runs") {
		t.Fatalf("status: %d %s", code, out)
	}
	if code, out, errs := udpRunCLI(ctx, "--no-color", "link", "down", "--name", name); code != 0 || !strings.Contains(out, "is down") {
		t.Fatalf("down: %d %s %s", code, out, errs)
	}
	if link.Exists(name) {
		t.Fatal("namespaces left after link down")
	}
	if code, _, errs := udpRunCLI(ctx, "link", "down", "--name", name); code != exitRuntime || !strings.Contains(errs, "no link") {
		t.Fatalf("down twice: %d %s", code, errs)
	}
	if code, _, _ := udpRunCLI(ctx, "link", "up", "--name", "bad name"); code != exitUsage {
		t.Fatalf("bad name: exit %d", code)
	}
	if code, _, _ := udpRunCLI(ctx, "link", "up", "--name", name, "--direction", "sideways"); code != exitUsage {
		t.Fatalf("bad direction: exit %d", code)
	}
}
