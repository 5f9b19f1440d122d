package testkit

import (
	"fmt"
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
	v, err := Within(d, what, ch)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return v
}

// Within waits up to d for a value on ch and returns an error naming what
// it waited for when none comes: Recv for code that reports errors
// instead of failing the test (a closure run on another goroutine).
func Within[T any](d time.Duration, what string, ch <-chan T) (T, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v, nil
	case <-timer.C:
		var zero T
		return zero, fmt.Errorf("waited %v for %s", d, what)
	}
}
