#!/usr/bin/env bash
# Durable queues end to end: durable publish, deliver and ack with tcpchat
# (bbolt store, Redis store) and NATS JetStream (embedded nats-server, file
# storage, explicit acks; with fsync on every write and with its default
# sync), on the same workload, in the same run. The program lives in the
# bench/jetstream module. Prints the markdown section of docs/BENCHMARKS.md
# on stdout, progress on stderr. QUEUE_BENCH_N, QUEUE_BENCH_PUBS and
# QUEUE_BENCH_SIZE override the defaults below.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${QUEUE_BENCH_N:-5000}
pubs=${QUEUE_BENCH_PUBS:-8}
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
echo "queue: $n events, $pubs publishers, $size bytes: $systems" >&2
table=$("$tmp/queuebench" -n "$n" -p "$pubs" -s "$size" -systems "$systems")
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "## Durable queues: publish, deliver, ack (tcpchat vs NATS JetStream)"
echo
echo "$n events of $size bytes from $pubs concurrent publishers to one consumer on loopback. A publish"
echo "returns once the event is stored (tcpchat: \`EmitDurable\` returned; JetStream: the PubAck arrived);"
echo "the consumer acknowledges each event after receiving it (tcpchat's Go client after its handler;"
echo "JetStream \`Ack\`, explicit ack policy, 256 acks pending at most like tcpchat's in-flight window)."
echo "events/s from the first publish to the last delivery; latency from publish start to delivery."
echo "bbolt fsyncs every commit (group commit); Redis runs with \`appendfsync always\`; JetStream"
echo "\"sync always\" fsyncs every write, its default syncs every 2 minutes (not crash-safe for the last"
echo "writes). Load average before the run: $load."
echo
echo "$table"
