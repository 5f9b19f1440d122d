package testkit

import (
	"runtime"
	"runtime/metrics"
)

// LiveBytes returns the process's live heap objects and goroutine stacks
// in bytes, after enough collections for idle stacks to have shrunk: the
// idle-connection measurements take it before and after their clients
// connect.
func LiveBytes() (heap, stacks uint64) {
	for range 4 {
		runtime.GC()
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}
