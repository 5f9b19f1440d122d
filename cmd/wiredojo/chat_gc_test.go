package main

import (
	"regexp"
	"testing"
)

// chat serve collects its start-up's garbage before it serves, so that its
// first collection (at the runtime's least heap goal, which the start-up
// nearly fills) does not come under the first clients' traffic: in a paced
// benchmark case at one subscriber that collection's mark phase ran
// 26-446 ms inside the measured seconds, the tail of the latencies.
func TestChatServeCollectsBeforeServing(t *testing.T) {
	t.Setenv("GODEBUG", "gctrace=1") // the runtime's line per collection, on stderr
	ch := startChatServeProcess(t, "--release-idle", "0")
	chatWaitFor(t, "chat serve's forced collection", ch.out, regexp.MustCompile(`(?m)^gc \d+ @.*\(forced\)$`))
}
