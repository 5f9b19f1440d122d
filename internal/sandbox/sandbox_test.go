package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/sandbox"
	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

func TestMain(m *testing.M) {
	sandbox.Init() // the holder and one-shot children are this test binary
	os.Exit(m.Run())
}

func TestPersistentSandbox(t *testing.T) {
	if err := sandbox.Check(); err != nil {
		testdep.Missing(t, err.Error())
	}
	testdep.Require(t, "nsenter", "apt-get install util-linux")
	testdep.Require(t, "ip", "apt-get install iproute2")
	dir := t.TempDir()
	if _, err := sandbox.Find(dir); err != sandbox.ErrNotRunning {
		t.Fatalf("Find on an empty directory: %v", err)
	}
	sb, started, err := sandbox.Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	ns, _ := os.Readlink(sb.NetNS())
	t.Cleanup(func() { _ = sb.Stop() })
	again, startedAgain, err := sandbox.Ensure(dir)
	if err != nil || !started || startedAgain || again.PID() != sb.PID() {
		t.Fatalf("Ensure twice: started %v then %v, pids %d and %d, %v", started, startedAgain, sb.PID(), again.PID(), err)
	}
	own, _ := os.Readlink("/proc/self/ns/net")
	if ns == "" || ns == own {
		t.Fatalf("the sandbox's network namespace %q is not a new one (ours %q)", ns, own)
	}
	var out bytes.Buffer
	cmd := sb.Command("ip", "-br", "link")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "lo") || !strings.Contains(out.String(), "UP") || strings.Count(strings.TrimSpace(out.String()), "\n") != 0 {
		t.Fatalf("inside: %v, ip link says %q (want lo alone, up)", err, out.String())
	}
	// A server started inside keeps running; Stop ends it with the holder.
	srv := sb.Command("sleep", "60")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	if err := sb.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a process inside outlived the sandbox")
	}
	if _, err := sandbox.Find(dir); err != sandbox.ErrNotRunning {
		t.Errorf("Find after Stop: %v", err)
	}
	testkit.Eventually(t, 10*time.Second, "network namespace "+ns+" to be freed after Stop", func() bool {
		return !sandbox.InUse(ns)
	})
}

const childEnv = "SANDBOX_TEST_CHILD"

func TestRunSelf(t *testing.T) {
	if err := sandbox.Check(); err != nil {
		testdep.Missing(t, err.Error())
	}
	var out bytes.Buffer
	t.Setenv(childEnv, "1")
	code, err := sandbox.RunSelf(context.Background(), []string{"-test.run=^TestRunSelfChild$", "-test.v"}, nil, &out, &out)
	if err != nil || code != 0 || !strings.Contains(out.String(), "inside: uid 0, lo up, private /run") {
		t.Fatalf("exit %d, %v:\n%s", code, err, out.String())
	}
}

// TestRunSelfChild runs inside the one-shot sandbox TestRunSelf makes.
func TestRunSelfChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestRunSelf inside its sandbox")
	}
	if !sandbox.Inside() || os.Geteuid() != 0 {
		t.Fatalf("inside %v, euid %d", sandbox.Inside(), os.Geteuid())
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil || lo.Flags&net.FlagUp == 0 {
		t.Fatalf("lo: %v %v", lo, err)
	}
	if err := os.WriteFile("/run/sandbox-test", nil, 0o600); err != nil {
		t.Fatalf("/run is not private and writable: %v", err)
	}
	fmt.Println("inside: uid 0, lo up, private /run")
}

const orphanEnv = "SANDBOX_TEST_ORPHAN" // the file the sandboxed child writes its pid and network namespace to

// TestRunSelfEndsWithItsParent starts a process that runs a long program
// through RunSelf, kills that process with SIGKILL (no clean-up of its
// own runs), and waits for the sandboxed program, and its namespace, to be
// gone: the kernel's parent-death signal ends it.
func TestRunSelfEndsWithItsParent(t *testing.T) {
	if err := sandbox.Check(); err != nil {
		testdep.Missing(t, err.Error())
	}
	file := filepath.Join(t.TempDir(), "inner")
	parent := exec.Command(os.Args[0], "-test.run=^TestRunSelfOrphan$", "-test.v")
	parent.Env = append(os.Environ(), orphanEnv+"="+file)
	// A file, not a pipe: the program inside shares it, and waiting for the
	// parent must not wait for the program too.
	out, err := os.Create(file + ".out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	parent.Stdout, parent.Stderr = out, out
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parent.Process.Kill(); _ = parent.Wait() })
	testkit.Eventually(t, 20*time.Second, "the sandboxed program to write its pid and network namespace to "+file, func() bool {
		b, err := os.ReadFile(file)
		return err == nil && len(strings.Fields(string(b))) == 2
	})
	b, _ := os.ReadFile(file)
	f := strings.Fields(string(b))
	pid, _ := strconv.Atoi(f[0])
	ns := f[1]
	t.Cleanup(func() {
		if sandbox.InUse(ns) {
			_ = syscall.Kill(pid, syscall.SIGKILL) // the failing case: do not leave it running
		}
	})
	if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	testkit.Eventually(t, 10*time.Second, fmt.Sprintf("the sandboxed program (pid %d) and its network namespace %s to end after its parent got SIGKILL; their output:\n%s", pid, ns, output(file+".out")), func() bool {
		return !sandbox.InUse(ns)
	})
}

func output(file string) string {
	b, _ := os.ReadFile(file)
	return string(b)
}

// TestRunSelfOrphan is the killed parent of TestRunSelfEndsWithItsParent
// (outside a sandbox) and, run again by it through RunSelf, the long
// program inside, which writes its pid and network namespace and then runs
// for a minute unless it is killed.
func TestRunSelfOrphan(t *testing.T) {
	file := os.Getenv(orphanEnv)
	if file == "" {
		t.Skip("run by TestRunSelfEndsWithItsParent")
	}
	if !sandbox.Inside() {
		code, err := sandbox.RunSelf(context.Background(), []string{"-test.run=^TestRunSelfOrphan$", "-test.v"}, nil, os.Stdout, os.Stderr)
		t.Fatalf("the sandboxed program ended (exit %d, %v) before this process was killed", code, err)
	}
	ns, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file+".tmp", fmt.Appendf(nil, "%d %s\n", os.Getpid(), ns), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(file+".tmp", file); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute) // the program that must not outlive its parent; not a synchronisation
}
