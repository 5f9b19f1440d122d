package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/sandbox"
)

func TestDemoRunsToTheEnd(t *testing.T) {
	code, out, errs := chatRun(t, "", "demo", "--pace", "0s")
	if code != 0 {
		t.Fatalf("demo exited with %d: %s\n%s", code, errs, out)
	}
	for _, want := range []string{
		`bob      hears ann in lobby: "hi bob!"`,
		`echo acked with ["ping",42]`,
		`create-room /chat room "lobby"`,
		`delete-room /chat room "lobby"`,
		`GET /healthz → ok`,
		`server shutting down (code 7)`,
		`connected to ws://`,
		`head-of-line blocking`,
		`What to try next:`,
		`bob      receives event news ["durable: kept for bob"]`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `bob      receives event news ["plain`) {
		t.Errorf("bob got the plain event sent while he was away:\n%s", out)
	}
	if strings.Contains(out, `bob      receives event tip`) {
		t.Errorf("the broadcast except bob reached bob:\n%s", out)
	}
	if needsSandbox(capNetAdmin) && sandbox.Check() != nil {
		// Not root, and no sandbox here: the demo must say so instead.
		if !strings.Contains(out, "Left out: not root, and no sandbox can be made here") {
			t.Errorf("the demo did not say why it left the comparison out:\n%s", out)
		}
		return
	}
	checkDemoComparison(t, out)
}

// The demo's closing suggestions are typed as shown. None starts a program
// in the background (&) for the next command of the line: a receiver
// started that way may not be bound yet when its sender starts (udp send
// counted the first datagrams as refused), and it stays running after.
func TestDemoNextStartsNoBackgroundJob(t *testing.T) {
	var b bytes.Buffer
	demoNext(&b, chatPaint{})
	for _, line := range strings.Split(b.String(), "\n") {
		if cmd := strings.TrimSpace(line); strings.HasPrefix(cmd, "wiredojo ") && regexp.MustCompile(`[^&]&[^&]`).MatchString(cmd) {
			t.Errorf("a suggestion starts a background job: %s", cmd)
		}
	}
}

// checkDemoComparison fails unless the demo's comparison sent both
// protocols over the impaired link and TCP waited (head-of-line blocking),
// as its heading says.
func checkDemoComparison(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "unimpaired") || !strings.Contains(out, "both over a link between namespaces") {
		t.Errorf("the comparison did not impair TCP too:\n%s", out)
	}
	m := regexp.MustCompile(`head-of-line blocking +(\d+) waited`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Errorf("TCP did not wait in the comparison (head-of-line blocking %v):\n%s", m, out)
	}
}

// TestDemoCompareWithoutSandboxSaysSo: not root where no sandbox can be
// made, the demo says that it leaves the comparison out, and why, rather
// than show UDP impaired against TCP unimpaired.
func TestDemoCompareWithoutSandboxSaysSo(t *testing.T) {
	check := sandboxCheck
	t.Cleanup(func() { sandboxCheck = check })
	sandboxCheck = func() error {
		return fmt.Errorf("%w: kernel.unprivileged_userns_clone is 0", sandbox.ErrUnavailable)
	}
	var out bytes.Buffer
	if err := demoCompareSandboxed(context.Background(), &out, chatPaint{}, []string{"compare", "--count", "10"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Left out: not root, and no sandbox can be made here", "unprivileged_userns_clone is 0", "sudo wiredojo compare"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q: %q", want, out.String())
		}
	}
	if strings.Contains(out.String(), "head-of-line") || strings.Contains(out.String(), "running compare inside") {
		t.Errorf("a comparison ran or was announced: %q", out.String())
	}
}

// wiredojoBinary returns the command built once for this test process, in
// a directory every user may read and run (the sandbox tests run it as
// nobody): the demo starts itself again as `capture live` only when it is
// the real binary. TestMain removes it.
func wiredojoBinary(t *testing.T) string {
	t.Helper()
	builtBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "wiredojo-cmd-test")
		if err == nil {
			builtBin.dir = dir
			err = os.Chmod(dir, 0o755)
		}
		if err != nil {
			builtBin.err = err
			return
		}
		bin := filepath.Join(dir, "wiredojo")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			builtBin.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		builtBin.path = bin
	})
	if builtBin.err != nil {
		t.Fatal(builtBin.err)
	}
	return builtBin.path
}

// builtBin is what wiredojoBinary built.
var builtBin struct {
	once      sync.Once
	dir, path string
	err       error
}

// processesOf lists the pids of running processes of the executable bin.
func processesOf(bin string) []string {
	var pids []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// startDemo runs the built demo with its own TMPDIR and returns it with its
// stdout, once the tour has started (its first step is on the way).
func startDemo(t *testing.T, bin, tmp string) (*exec.Cmd, io.Closer) {
	t.Helper()
	cmd := exec.Command(bin, "--no-color", "demo", "--pace", "400ms")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	r := bufio.NewReader(stdout)
	lines := make(chan string)
	go func() {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- l
		}
	}()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo ended before its first step: %s", stderr.String())
			}
			if strings.Contains(l, "connected to") { // the clients are up
				go func() {
					for range lines { // keep reading, as a terminal does
					}
				}()
				return cmd, stdout
			}
		case <-deadline:
			t.Fatalf("no client connected within 20 s; stderr: %s", stderr.String())
		}
	}
}

// waitExit waits (at most 20 s) for cmd and returns its exit status.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the demo did not end within 20 s")
	}
	return cmd.ProcessState.ExitCode()
}

// checkNothingLeft fails if a process of the binary or a temporary file of
// the demo is left.
func checkNothingLeft(t *testing.T, bin, tmp string) {
	t.Helper()
	if pids := processesOf(bin); len(pids) > 0 {
		t.Errorf("processes left behind: %v", pids)
	}
	ents, _ := os.ReadDir(tmp)
	for _, e := range ents {
		t.Errorf("left in TMPDIR: %s", e.Name())
	}
}

// TestDemoStopsEverything builds the binary once and runs the demo twice:
//
//   - Ctrl-C: SIGINT to the demo alone (not to its process group, so the
//     demo must stop its own capture child) ends it with 130;
//   - `wiredojo demo | head`: the reader goes away and the demo ends by
//     itself with 141.
//
// Either way no process of the binary and no temporary file is left.
func TestDemoStopsEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := wiredojoBinary(t)
	t.Run("ctrl-c", func(t *testing.T) {
		tmp := t.TempDir()
		cmd, _ := startDemo(t, bin, tmp)
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, cmd); code != exitInterrupted {
			t.Errorf("exit %d after Ctrl-C, want %d", code, exitInterrupted)
		}
		checkNothingLeft(t, bin, tmp)
	})
	t.Run("pipe closed", func(t *testing.T) {
		tmp := t.TempDir()
		cmd, stdout := startDemo(t, bin, tmp)
		stdout.Close()
		if code := waitExit(t, cmd); code != exitBrokenPipe {
			t.Errorf("exit %d after the pipe closed, want %d", code, exitBrokenPipe)
		}
		checkNothingLeft(t, bin, tmp)
	})
}
