//go:build race

package engine_test

// raceEnabled: under the race detector sync.Pool drops some of what is
// put back on purpose, so pooled buffers are sometimes allocated again.
const raceEnabled = true
