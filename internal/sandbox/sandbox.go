package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Environment variables between a program and its sandboxed self.
const (
	envInit   = "WIREDOJO_SANDBOX_INIT" // "run": a one-shot child; "hold": a holder; "supervise": Supervised's supervisor
	envInside = "WIREDOJO_SANDBOX"      // set inside: the state directory, or "one-shot"
)

// Errors.
var (
	// ErrUnavailable wraps the reason a sandbox cannot be made here.
	ErrUnavailable = errors.New("sandbox: unprivileged user namespaces are not available")
	// ErrNotRunning is returned by Find when no persistent sandbox runs.
	ErrNotRunning = errors.New("sandbox: no sandbox is running")
)

// Init prepares the sandbox when this process is a sandboxed child started
// by RunSelf or Ensure (private mounts, a tmpfs on /run, lo up); a holder
// never returns from it. In any other process it does nothing. Call it
// first thing in main (or from an init function).
func Init() {
	mode := os.Getenv(envInit)
	if mode == "" {
		return
	}
	os.Unsetenv(envInit)
	if mode == "supervise" {
		os.Exit(supervise(os.Args[1:]))
	}
	if err := prepare(mode == "hold"); err != nil {
		fmt.Fprintf(os.Stderr, "wiredojo: sandbox: %v\n", err)
		os.Exit(1)
	}
	if mode == "hold" {
		hold()
	}
}

// Capable reports whether this process is root or holds capability bit
// (linux/capability.h: 12 CAP_NET_ADMIN, 13 CAP_NET_RAW) in its effective
// set.
func Capable(bit uint) bool {
	if os.Geteuid() == 0 {
		return true
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<bit) != 0
		}
	}
	return false
}

// InUse reports whether any process lives in network namespace ns, as
// /proc/PID/ns/net names it ("net:[4026532...]"): a check that a sandbox
// left nothing behind.
func InUse(ns string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/ns/net")
	for _, p := range procs {
		if l, err := os.Readlink(p); err == nil && l == ns {
			return true
		}
	}
	return false
}

// Inside reports whether this process runs in a wiredojo sandbox.
func Inside() bool { return os.Getenv(envInside) != "" }

// InsidePersistent reports whether this process runs in the persistent
// sandbox (`wiredojo sandbox start`), not a one-shot one: its pids are the
// sandbox's, and a command for the learner to copy needs `wiredojo sandbox
// --` in front.
func InsidePersistent() bool { return Inside() && os.Getenv(envInside) != "one-shot" }

func prepare(pidns bool) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make the mounts private: %w", err)
	}
	// A private /run: ip netns keeps its namespaces in /run/netns.
	if err := unix.Mount("tmpfs", "/run", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"); err != nil {
		return fmt.Errorf("mount a private /run: %w", err)
	}
	if pidns {
		// ps and /proc/PID inside show the sandbox's own processes.
		_ = unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	}
	return loUp()
}

// loUp brings the loopback device of this network namespace up.
func loUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	return nil
}

// hold is the holder's life: PID 1 of the sandbox's PID namespace. It says
// it is ready on descriptor 3, reaps the orphans that come to it, and exits
// on SIGTERM, SIGINT or SIGHUP, which ends every process inside.
func hold() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGCHLD)
	if f := os.NewFile(3, "ready"); f != nil {
		_, _ = f.Write([]byte{1})
		f.Close()
	}
	for s := range sigs {
		if s != unix.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws unix.WaitStatus
			if pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}

func sysProcAttr(persistent bool) *syscall.SysProcAttr {
	flags := unix.CLONE_NEWUSER | unix.CLONE_NEWNET | unix.CLONE_NEWNS
	if persistent {
		flags |= unix.CLONE_NEWPID
	}
	return &syscall.SysProcAttr{
		Cloneflags:  uintptr(flags),
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		Setsid:      persistent,
	}
}

// Check reports whether a sandbox can be made here. Its error wraps
// ErrUnavailable and says what is missing.
func Check() error {
	for _, s := range []struct{ file, off, why string }{
		{"/proc/sys/kernel/unprivileged_userns_clone", "0", "kernel.unprivileged_userns_clone is 0 (an administrator can set it to 1)"},
		{"/proc/sys/user/max_user_namespaces", "0", "user.max_user_namespaces is 0 (an administrator can raise it)"},
		{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1", "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns is 1)"},
	} {
		if b, err := os.ReadFile(s.file); err == nil && strings.TrimSpace(string(b)) == s.off {
			return fmt.Errorf("%w: %s", ErrUnavailable, s.why)
		}
	}
	bin, err := exec.LookPath("true")
	if err != nil {
		return fmt.Errorf("%w: no `true` program to try one with", ErrUnavailable)
	}
	cmd := exec.Command(bin)
	cmd.SysProcAttr = sysProcAttr(false)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: creating user, network and mount namespaces failed: %v", ErrUnavailable, err)
	}
	return nil
}

// RunSelf runs this program again with args inside a fresh one-shot
// sandbox, with the given standard streams, and returns its exit status.
// The sandbox ends with the program. When ctx ends first the program gets
// SIGINT (as from Ctrl-C), and SIGKILL if it has not ended 10 s later;
// when this process dies without that (SIGKILL), the program gets SIGKILL.
func RunSelf(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("sandbox: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append(os.Environ(), envInit+"=run", envInside+"=one-shot")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.SysProcAttr = sysProcAttr(false)
	// The program ends with this process, however this one ends (SIGKILL
	// too, which runs none of its own clean-up): the kernel sends it
	// SIGKILL when the thread that started it exits. SIGKILL, not SIGINT:
	// nothing is left to read its output or its status, and a program that
	// caught SIGINT and lingered would have no one to send the SIGKILL that
	// WaitDelay gives otherwise. It leaves nothing behind: the namespaces,
	// mounts and links are the kernel's and go with their last process, and
	// the demo's capture (its one child that runs long) has a parent-death
	// signal of its own. The signal survives into the user namespace (no
	// credential change clears it: TestRunSelfEndsWithItsParent).
	cmd.SysProcAttr.Pdeathsig = unix.SIGKILL
	// That thread must live while the program runs: a goroutine that locks
	// its thread and returns without unlocking it (udpcast/link does so)
	// ends the thread. Locked here, no other goroutine runs on it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	err = cmd.Run()
	if ctx.Err() != nil && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		err = nil // it ended well after the interrupt: not an error of its own
	}
	return ExitStatus(err)
}

// ExitStatus returns the exit status of a command that ended with err (from
// exec.Cmd's Run or Wait) as a shell gives it: 128+N when signal N killed
// it. An error that is no exit status is returned wrapped.
func ExitStatus(err error) (int, error) {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return 0, fmt.Errorf("sandbox: %w", err)
}

// Sandbox is a persistent sandbox: a holder process and the namespaces it
// keeps.
type Sandbox struct {
	dir   string
	state state
}

type state struct {
	PID     int       `json:"pid"`
	NetNS   string    `json:"netns"` // the holder's network namespace, as /proc/PID/ns/net names it
	Started time.Time `json:"started"`
}

// DefaultDir is the state directory of the user's sandbox:
// $XDG_STATE_HOME/wiredojo/sandbox (~/.local/state/wiredojo/sandbox).
func DefaultDir() string {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "wiredojo", "sandbox")
}

// PID returns the holder's process id (on the host).
func (s *Sandbox) PID() int { return s.state.PID }

// Dir returns the sandbox's state directory.
func (s *Sandbox) Dir() string { return s.dir }

// NetNS returns the path of the sandbox's network namespace
// (/proc/PID/ns/net), for setns(2).
func (s *Sandbox) NetNS() string { return fmt.Sprintf("/proc/%d/ns/net", s.state.PID) }

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

// Find returns the persistent sandbox recorded in dir if its holder still
// runs, or ErrNotRunning.
func Find(dir string) (*Sandbox, error) {
	b, err := os.ReadFile(statePath(dir))
	if err != nil {
		return nil, ErrNotRunning
	}
	var st state
	if json.Unmarshal(b, &st) != nil || st.PID <= 0 {
		return nil, ErrNotRunning
	}
	if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", st.PID)); err != nil || ns != st.NetNS {
		return nil, ErrNotRunning // gone, or the pid now belongs to another process
	}
	return &Sandbox{dir: dir, state: st}, nil
}

// Ensure returns the persistent sandbox recorded in dir, starting it when
// none runs (started is then true).
func Ensure(dir string) (sb *Sandbox, started bool, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("sandbox: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("sandbox: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return nil, false, fmt.Errorf("sandbox: lock %s: %w", dir, err)
	}
	if sb, err := Find(dir); err == nil {
		return sb, false, nil
	}
	if err := Check(); err != nil {
		return nil, false, err
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		return nil, false, fmt.Errorf("sandbox: nsenter (util-linux) is needed to join a sandbox: %w", err)
	}
	sb, err = start(dir)
	return sb, err == nil, err
}

func start(dir string) (*Sandbox, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envInit+"=hold", envInside+"="+dir)
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = sysProcAttr(true)
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("sandbox: start the holder: %w", err)
	}
	w.Close()
	ready := make(chan error, 1)
	go func() {
		var b [1]byte
		_, err := r.Read(b[:])
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(10 * time.Second):
		err = errors.New("not ready after 10 s")
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("sandbox: the holder did not start: %v", err)
	}
	// The holder outlives this process; while we live, reap it when it ends.
	go func() { _ = cmd.Wait() }()
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid))
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	st := state{PID: cmd.Process.Pid, NetNS: ns, Started: time.Now().UTC()}
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp := statePath(dir) + ".tmp"
	err = os.WriteFile(tmp, b, 0o600)
	if err == nil {
		err = os.Rename(tmp, statePath(dir))
	}
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("sandbox: record the holder: %w", err)
	}
	return &Sandbox{dir: dir, state: st}, nil
}

// Command returns a command that runs name inside the sandbox: nsenter
// joins the holder's user, network, mount and PID namespaces, keeps the
// caller's working directory, and runs name as the sandbox's root (the
// caller's own user outside).
func (s *Sandbox) Command(name string, args ...string) *exec.Cmd {
	wd, err := os.Getwd()
	if err != nil {
		wd = "/"
	}
	all := append([]string{"--target", strconv.Itoa(s.state.PID), "--user", "--net", "--mount", "--pid",
		"--preserve-credentials", "--wd=" + wd, "--", name}, args...)
	cmd := exec.Command("nsenter", all...)
	cmd.Env = append(os.Environ(), envInside+"="+s.dir)
	return cmd
}

// Supervised returns a command that runs name inside the sandbox as
// Command does, for a terminal's foreground job: nsenter and a supervisor
// between it and the program (this executable again, in Init) ignore
// SIGINT, so that Ctrl-C, which reaches every process of the job, ends
// the program alone, as it would end it outside; nsenter then returns the
// program's own exit status (128+N when signal N ended it) once it has
// ended. Without them nsenter, killed by the SIGINT, returned at once,
// before the program had finished going down, and with the signal's
// status instead of the program's. The program starts with SIGINT as
// usual (a supervisor that ignored it by inheritance would pass that on:
// Go's handler is reset by exec, an ignored signal is not). A signal for
// the program alone goes to the supervisor's child: nsenter's grandchild
// (nsenter forks to enter the PID namespace).
func (s *Sandbox) Supervised(name string, args ...string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	cmd := s.Command(self, append([]string{name}, args...)...)
	cmd.Env = append(cmd.Env, envInit+"=supervise")
	cmd.Args = append([]string{"sh", "-c", `trap '' INT; exec "$@"`, "sh", cmd.Path}, cmd.Args[1:]...)
	cmd.Path = sh
	return cmd, nil
}

// supervise runs args (a program and its arguments) and returns its exit
// status, 128+N when signal N ended it: the supervisor of Supervised. It
// asks for SIGINT, SIGTERM and SIGHUP and lets them pass (the program
// gets its own: Ctrl-C reaches the whole job), so that it outlives the
// program to report how it ended, and so that the program starts with
// them at their defaults.
func supervise(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "wiredojo: sandbox: nothing to run")
		return 2
	}
	signal.Notify(make(chan os.Signal, 1), unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "wiredojo: sandbox: %v\n", err)
		return 127 // as a shell says for a program it cannot run
	}
	code, err := ExitStatus(cmd.Wait())
	if err != nil {
		fmt.Fprintf(os.Stderr, "wiredojo: sandbox: %v\n", err)
		return 1
	}
	return code
}

// Stop ends the holder, and with it every process in the sandbox, and
// removes the record. Stopping a sandbox that is not running is not an
// error.
func (s *Sandbox) Stop() error {
	if err := unix.Kill(s.state.PID, unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("sandbox: stop holder %d: %w", s.state.PID, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := Find(s.dir); err != nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sandbox: holder %d still runs 5 s after SIGTERM", s.state.PID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.Remove(statePath(s.dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}
