package labs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrSetupDied is matched by the error of a lab's Run when a program it
// started ended before the learner stopped the lab.
var ErrSetupDied = errors.New("the lab's set-up died")

// sandboxed returns env with the set-up's programs started in wiredojo's
// sandbox (`wiredojo sandbox -- ...`): a private network where the learner
// is root without sudo, so that live capture works; the learner's own
// commands join it with the same prefix.
func (e *Env) sandboxed() *Env {
	c := *e
	c.Via = []string{e.Self, "sandbox", "--"}
	return &c
}

// proc is a program a lab's Run started; stop ends it.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the program has ended
	err  error         // its exit, set before done is closed
	log  *os.File
	seen *watch // what it printed, for its ready line
}

// watch is an output that remembers whether a text has gone through it.
type watch struct {
	mu   sync.Mutex
	text string
	tail []byte        // the last bytes written, to find text across writes
	hit  chan struct{} // closed once text was seen
}

func newWatch(text string) *watch { return &watch{text: text, hit: make(chan struct{})} }

func (w *watch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.text == "" {
		return len(b), nil
	}
	select {
	case <-w.hit:
		return len(b), nil
	default:
	}
	w.tail = append(w.tail, b...)
	if bytes.Contains(w.tail, []byte(w.text)) {
		close(w.hit)
		w.tail = nil
		return len(b), nil
	}
	if keep := len(w.text); len(w.tail) > keep {
		w.tail = append(w.tail[:0], w.tail[len(w.tail)-keep:]...)
	}
	return len(b), nil
}

// start runs a set-up program, printing it first as the learner would
// type it. Its output goes to the lab's log file c.log when set, and to
// env.Out.
func (e *Env) start(c command) (*proc, error) {
	via := ""
	if len(e.Via) > 1 && c.prog == "" { // Via[0] is this program, as in wiredojo sandbox --
		via = "wiredojo " + quoteArgs(e.Via[1:]) + " "
	}
	fmt.Fprintf(e.Out, "$ %s%s\n", via, c)
	argv := append(append(append([]string{}, e.Via...), e.Self), c.args...)
	if c.prog != "" {
		argv = append([]string{c.prog}, c.args...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	p := &proc{cmd: cmd, done: make(chan struct{}), seen: newWatch(c.ready)}
	logName := c.log
	var out io.Writer = io.MultiWriter(e.Out, p.seen)
	if logName != "" {
		f, err := os.OpenFile(e.Path(logName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", logName, err)
		}
		p.log = f
		out = io.MultiWriter(f, e.Out, p.seen)
		if c.quiet {
			out = io.MultiWriter(f, p.seen)
		}
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		p.closeLog()
		return nil, fmt.Errorf("starting %s: %w", c, err)
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

// ready waits until the program prints c.ready (or, without one, has
// stayed up for c.settle), so that "ready" is true when the lab says it.
// The program's own words are the test, not a dial from here: a program
// in a sandbox listens in a network of its own.
func (p *proc) ready(ctx context.Context, c command) error {
	early := func() error {
		err := p.err
		if err == nil {
			err = errors.New("it exited")
		}
		return fmt.Errorf("stopped at once (%v): is the port in use, or another lab running?", err)
	}
	if c.ready == "" {
		if gone, _ := p.exited(c.settle); gone {
			return early()
		}
		return nil
	}
	select {
	case <-p.seen.hit:
		return nil
	case <-p.done:
		return early()
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(30 * time.Second):
		return fmt.Errorf("did not say %q within 30 s", c.ready)
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
		p, err := e.start(c)
		if err != nil {
			return err
		}
		started = append(started, p)
		if err := p.ready(ctx, c); err != nil {
			return fmt.Errorf("%s %w", c, err)
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
		return fmt.Errorf("%s stopped (%v), see its output above: %w", cmds[i], err, ErrSetupDied)
	}
}

// command is one program of a lab's set-up.
type command struct {
	prog   string // the program; "" is wiredojo itself
	quiet  bool   // its output goes to its log only
	args   []string
	log    string        // file in the lab folder for its output ("" = terminal)
	settle time.Duration // without ready: how long it must stay up to count as started
	ready  string        // what it prints once it serves
}

func cmd(log string, args ...string) command {
	c := command{args: args, log: log, settle: 300 * time.Millisecond}
	if len(args) > 1 && args[0] == "chat" && args[1] == "serve" {
		c.ready = "serving on"
	}
	return c
}

// String is the command as the learner would type it.
func (c command) String() string {
	name := "wiredojo"
	if c.prog != "" {
		name = filepath.Base(c.prog)
	}
	return name + " " + quoteArgs(c.args)
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
