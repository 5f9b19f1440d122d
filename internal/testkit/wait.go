package testkit

import (
	"testing"
	"time"
)

// pollEvery is how often Eventually asks again.
const pollEvery = 5 * time.Millisecond

// Eventually polls cond until it holds and fails the test, naming what it
// waited for ("the sandbox's namespace to be freed"), when it does not
// within d. cond may itself fail the test (an early exit it can see).
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(pollEvery)
	}
}

// Recv waits up to d for a value on ch and fails the test, naming what it
// waited for, when none comes.
func Recv[T any](t testing.TB, d time.Duration, what string, ch <-chan T) T {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("waited %v for %s", d, what)
		var zero T
		return zero
	}
}
