//go:build race

package ws_test

// raceEnabled scales the largest conformance cases down under the race
// detector, which makes them slow without finding more.
const raceEnabled = true
