package labs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A program of the set-up that dies after the lab said "ready" ends the
// run with ErrSetupDied and names the program, instead of leaving the
// learner with a lab that cannot work.
func TestRunAllStopsWhenAProgramDies(t *testing.T) {
	env := testEnv(t)
	env.Self = "/bin/sh"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- env.runAll(ctx, []command{
			{args: []string{"-c", "exec sleep 60"}, settle: time.Millisecond},
			{args: []string{"-c", "sleep 0.3; exit 3"}, settle: time.Millisecond},
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrSetupDied) || !strings.Contains(err.Error(), "exit 3") || !strings.Contains(err.Error(), "exit status 3") {
			t.Fatalf("runAll = %v; want ErrSetupDied naming the program and its exit status", err)
		}
	case <-ctx.Done():
		t.Fatalf("runAll still running after its program died:\n%s", env.Out)
	}
	if !strings.Contains(env.Out.(*syncBuffer).String(), "stopped and cleaned up") {
		t.Fatalf("the other program was not stopped:\n%s", env.Out)
	}
}
