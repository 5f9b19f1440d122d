package natsbench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A child that spins reports CPU time growing and a plausible RSS; the
// readers parse /proc/PID/stat and /proc/PID/status of another process.
func TestServerProcCPUAndRSS(t *testing.T) {
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &ServerProc{System: "spin", cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(s.exited) }()
	defer s.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cpu, err := s.CPU()
		if err != nil {
			t.Fatal(err)
		}
		if cpu >= 20*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a spinning child used %v of CPU in 10 s, want at least 20 ms", cpu)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r, w, err := s.Syscalls(); err != nil || r < 0 || w < 0 {
		t.Fatalf("Syscalls() = %d, %d, %v", r, w, err)
	}
	rss, err := s.RSS()
	if err != nil {
		t.Fatal(err)
	}
	if rss < 64<<10 || rss > 1<<30 {
		t.Fatalf("RSS of sh = %d bytes, want between 64 KiB and 1 GiB", rss)
	}
}

func TestStartServerUnknownSystem(t *testing.T) {
	_, err := StartServer(context.Background(), "nope", Programs{})
	if err == nil || !strings.Contains(err.Error(), "unknown system") {
		t.Fatalf("StartServer(nope) = %v, want an unknown-system error", err)
	}
}

// The quota's period is the shortest that holds the kernel's least quota
// (1 ms), within the kernel's bounds for a period (1 ms to 1 s).
func TestQuotaPeriod(t *testing.T) {
	for _, c := range []struct {
		quota float64
		want  time.Duration
	}{
		{0.1, 10 * time.Millisecond},
		{0.25, 4 * time.Millisecond},
		{1, time.Millisecond},
		{2, time.Millisecond},
		{0.001, time.Second},
		{0.0001, time.Second},
	} {
		if got := QuotaPeriod(c.quota); got != c.want {
			t.Errorf("QuotaPeriod(%g) = %v, want %v", c.quota, got, c.want)
		}
		if q := time.Duration(c.quota * float64(QuotaPeriod(c.quota))); c.quota >= 0.001 && q < time.Millisecond {
			t.Errorf("QuotaPeriod(%g): a quota of %v per period, below the kernel's 1 ms", c.quota, q)
		}
	}
}

// A chat server started by StartServer keeps its files (the default bolt
// queue store is in $XDG_DATA_HOME) in a directory of its own, removed by
// Stop, not in the user's home: a stand-in for `wiredojo` reports its
// environment.
func TestStartServerChatKeepsFilesToItself(t *testing.T) {
	dir := t.TempDir()
	bin, out := filepath.Join(dir, "wiredojo"), filepath.Join(dir, "env")
	script := "#!/bin/sh\nenv > \"$CHATBENCH_TEST_ENV\"\necho 'chat: serving on 127.0.0.1'\nexec sleep 60\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHATBENCH_TEST_ENV", out)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := StartServer(ctx, Chat, Programs{Wiredojo: bin})
	if err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile(out)
	s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"XDG_DATA_HOME", "XDG_STATE_HOME"} {
		i := strings.Index(string(env), "\n"+v+"=")
		if i < 0 {
			t.Fatalf("%s not set for the server; its environment:\n%s", v, env)
		}
		val, _, _ := strings.Cut(string(env[i+len(v)+2:]), "\n")
		if val != s.state || !strings.HasPrefix(val, os.TempDir()) {
			t.Errorf("%s=%s, want the server's own temporary directory %q", v, val, s.state)
		}
	}
	if _, err := os.Stat(s.state); !os.IsNotExist(err) {
		t.Errorf("Stop left %s behind (%v)", s.state, err)
	}
}
