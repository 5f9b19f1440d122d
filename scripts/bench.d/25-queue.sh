#!/usr/bin/env bash
# Durable queues end to end: pipelined durable publish, deliver and ack
# with tcpchat (bbolt store, Redis store; the built-in durable relay over
# loopback) and NATS JetStream (embedded nats-server, file storage,
# explicit acks, async publish; with fsync on every write and with its
# default sync), from 1 and from 8 publishers, on the same workload, in the
# same run. The program lives in the bench/jetstream module. Prints the
# markdown section of docs/BENCHMARKS.md on stdout, progress on stderr.
# QUEUE_BENCH_N, QUEUE_BENCH_PUBS (a comma-separated list),
# QUEUE_BENCH_WINDOW and QUEUE_BENCH_SIZE override the defaults below.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${QUEUE_BENCH_N:-40000}
pubs=${QUEUE_BENCH_PUBS:-1,8}
window=${QUEUE_BENCH_WINDOW:-256}
size=${QUEUE_BENCH_SIZE:-128}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "queue: building bench/jetstream" >&2
(cd bench/jetstream && go build -o "$tmp/queuebench" .)
systems=bolt,jetstream-sync,jetstream
if command -v redis-server >/dev/null; then
	systems=bolt,redis,jetstream-sync,jetstream
else
	echo "queue: redis-server missing (apt-get install redis-server): Redis left out" >&2
fi
echo "queue: $n events, $pubs publishers, $window in flight each, $size bytes: $systems" >&2
table=$("$tmp/queuebench" -n "$n" -p "$pubs" -w "$window" -s "$size" -systems "$systems")
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "## Durable queues: publish, deliver, ack (tcpchat vs NATS JetStream)"
echo
echo "$n events of $size bytes to one consumer on loopback, from 1 and from 8 publishers (\`$pubs\`), one"
echo "connection each, every publisher keeping up to $window publishes in flight (pipelined). A publish is"
echo "complete once the event is stored: tcpchat's ack of the built-in \`durable\` event"
echo "(\`ClientSocket.EmitWithAckFunc\`; the server acks only after the store write that holds it, for"
echo "bbolt after its fsync), JetStream's PubAck (\`PublishAsync\`). The consumer acknowledges each event"
echo "after receiving it (tcpchat's Go client after its handler; JetStream \`Ack\`, explicit ack policy,"
echo "256 acks pending at most like tcpchat's in-flight window). events/s from the first publish to the"
echo "last delivery; latency from publish start to delivery. The tcpchat server runs in the benchmark's"
echo "process with the chat serve relay (\`builtin.Install\`) and its per-connection packet limit off"
echo "(\`--rate-limit 0\`; the per-address limit is off by default in the library, \`--event-rate-per-addr"
echo "0\`): with chat serve's defaults (1000 packets/s per connection, bursts of 2000; 4000/s per address)"
echo "one pipelining publisher is cut after about 2000 events, and a consumer's acks count too."
echo "bbolt fsyncs every commit (group commit: the durable emits waiting at once share one transaction);"
echo "Redis runs with \`appendfsync always\` (one pipelined round trip per batch of emits); JetStream \"sync always\" fsyncs"
echo "every write, its default syncs every 2 minutes (not crash-safe for the last writes). Load average"
echo "before the run: $load."
echo
echo "$table"
