package labs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// ErrSetupDied is matched by the error of a lab's Run when a program it
// started ended before the learner stopped the lab.
var ErrSetupDied = errors.New("the lab's set-up died")

// proc is a program a lab's Run started; stop ends it.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the program has ended
	err  error         // its exit, set before done is closed
	log  *os.File
}

// start runs a wiredojo command (args after the program name), printing it
// first as the learner would type it. Its output goes to logName in the lab
// folder when logName is set, else to env.Out.
func (e *Env) start(logName string, args ...string) (*proc, error) {
	fmt.Fprintf(e.Out, "$ wiredojo %s\n", quoteArgs(args))
	argv := append(append(append([]string{}, e.Via...), e.Self), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	p := &proc{cmd: cmd, done: make(chan struct{})}
	var out io.Writer = e.Out
	if logName != "" {
		f, err := os.OpenFile(e.Path(logName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", logName, err)
		}
		p.log = f
		out = io.MultiWriter(f, e.Out)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		p.closeLog()
		return nil, fmt.Errorf("starting wiredojo %s: %w", args[0], err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// exited reports whether the program ended within d (it failed to start
// its work, e.g. the port was taken).
func (p *proc) exited(d time.Duration) (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	case <-time.After(d):
		return false, nil
	}
}

// ready waits until the program serves c.listen (or, without one, has
// stayed up for c.settle), so that "ready" is true when the lab says it.
func (p *proc) ready(ctx context.Context, c command) error {
	early := func() error {
		err := p.err
		if err == nil {
			err = errors.New("it exited")
		}
		return fmt.Errorf("stopped at once (%v): is the port in use, or another lab running?", err)
	}
	if c.listen == "" {
		if gone, _ := p.exited(c.settle); gone {
			return early()
		}
		return nil
	}
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if conn, err := net.DialTimeout("tcp", c.listen, time.Second); err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-p.done:
			return early()
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("does not answer on %s after 30 s", c.listen)
		case <-tick.C:
		}
	}
}

// stop interrupts the program (as Ctrl-C would), waits for it to clean up,
// and kills it after a grace period.
func (p *proc) stop() {
	defer p.closeLog()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) closeLog() {
	if p.log != nil {
		p.log.Close()
	}
}

// runAll starts the given commands in order, waits until ctx ends, then
// stops them in reverse order. A command that exits early ends the run with
// its error.
func (e *Env) runAll(ctx context.Context, cmds []command) error {
	var started []*proc
	defer func() {
		for i := len(started) - 1; i >= 0; i-- {
			started[i].stop()
		}
		fmt.Fprintln(e.Out, "stopped and cleaned up")
	}()
	for _, c := range cmds {
		p, err := e.start(c.log, c.args...)
		if err != nil {
			return err
		}
		started = append(started, p)
		if err := p.ready(ctx, c); err != nil {
			return fmt.Errorf("wiredojo %s %w", quoteArgs(c.args), err)
		}
	}
	fmt.Fprintln(e.Out, "ready; follow the lab's steps in another terminal (Ctrl-C here stops it)")
	// Wait for Ctrl-C, or for one of the programs to die: then the lab
	// cannot work, and saying so now is better than a check that later
	// blames the learner.
	died := make(chan int, len(started))
	for i, p := range started {
		go func() {
			select {
			case <-p.done:
				died <- i
			case <-ctx.Done():
			}
		}()
	}
	select {
	case <-ctx.Done():
		return nil
	case i := <-died:
		err := started[i].err
		if err == nil {
			err = errors.New("it exited")
		}
		return fmt.Errorf("wiredojo %s stopped (%v), see its output above: %w", quoteArgs(cmds[i].args), err, ErrSetupDied)
	}
}

// command is one program of a lab's set-up.
type command struct {
	args   []string
	log    string        // file in the lab folder for its output ("" = terminal)
	settle time.Duration // without listen: how long it must stay up to count as started
	listen string        // the address it serves once started (its --addr)
}

func cmd(log string, args ...string) command {
	c := command{args: args, log: log, settle: 300 * time.Millisecond}
	for i, a := range args[:max(len(args)-1, 0)] {
		if a == "--addr" {
			c.listen = args[i+1]
		}
	}
	return c
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " '\"$*?&|;<>()") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
