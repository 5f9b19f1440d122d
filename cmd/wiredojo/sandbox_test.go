package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/sandbox"
	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

// asNobody runs the wiredojo binary as user nobody with a fresh state
// directory, as a student without root would.
type asNobody struct {
	t     *testing.T
	bin   string
	home  string
	state string
}

func newNobody(t *testing.T) *asNobody {
	t.Helper()
	testdep.RequireRoot(t)
	testdep.Require(t, "setpriv", "apt-get install util-linux")
	testdep.Require(t, "nsenter", "apt-get install util-linux")
	testdep.Require(t, "ip", "apt-get install iproute2")
	dir, err := os.MkdirTemp("", "wiredojo-sandbox-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	n := &asNobody{t: t, bin: wiredojoBinary(t), home: dir, state: filepath.Join(dir, "state")}
	t.Cleanup(func() {
		// Whatever happened, leave no sandbox behind.
		_, _, _ = n.run(10*time.Second, "sandbox", "stop")
	})
	return n
}

func (n *asNobody) command(ctx context.Context, args ...string) *exec.Cmd {
	all := append([]string{"--reuid=nobody", "--regid=nogroup", "--clear-groups", "env", "HOME=" + n.home, "XDG_STATE_HOME=" + n.state, "PATH=" + os.Getenv("PATH"), n.bin}, args...)
	cmd := exec.CommandContext(ctx, "setpriv", all...)
	cmd.Dir = n.home
	return cmd
}

// startJob starts the binary with args as a terminal's foreground job (a
// process group of its own, its output in out) and returns once its output
// holds wait; done gets what Wait returns.
func (n *asNobody) startJob(ctx context.Context, wait string, args ...string) (cmd *exec.Cmd, out *testkit.Buffer, done chan error) {
	n.t.Helper()
	cmd = n.command(ctx, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out = &testkit.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	done = make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	testkit.Eventually(n.t, 30*time.Second, fmt.Sprintf("%v to print %q", args, wait), func() bool {
		return strings.Contains(out.String(), wait)
	})
	return cmd, out, done
}

func (n *asNobody) run(timeout time.Duration, args ...string) (int, string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := n.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		n.t.Fatalf("%v did not end within %v: %s %s", args, timeout, out.String(), errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		n.t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// TestCompareAsNobody: not root, compare runs both protocols over the
// impaired link inside a private sandbox, says so, and TCP is impaired too
// (it never silently runs TCP without impairment).
func TestCompareAsNobody(t *testing.T) {
	n := newNobody(t)
	code, out, errs := n.run(2*time.Minute, "compare", "--count", "300", "--size", "200", "--rate", "2000", "--loss", "5%", "--seed", "7", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	if !strings.Contains(errs, "not root: running compare inside a private sandbox") {
		t.Errorf("compare did not say it used a sandbox: %q", errs)
	}
	if strings.Contains(errs, "unimpaired") {
		t.Errorf("compare fell back to unimpaired TCP: %q", errs)
	}
	var res struct {
		TCP struct {
			Received, Lost uint64
			HOL            *float64 `json:"hol_blocking_ms"`
		}
		UDP struct{ Received, Lost uint64 }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.TCP.Received != 300 || res.TCP.Lost != 0 || res.UDP.Lost == 0 || res.TCP.HOL == nil {
		t.Errorf("tcp %+v udp %+v: want TCP whole and UDP with losses over the same lossy link", res.TCP, res.UDP)
	}
}

// TestDemoAsNobody: not root, the whole demo runs inside a private sandbox,
// says so first, and records and decodes its own packets there as it does
// as root (it used to leave the capture out: "not root: no capture of the
// demo's own packets"); its comparison crosses the impaired link with TCP
// too. Ctrl-C (SIGINT to the terminal's foreground job) ends it with 130,
// the demo inside saying so, and leaves no process behind.
func TestDemoAsNobody(t *testing.T) {
	n := newNobody(t)
	code, out, errs := n.run(2*time.Minute, "--no-color", "demo", "--pace", "0s")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	if !strings.HasPrefix(out, "not root: running the demo inside a private sandbox") {
		t.Errorf("the demo did not say first that it runs in a sandbox:\n%s", out)
	}
	if strings.Contains(out, "no capture of the demo's own packets") {
		t.Errorf("the demo left its capture out:\n%s", out)
	}
	for _, want := range []string{
		"recording the demo's own packets: $ wiredojo capture live --iface lo",
		"The capture of this demo, decoded layer by layer",
		"Flags [S],",                   // TCP
		"wiredojo-event handshake",     // our frames and events
		"HTTP GET /ws",                 // HTTP
		"WebSocket binary fin masked ", // WebSocket
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's decoded capture lacks %q:\n%s", want, out)
		}
	}
	// Its port is in the sandbox: the demo names the server to run here.
	if want := demoPortNote(true); !strings.Contains(out, want) || strings.Contains(out, demoPortNote(false)) {
		t.Errorf("the sandboxed demo does not say that its port is out of a browser's reach (want %q):\n%s", want, out)
	}
	checkDemoComparison(t, out)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, outb, done := n.startJob(ctx, "connected to", "--no-color", "demo", "--pace", "400ms") // the clients are up
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := testkit.Recv(t, 30*time.Second, "the demo to end after Ctrl-C", done)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted || !strings.Contains(outb.String(), "wiredojo demo: interrupted") {
		t.Errorf("demo after Ctrl-C: %v, want exit %d and the demo inside saying it was interrupted:\n%s", err, exitInterrupted, outb.String())
	}
	if pids := processesOf(n.bin); len(pids) > 0 {
		t.Errorf("processes left behind after Ctrl-C: %v", pids)
	}
}

// TestDemoWithoutSandboxAsNobody: where no sandbox can be made (here: a
// user namespace of nobody's that allows no more user namespaces, as a
// machine with user.max_user_namespaces at 0), the demo runs as before: it
// says that it records no capture, and why, and leaves the comparison out.
func TestDemoWithoutSandboxAsNobody(t *testing.T) {
	n := newNobody(t)
	testdep.Require(t, "unshare", "apt-get install util-linux")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The outer namespace allows one more, which the inner unshare takes.
	script := `echo 1 > /proc/sys/user/max_user_namespaces && exec unshare --user "$@"`
	cmd := exec.CommandContext(ctx, "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "env", "HOME="+n.home, "PATH="+os.Getenv("PATH"),
		"unshare", "--user", "--map-root-user", "sh", "-c", script, "sh", n.bin, "--no-color", "demo", "--pace", "0s")
	cmd.Dir = n.home
	b, err := cmd.CombinedOutput()
	out := string(b)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{
		"(not root, and no sandbox can be made here (sandbox: unprivileged user namespaces are not available",
		"no capture of the demo's own packets",
		"Left out: not root, and no sandbox can be made here",
		"What to try next:",
		demoPortNote(false), // its port is this machine's
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "running the demo inside") || strings.Contains(out, "decoded layer by layer") || strings.Contains(out, "cannot reach its port") {
		t.Errorf("a sandbox or a capture was announced:\n%s", out)
	}
}

// TestSandboxAsNobody: a student without root starts the sandbox, runs
// commands in it, captures there and brings the impaired link up there; stop
// ends everything and leaves no namespace behind.
func TestSandboxAsNobody(t *testing.T) {
	n := newNobody(t)
	code, out, errs := n.run(30*time.Second, "sandbox", "start")
	if code != 0 || !strings.Contains(out, "sandbox running, pid") {
		t.Fatalf("sandbox start: exit %d %s %s", code, out, errs)
	}
	var pid int
	if _, err := fmt.Sscanf(out, "sandbox running, pid %d,", &pid); err != nil {
		t.Fatalf("no pid in %q: %v", out, err)
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		t.Fatal(err)
	}
	if _, out, _ := n.run(30*time.Second, "sandbox", "--", "ip", "-br", "link"); !strings.Contains(out, "lo") || !strings.Contains(out, "UP") {
		t.Errorf("lo is not up in the sandbox: %q", out)
	}
	if _, out, _ := n.run(30*time.Second, "sandbox", "--", "id", "-u"); strings.TrimSpace(out) != "0" {
		t.Errorf("not root inside the sandbox: id -u says %q", out)
	}

	// capture live as nobody captures inside the sandbox what a command
	// run there sends.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var capOut, capErr testkit.Buffer // written by exec's copying goroutines while the test reads
	capCmd := n.command(ctx, "capture", "live", "-i", "lo", "-c", "2", "--filter", "udp port 9")
	capCmd.Stdout, capCmd.Stderr = &capOut, &capErr
	if err := capCmd.Start(); err != nil {
		t.Fatal(err)
	}
	capDone := make(chan error, 1)
	go func() { capDone <- capCmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(capErr.String()+capOut.String(), "listening on lo") {
		if time.Now().After(deadline) {
			t.Fatalf("capture never listened: %s %s", capOut.String(), capErr.String())
		}
		select {
		case err := <-capDone:
			t.Fatalf("capture ended: %v %s %s", err, capOut.String(), capErr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	n.run(30*time.Second, "sandbox", "--", n.bin, "udp", "send", "--to", "127.0.0.1:9", "--count", "3", "--size", "64")
	select {
	case err := <-capDone:
		if err != nil || !strings.Contains(capOut.String()+capErr.String(), "2 packets captured") {
			t.Errorf("capture live: %v\n%s\n%s", err, capOut.String(), capErr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("capture saw nothing of the sandbox's traffic: %s %s", capOut.String(), capErr.String())
	}
	if !strings.Contains(capErr.String(), "inside the wiredojo sandbox") {
		t.Errorf("capture live did not say where it ran: %q", capErr.String())
	}

	// link up as nobody, in the background, then status and down.
	linkCmd := n.command(ctx, "link", "up", "--loss", "1%")
	var linkOut testkit.Buffer
	linkCmd.Stdout, linkCmd.Stderr = &linkOut, &linkOut
	if err := linkCmd.Start(); err != nil {
		t.Fatal(err)
	}
	linkDone := make(chan error, 1)
	go func() { linkDone <- linkCmd.Wait() }()
	defer func() {
		if t.Failed() {
			t.Logf("link up printed: %s", linkOut.String())
		}
	}()
	var status string
	testkit.Eventually(t, 30*time.Second, "link status to show the relay of link up", func() bool {
		_, status, _ = n.run(30*time.Second, "link", "status")
		return strings.Contains(status, "relay: pid")
	})
	// The relay's pid is one of the sandbox's PID namespace: say so.
	if !regexp.MustCompile(`relay: pid \d+ in the sandbox,`).MatchString(status) {
		t.Errorf("link status does not say the relay's pid is the sandbox's: %s", status)
	}
	if code, out, errs := n.run(30*time.Second, "link", "down"); code != 0 || !regexp.MustCompile(`relay pid \d+ in the sandbox stopped`).MatchString(out) {
		t.Errorf("link down: exit %d %s %s", code, out, errs)
	}
	testkit.Recv(t, 30*time.Second, "link up to end after link down", linkDone)
	if !strings.Contains(linkOut.String(), "wiredojo sandbox -- ip netns exec wd-a") {
		t.Errorf("link up does not tell how to run programs on its sides: %s", linkOut.String())
	}

	if code, out, errs := n.run(30*time.Second, "sandbox", "stop"); code != 0 || !strings.Contains(out, "sandbox stopped") {
		t.Fatalf("sandbox stop: exit %d %s %s", code, out, errs)
	}
	testkit.Eventually(t, 10*time.Second, "the sandbox's network namespace "+ns+" to be freed after stop", func() bool {
		return !sandbox.InUse(ns)
	})
}

// TestCompareBar: on a terminal compare shows a bar per protocol on stderr.
func TestCompareBar(t *testing.T) {
	var b bytes.Buffer
	bar := newCompareBar(&b, 10)
	bar.update("tcp", 0, 10)
	bar.update("tcp", 10, 10)
	bar.update("udp", 10, 10)
	bar.finish()
	for _, want := range []string{"TCP messages sent", "UDP messages sent", "10/10"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("progress lacks %q: %q", want, b.String())
		}
	}
}

// TestSandboxMissingSaysWhatAndHow: where user namespaces are off, the
// command stops (exit 1), names what is missing and how to run instead.
func TestSandboxMissingSaysWhatAndHow(t *testing.T) {
	var errb bytes.Buffer
	err := sandboxMissing("compare", fmt.Errorf("%w: kernel.unprivileged_userns_clone is 0", sandbox.ErrUnavailable))
	if code := report(nil, err, &errb); code != exitRuntime {
		t.Errorf("exit %d, want %d", code, exitRuntime)
	}
	for _, want := range []string{"compare needs root", "unprivileged_userns_clone is 0", "sudo wiredojo"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("message lacks %q: %q", want, errb.String())
		}
	}
}

// TestSandboxSignalsAsNobody: not root, link up runs inside the sandbox
// behind nsenter. Ctrl-C (SIGINT to the terminal's whole foreground job)
// ends it as it ends as root: exit 0, the link is down by then. It exited
// 255 (nsenter killed by the SIGINT) before the link was down. A SIGTERM
// to link up's own pid (kill PID) ends it too: it was caught and not
// passed on, and the link stayed up. `sandbox -- CMD` interrupted exits
// 128+2, as a shell says, not 255, and a CMD that handles the interrupt
// with the status it chooses, once it has ended.
func TestSandboxSignalsAsNobody(t *testing.T) {
	n := newNobody(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := func(wait string, args ...string) (*exec.Cmd, *testkit.Buffer, chan error) {
		t.Helper()
		return n.startJob(ctx, wait, args...)
	}
	exitCode := func(err error) int {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	linkDown := func(how string) {
		t.Helper()
		if _, out, _ := n.run(30*time.Second, "link", "status", "--name", "sig"); !strings.Contains(out, "link sig is down") {
			t.Errorf("after %s link up ended with its link still up: %s", how, out)
		}
	}

	cmd, out, done := start("Relaying", "link", "up", "--name", "sig")
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := testkit.Recv(t, 30*time.Second, "link up to end after Ctrl-C", done)
	if code := exitCode(err); code != 0 || !strings.Contains(out.String(), "link sig going down") {
		t.Errorf("link up after Ctrl-C: exit %d, want 0:\n%s", code, out.String())
	}
	linkDown("Ctrl-C")

	cmd, out, done = start("Relaying", "link", "up", "--name", "sig")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = testkit.Recv(t, 30*time.Second, "link up to end after a SIGTERM to its pid", done)
	if code := exitCode(err); code != 0 || !strings.Contains(out.String(), "link sig going down") {
		t.Errorf("link up after SIGTERM: exit %d, want 0:\n%s", code, out.String())
	}
	linkDown("SIGTERM")

	cmd, out, done = start("sleeping", "sandbox", "--", "sh", "-c", "echo sleeping; exec sleep 60")
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(testkit.Recv(t, 30*time.Second, "sandbox -- sleep to end after Ctrl-C", done)); code != 130 {
		t.Errorf("sandbox -- sleep after Ctrl-C: exit %d, want 130: %s", code, out.String())
	}

	// A program that handles Ctrl-C ends as it says, and `sandbox --`
	// with it: it exited 130 at once (nsenter killed), before the program
	// had done, and with the signal's status instead of the program's.
	cmd, out, done = start("sleeping", "sandbox", "--", "sh", "-c", `trap 'kill $!; sleep 0.3; echo inner-done; exit 5' INT; echo sleeping; sleep 60 & wait`)
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(testkit.Recv(t, 30*time.Second, "sandbox -- sh with a trap to end after Ctrl-C", done)); code != 5 || !strings.Contains(out.String(), "inner-done") {
		t.Errorf("sandbox -- sh with a trap after Ctrl-C: exit %d, want 5 after the trap said inner-done: %s", code, out.String())
	}
}
