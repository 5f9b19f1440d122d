package labs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// ErrNoSuchLab is returned for a lab number that the catalog does not have.
var ErrNoSuchLab = errors.New("labs: no such lab")

// Lab is one exercise: a text to read, hints, a set-up and a check.
type Lab struct {
	Number int
	Slug   string // short name, used for the lab's folder
	Title  string
	Goal   string   // one line, shown by `lab list`
	Text   string   // the lab's text, a small Markdown subset (see Render)
	Hints  []string // in tiers: the first is gentle, the last gives it away
	// Run sets up what the lab needs and prints every command it runs on
	// env.Out. When Serves, it blocks until ctx is done (or a program it
	// started dies) and cleans up before it returns; else it returns once
	// the set-up is in place (files written). Nil means no set-up.
	Run    func(ctx context.Context, env *Env) error
	Serves bool
	// Check verifies the learner's work from real evidence.
	Check func(ctx context.Context, env *Env) Result
}

// Env is what a lab's Run and Check get: where the learner's files live and
// where to print.
type Env struct {
	Dir  string    // the lab's folder; evidence files go here
	Out  io.Writer // progress and the commands being run
	Self string    // how to invoke wiredojo in printed commands
	// Via is a command prefix the set-up's programs are started through
	// (e.g. a sandbox that gives them a network namespace); empty: directly.
	Via []string
	// Addrs replaces a lab's default listening addresses (tests use free
	// ports); a default that is not a key stays as it is.
	Addrs map[string]string
}

// Addr returns the address to use for a lab's default address def.
func (e *Env) Addr(def string) string {
	if a, ok := e.Addrs[def]; ok {
		return a
	}
	return def
}

// NewEnv returns the environment of lab l, with its folder under the state
// directory (or $WIREDOJO_LAB_DIR/NN-slug when that is set).
func NewEnv(l *Lab, out io.Writer) (*Env, error) {
	base := os.Getenv("WIREDOJO_LAB_DIR")
	if base == "" {
		st, err := StateDir()
		if err != nil {
			return nil, err
		}
		base = filepath.Join(st, "labs")
	}
	dir := filepath.Join(base, fmt.Sprintf("%02d-%s", l.Number, l.Slug))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("labs: creating the lab folder: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		self = "wiredojo"
	}
	return &Env{Dir: dir, Out: out, Self: self}, nil
}

// Reset removes every file of the learner's work from the lab's folder,
// so that the lab starts over (its check fails again). The folder itself
// stays, empty, as a fresh lab has it: the text's first steps may write
// into it before any lab command made it again.
func (e *Env) Reset() error {
	if err := os.RemoveAll(e.Dir); err != nil {
		return fmt.Errorf("labs: removing %s: %w", e.Dir, err)
	}
	if err := os.MkdirAll(e.Dir, 0o755); err != nil {
		return fmt.Errorf("labs: creating the lab folder: %w", err)
	}
	return nil
}

// Path returns the path of a file in the lab's folder.
func (e *Env) Path(name string) string { return filepath.Join(e.Dir, name) }

// Item is one point of a check.
type Item struct {
	Name   string // what is checked, e.g. "three-way handshake"
	OK     bool
	Detail string // on failure: what is missing and what to do
}

// Result is the outcome of a check.
type Result struct {
	Passed bool
	Items  []Item
}

// Add records one point of the check; Passed stays true only while every
// point is OK.
func (r *Result) Add(name string, ok bool, detail string) {
	r.Items = append(r.Items, Item{Name: name, OK: ok, Detail: detail})
	r.Passed = r.passed()
}

func (r *Result) passed() bool {
	for _, it := range r.Items {
		if !it.OK {
			return false
		}
	}
	return len(r.Items) > 0
}

// Fail returns a failed Result with one item.
func Fail(name, detail string) Result {
	var r Result
	r.Add(name, false, detail)
	return r
}

// Book is an ordered set of labs.
type Book []*Lab

// Lab returns lab number n.
func (b Book) Lab(n int) (*Lab, error) {
	for _, l := range b {
		if l.Number == n {
			return l, nil
		}
	}
	return nil, fmt.Errorf("%w: %d (there are labs 1 to %d; see `wiredojo lab list`)", ErrNoSuchLab, n, len(b))
}

// Find returns the lab named by its number or slug.
func (b Book) Find(arg string) (*Lab, error) {
	if n, err := strconv.Atoi(arg); err == nil {
		return b.Lab(n)
	}
	for _, l := range b {
		if l.Slug == arg {
			return l, nil
		}
	}
	return nil, fmt.Errorf("%w: %q (use a number from `wiredojo lab list`)", ErrNoSuchLab, arg)
}
