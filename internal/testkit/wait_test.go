package testkit_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testkit"
)

// fatalRecorder records a Fatalf and stops the calling goroutine the way
// testing.T does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

// expectFatal runs fn and returns the message it failed with ("" if none).
func expectFatal(fn func(tb testing.TB)) (msg string) {
	f := &fatalRecorder{}
	defer func() {
		if r := recover(); r != nil {
			if r != f {
				panic(r)
			}
			msg = f.msg
		}
	}()
	fn(f)
	return ""
}

func TestEventually(t *testing.T) {
	n := 0
	testkit.Eventually(t, time.Second, "three calls", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("cond called %d times, want 3", n)
	}
	msg := expectFatal(func(tb testing.TB) {
		testkit.Eventually(tb, 20*time.Millisecond, "what never happens", func() bool { return false })
	})
	if !strings.Contains(msg, "what never happens") {
		t.Fatalf("a wait that ends without its condition failed with %q; want it to name what it waited for", msg)
	}
}

func TestRecv(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	if v := testkit.Recv(t, time.Second, "the seven", ch); v != 7 {
		t.Fatalf("Recv = %d, want 7", v)
	}
	msg := expectFatal(func(tb testing.TB) {
		testkit.Recv(tb, 20*time.Millisecond, "a value nobody sends", ch)
	})
	if !strings.Contains(msg, "a value nobody sends") {
		t.Fatalf("a receive that times out failed with %q; want it to name what it waited for", msg)
	}
}

func TestWithin(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	if v, err := testkit.Within(time.Second, "the seven", ch); v != 7 || err != nil {
		t.Fatalf("Within = %d, %v; want 7", v, err)
	}
	if _, err := testkit.Within(20*time.Millisecond, "a value nobody sends", ch); err == nil || !strings.Contains(err.Error(), "a value nobody sends") {
		t.Fatalf("a receive that times out returned %v; want an error naming what it waited for", err)
	}
}

func TestProc(t *testing.T) {
	// cat echoes each line back, then ends when its stdin closes.
	p := testkit.StartProc(t, exec.Command("cat"), 5*time.Second)
	if err := p.Say("hello"); err != nil {
		t.Fatal(err)
	}
	if l := p.Next(t, 5*time.Second, "cat's echo"); l != "hello" {
		t.Fatalf("Next = %q, want hello", l)
	}
	msg := expectFatal(func(tb testing.TB) { p.Next(tb, 20*time.Millisecond, "a line cat never prints") })
	if !strings.Contains(msg, "a line cat never prints") {
		t.Fatalf("a Next that times out failed with %q; want it to name what it waited for", msg)
	}
}

func TestProcOutputEnds(t *testing.T) {
	p := testkit.StartProc(t, exec.Command("sh", "-c", "echo one; echo two >&2"), 5*time.Second)
	got := []string{p.Next(t, 5*time.Second, "line one"), p.Next(t, 5*time.Second, "line two (stderr)")}
	if strings.Join(got, ",") != "one,two" {
		t.Fatalf("lines %q, want one, two (stderr merged)", got)
	}
	msg := expectFatal(func(tb testing.TB) { p.Next(tb, 5*time.Second, "a third line") })
	if !strings.Contains(msg, "output ended") {
		t.Fatalf("Next after the end failed with %q; want it to say the output ended", msg)
	}
}
