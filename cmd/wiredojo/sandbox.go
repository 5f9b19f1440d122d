package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/internal/sandbox"
)

func init() {
	sandbox.Init() // in a sandboxed child: prepare it (a holder never returns)
	register(sandboxCommand)
}

func sandboxCommand() *cli.Command {
	return &cli.Command{
		Name:      "sandbox",
		Usage:     "run commands in a private network where you are root, without sudo",
		ArgsUsage: "[-- COMMAND [ARG...]]",
		Description: "The sandbox is a private user + network namespace held by a background\n" +
			"process: inside it you are root over a network of your own (lo is up), so\n" +
			"capture live, link up and compare work without sudo, and nothing changes on\n" +
			"this machine. Every command run with `wiredojo sandbox -- ...` joins the same\n" +
			"sandbox, so servers started there and your later commands share one network.\n" +
			"It cannot reach this machine's own loopback, nor the other way round. Without\n" +
			"a command it opens your shell inside. Its state is in\n" +
			"$XDG_STATE_HOME/wiredojo/sandbox; `wiredojo sandbox stop` ends it and\n" +
			"everything running in it.",
		Action: sandboxRun,
		Subcommands: []*cli.Command{
			{Name: "start", Usage: "start the sandbox (if it is not running) and print its pid", Action: sandboxStart},
			{Name: "stop", Usage: "stop the sandbox and everything running in it", Action: sandboxStop},
			{Name: "status", Usage: "say whether the sandbox runs", Action: sandboxStatus},
		},
	}
}

// sandboxEnsure starts or finds the user's sandbox and says on stderr when
// it started one.
func sandboxEnsure(c *cli.Context) (*sandbox.Sandbox, error) {
	sb, started, err := sandbox.Ensure(sandbox.DefaultDir())
	if err != nil {
		return nil, err
	}
	if started {
		fmt.Fprintf(c.App.ErrWriter, "started the wiredojo sandbox (pid %d): a private network where you are root; `wiredojo sandbox stop` ends it\n", sb.PID())
	}
	return sb, nil
}

func sandboxRun(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) == 0 {
		sh := os.Getenv("SHELL")
		if sh == "" {
			sh = "/bin/sh"
		}
		args = []string{sh}
	}
	sb, err := sandboxEnsure(c)
	if err != nil {
		return err
	}
	return sandboxExec(c, sb, args)
}

// sandboxExec runs args inside sb with this command's streams and returns
// its exit status as ours (128+N when it was killed by signal N, as a
// shell says), once it has ended: nsenter and the supervisor between us
// and it are deaf to Ctrl-C (sandbox.Supervised). A SIGINT or SIGTERM
// sent to this process alone (kill PID, a supervisor) is passed on to the
// program inside: nsenter, between us and it, passes nothing on.
func sandboxExec(c *cli.Context, sb *sandbox.Sandbox, args []string) error {
	cmd, err := sb.Supervised(args[0], args[1:]...)
	if err != nil {
		return err
	}
	return runInSandbox(c, cmd, args[0], 2)
}

// sandboxExecSelf runs this program again with args inside sb, as
// sandboxExec does, with nsenter deaf to SIGINT: Ctrl-C reaches every
// process of the terminal's foreground job, and nsenter, killed by it,
// returned at once, before the program inside had finished going down
// (link up removing its namespaces, its counters printed after the
// shell's prompt) and with status 255. The program inside hears SIGINT all
// the same: a Go program that asks for a signal gets it even when it
// started with it ignored (os/signal).
func sandboxExecSelf(c *cli.Context, sb *sandbox.Sandbox, args []string) error {
	cmd := sb.Command(args[0], args[1:]...)
	if sh, err := exec.LookPath("sh"); err == nil && cmd.Err == nil {
		cmd.Args = append([]string{"sh", "-c", `trap '' INT; exec "$@"`, "sh", cmd.Path}, cmd.Args[1:]...)
		cmd.Path = sh
	}
	return runInSandbox(c, cmd, args[0], 1)
}

// runInSandbox runs cmd (nsenter into a sandbox, with name inside, depth
// processes below nsenter) with this command's streams, passing SIGINT
// and SIGTERM on to the program inside, and returns its exit status as
// ours.
func runInSandbox(c *cli.Context, cmd *exec.Cmd, name string, depth int) error {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.App.Reader, c.App.Writer, c.App.ErrWriter
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("sandbox: run %s: %w", name, err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case sig := <-sigs:
				signalInside(cmd.Process.Pid, depth, sig)
			case <-done:
				return
			}
		}
	}()
	code, err := sandbox.ExitStatus(cmd.Wait())
	if err != nil {
		return fmt.Errorf("%w (running %s)", err, name) // err says "sandbox: "
	}
	if code != 0 {
		return cli.Exit("", code)
	}
	return nil
}

// signalInside sends sig to the program nsenter runs: the processes depth
// levels below nsenter (it forks to enter the PID namespace: its child
// is the program, or the supervisor whose child is), else those as deep
// as there are, else nsenter itself.
func signalInside(nsenter, depth int, sig os.Signal) {
	level := []int{nsenter}
	for range depth {
		var next []int
		for _, pid := range level {
			next = append(next, childrenOf(pid)...)
		}
		if len(next) == 0 {
			break
		}
		level = next
	}
	for _, pid := range level {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Signal(sig)
		}
	}
}

// childrenOf returns the children of pid's main thread.
func childrenOf(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if c, err := strconv.Atoi(f); err == nil {
			out = append(out, c)
		}
	}
	return out
}

func sandboxStart(c *cli.Context) error {
	sb, err := sandboxEnsure(c)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "sandbox running, pid %d, network namespace %s\n", sb.PID(), sb.NetNS())
	return nil
}

func sandboxStop(c *cli.Context) error {
	sb, err := sandbox.Find(sandbox.DefaultDir())
	if err != nil {
		fmt.Fprintln(c.App.Writer, "no sandbox is running")
		return nil
	}
	if err := sb.Stop(); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%s sandbox stopped (pid %d and everything in it)\n", styleOK.Sprint("✓"), sb.PID())
	return nil
}

func sandboxStatus(c *cli.Context) error {
	sb, err := sandbox.Find(sandbox.DefaultDir())
	if err != nil {
		fmt.Fprintln(c.App.Writer, "no sandbox is running (`wiredojo sandbox start`, or any `wiredojo sandbox -- CMD`, starts one)")
		return nil
	}
	fmt.Fprintf(c.App.Writer, "sandbox running, pid %d, network namespace %s\n", sb.PID(), sb.NetNS())
	return nil
}

// inSandbox runs this very command line again inside the user's persistent
// sandbox, when this process lacks capability bit and is not in one
// already: capture live and link up, whose traffic the student's later
// commands must share. It returns handled false when nothing was done.
func inSandbox(c *cli.Context, bit uint, what string) (handled bool, err error) {
	if sandbox.Capable(bit) || sandbox.Inside() {
		return false, nil
	}
	sb, started, err := sandbox.Ensure(sandbox.DefaultDir())
	if err != nil {
		return true, sandboxMissing(what, err)
	}
	how := "already running"
	if started {
		how = "started now; `wiredojo sandbox stop` ends it"
	}
	fmt.Fprintf(c.App.ErrWriter, "not root: running %s inside the wiredojo sandbox (pid %d, %s), a private network of its own; run your other programs there with `wiredojo sandbox -- CMD`\n", what, sb.PID(), how)
	exe, err := os.Executable()
	if err != nil {
		return true, err
	}
	return true, sandboxExecSelf(c, sb, append([]string{exe}, os.Args[1:]...))
}

// inOneShotSandbox runs this command line again inside a fresh private
// sandbox that ends with it (compare: its link is its own).
func inOneShotSandbox(c *cli.Context, bit uint, what string) (handled bool, err error) {
	if !needsSandbox(bit) {
		return false, nil
	}
	say := func(note string) { fmt.Fprintln(c.App.ErrWriter, note) }
	code, err := runOneShot(c.Context, what, "so nothing on this machine changes", os.Args[1:], c.App.Reader, c.App.Writer, c.App.ErrWriter, say)
	switch {
	case errors.Is(err, sandbox.ErrUnavailable):
		return true, sandboxMissing(what, err)
	case err != nil:
		return true, err
	case code != 0:
		return true, cli.Exit("", code)
	}
	return true, nil
}

// needsSandbox reports whether something that needs capability bit must
// run in a sandbox: this process lacks it and is not in one already.
func needsSandbox(bit uint) bool {
	return !sandbox.Capable(bit) && !sandbox.Inside()
}

// sandboxCheck is sandbox.Check; a test makes it fail.
var sandboxCheck = sandbox.Check

// runOneShot runs this program again with args inside a fresh private
// sandbox that ends with it, after passing say the line that tells the
// user so (and why: "so ..."), and returns its exit status. When no sandbox
// can be made here it runs nothing and its error wraps
// sandbox.ErrUnavailable. compare (its own command line), the demo (the
// whole tour, not root) and the demo's comparison (in a process that may
// capture but not make namespaces) use it.
func runOneShot(ctx context.Context, what, why string, args []string, stdin io.Reader, stdout, stderr io.Writer, say func(string)) (int, error) {
	if err := sandboxCheck(); err != nil {
		return 0, err
	}
	say(fmt.Sprintf("not root: running %s inside a private sandbox (user + network namespace, removed when it ends), %s", what, why))
	return sandbox.RunSelf(ctx, args, stdin, stdout, stderr)
}

// sandboxMissing says what is missing for the sandbox and how to run
// instead.
func sandboxMissing(what string, err error) error {
	if !errors.Is(err, sandbox.ErrUnavailable) {
		return fmt.Errorf("%s: not root, and the sandbox could not start: %w", what, err)
	}
	return cli.Exit(fmt.Sprintf("wiredojo: %s needs root, or a sandbox of unprivileged user namespaces, which this machine does not give: %v.\n"+
		"Run it as root (sudo wiredojo ...), or ask an administrator to allow unprivileged user namespaces.", what, err), exitRuntime)
}

// Capabilities the sandboxed commands need (linux/capability.h).
const (
	capNetAdmin = 12 // namespaces, TUN devices, the link
	capNetRaw   = 13 // AF_PACKET sockets
)

// inRunningSandbox runs this command line again inside the user's sandbox
// when this process lacks capability bit and a sandbox runs (link down and
// link status look at what link up made there).
func inRunningSandbox(c *cli.Context, bit uint) (handled bool, err error) {
	if sandbox.Capable(bit) || sandbox.Inside() {
		return false, nil
	}
	sb, err := sandbox.Find(sandbox.DefaultDir())
	if err != nil {
		return false, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return true, err
	}
	return true, sandboxExecSelf(c, sb, append([]string{exe}, os.Args[1:]...))
}

// sandboxPrefix is what a command printed for the student to copy needs in
// front inside the persistent sandbox.
func sandboxPrefix() string {
	if sandbox.InsidePersistent() {
		return "wiredojo sandbox -- "
	}
	return ""
}
