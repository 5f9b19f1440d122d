// Package natsbench measures wiredojo's event chat (package tcpchat) side by
// side with NATS core (an embedded nats-server and nats.go clients) on the
// same workloads, in the same run:
//
//   - broadcast fan-out on loopback: one publisher, N subscribers, fixed-size
//     events carrying the publisher's timestamp, delivered events per second
//     and latency percentiles measured at receipt (RunFanout);
//   - memory per idle connection in the server process, with the clients in
//     another process (MeasureIdleNATS; the chat's own figure comes from
//     tcpchat's BenchmarkIdleConnMemory, which uses the same method).
//
// It is a module of its own so that the NATS dependencies stay out of
// wiredojo's go.mod; nothing in the main module imports it. It does not
// judge the numbers: cmd/chatbench prints them and
// scripts/bench.d/20-chat.sh turns them into the chat section of
// docs/BENCHMARKS.md.
package natsbench
