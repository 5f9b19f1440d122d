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
