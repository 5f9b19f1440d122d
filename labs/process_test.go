package labs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testkit"
)

// A program of the set-up that dies after the lab said "ready" ends the
// run with ErrSetupDied and names the program, instead of leaving the
// learner with a lab that cannot work.
func TestRunAllStopsWhenAProgramDies(t *testing.T) {
	env := testEnv(t)
	env.Self = "/bin/sh"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The second program dies when the test says so, after "ready".
	die := filepath.Join(env.Dir, "die")
	done := make(chan error, 1)
	go func() {
		done <- env.runAll(ctx, []command{
			{args: []string{"-c", "exec sleep 60"}, settle: time.Millisecond},
			{args: []string{"-c", "while [ ! -e " + die + " ]; do sleep 0.01; done; exit 3"}, settle: time.Millisecond},
		})
	}()
	for !strings.Contains(env.Out.(*testkit.Buffer).String(), "ready") {
		select {
		case err := <-done:
			t.Fatalf("runAll ended before ready: %v\n%s", err, env.Out)
		case <-ctx.Done():
			t.Fatalf("runAll never said ready:\n%s", env.Out)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := os.WriteFile(die, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrSetupDied) || !strings.Contains(err.Error(), "exit 3") || !strings.Contains(err.Error(), "exit status 3") {
			t.Fatalf("runAll = %v; want ErrSetupDied naming the program and its exit status", err)
		}
	case <-ctx.Done():
		t.Fatalf("runAll still running after its program died:\n%s", env.Out)
	}
	if !strings.Contains(env.Out.(*testkit.Buffer).String(), "stopped and cleaned up") {
		t.Fatalf("the other program was not stopped:\n%s", env.Out)
	}
}

// The ready line is found even when it arrives split over writes.
func TestWatchFindsTextAcrossWrites(t *testing.T) {
	w := newWatch("serving on")
	for _, s := range []string{"chat: ser", "v", "ing", " on 127.0.0.1:7071\n", "more\n"} {
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-w.hit:
	default:
		t.Fatal("the watch missed a ready line split over writes")
	}
	n := newWatch("serving on")
	_, _ = n.Write([]byte("serving o\nn"))
	select {
	case <-n.hit:
		t.Fatal("the watch saw a text that was not written")
	default:
	}
}
