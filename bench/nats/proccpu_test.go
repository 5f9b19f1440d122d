package natsbench

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// spinEnv makes the test binary spin (spin) instead of running tests.
const spinEnv = "NATSBENCH_TEST_SPIN"

// spin uses 0.3 s of CPU time, by the process's own account.
func spin() {
	for {
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
			return
		}
		if time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) >= 300*time.Millisecond {
			return
		}
		for i := 0; i < 1e6; i++ {
		}
	}
}

// TestTreeCPUKeepsEndedChildren: the CPU time of a child that ended and
// was waited for stays in its parent's tree sum (the socket.io harness's
// node processes end while chatbench reads their CPU time).
func TestTreeCPUKeepsEndedChildren(t *testing.T) {
	// The child (this test binary, spinEnv set) spins until it has used
	// 0.3 s of CPU time, then ends; the shell waits for it, then sleeps
	// for the readings.
	cmd := exec.Command("sh", "-c", `"$0"; echo done; sleep 10`, os.Args[0])
	cmd.Env = append(os.Environ(), spinEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	done := make(chan error, 1)
	go func() {
		var b [5]byte
		_, err := out.Read(b[:])
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("reading the shell's output: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the child did not use 0.3 s of CPU and end within 30 s")
	}
	d, err := treeCPU(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if d < 250*time.Millisecond {
		t.Fatalf("treeCPU = %v after a child used 0.3 s and ended, want its time counted", d)
	}
}

// Two spinning processes pinned to one CPU each wait for it about half
// the time, which procRunqWait reads from /proc/PID/task/*/schedstat.
func TestProcRunqWait(t *testing.T) {
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("no taskset")
	}
	if _, err := os.Stat("/proc/self/schedstat"); err != nil {
		t.Skip("no schedstat:", err)
	}
	var cmds []*exec.Cmd
	for i := 0; i < 2; i++ {
		cmd := exec.Command("taskset", "-c", "0", "sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		cmds = append(cmds, cmd)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		w := procRunqWait(cmds[0].Process.Pid) + procRunqWait(cmds[1].Process.Pid)
		if w >= 50*time.Millisecond {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("two spinners on one CPU waited %v for it in 10 s, want at least 50 ms", w)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The steal time is the cpu line's eighth value, in 10 ms ticks.
func TestParseSteal(t *testing.T) {
	stat := "cpu  1166468 34226 194327 2585583 6276 0 27023 59930 0 0\ncpu0 584178 18331 97504 1291032 3884 0 12598 29873 0 0\n"
	if got, want := parseSteal(stat), 599300*time.Millisecond; got != want {
		t.Errorf("parseSteal = %v, want %v", got, want)
	}
	if got := parseSteal("intr 1 2 3\n"); got != 0 {
		t.Errorf("parseSteal of a text without the cpu line = %v, want 0", got)
	}
}
