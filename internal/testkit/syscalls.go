package testkit

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// ReadCalls returns the read system calls this process has made so far
// (syscr of /proc/self/io, Linux only): a test that counts reads per frame
// takes it before and after. It counts every goroutine's reads, so such a
// test must not run in parallel with others.
func ReadCalls(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no syscr in /proc/self/io: %q", b)
	return 0
}
