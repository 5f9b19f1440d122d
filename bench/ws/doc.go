// Package wsbench compares wiredojo's framing/ws with gorilla/websocket,
// github.com/gobwas/ws and coder/websocket in one benchmark run: echo round
// trips and one-way throughput over loopback TCP at 16 B, 128 B, 4 KiB and
// 64 KiB, masking speed, and the cost of a server upgrade on a raw
// connection. It is a module of its own so that the peers stay out of
// wiredojo's go.mod. scripts/bench.d/30-ws.sh runs it (the masking
// benchmarks reach the peers' unexported masking functions with
// go:linkname, so it builds with -ldflags=-checklinkname=0) and writes the
// section of docs/BENCHMARKS.md.
package wsbench
