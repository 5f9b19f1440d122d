package testkit

import (
	"bufio"
	"io"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Proc is a program a test runs and talks to line by line: the test
// writes lines to its stdin and reads the lines of its output.
type Proc struct {
	// Lines carries the program's output line by line (stdout, and stderr
	// too unless the caller gave cmd a Stderr of its own); it is closed
	// when the program's output ends.
	Lines <-chan string
	stdin io.WriteCloser
}

// StartProc starts cmd with a pipe on its stdin and its output read line
// by line (lines up to 1 MiB). When the test ends, the program's stdin is
// closed and it has grace to exit before it is killed; the reading
// goroutine ends with it.
func StartProc(t testing.TB, cmd *exec.Cmd, grace time.Duration) *Proc {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Stderr == nil {
		cmd.Stderr = cmd.Stdout
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	lines := make(chan string, 256)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		exited := make(chan struct{})
		go func() {
			for range lines { // nobody reads them any more
			}
			wg.Wait()
			cmd.Wait()
			close(exited)
		}()
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-exited:
		case <-timer.C:
			cmd.Process.Kill()
			<-exited
		}
	})
	return &Proc{Lines: lines, stdin: stdin}
}

// Say writes line and a newline to the program's stdin.
func (p *Proc) Say(line string) error {
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

// Next waits up to d for the program's next line and fails the test,
// naming what it waited for, when none comes or the output has ended.
func (p *Proc) Next(t testing.TB, d time.Duration, what string) string {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case l, ok := <-p.Lines:
		if !ok {
			t.Fatalf("the program's output ended while waiting for %s", what)
		}
		return l
	case <-timer.C:
		t.Fatalf("waited %v for %s", d, what)
		return ""
	}
}
