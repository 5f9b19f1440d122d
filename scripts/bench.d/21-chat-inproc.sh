#!/usr/bin/env bash
# The in-process comparison of the event chat with NATS core, labelled as
# such: server and clients in one process (chatbench fanout: a tcpchat
# server and Go clients; an embedded nats-server and nats.go clients), the
# systems alternating case by case; and the idle figure from tcpchat's
# BenchmarkIdleConnMemory beside chatbench idle-nats. The comparison as
# users run it, each server a process of its own, is 20-chat.sh.
# Prints the markdown section of docs/BENCHMARKS.md on stdout, progress on
# stderr. CHAT_BENCH_DELIVERIES, CHAT_BENCH_WINDOW, CHAT_BENCH_RUNS and
# CHAT_BENCH_PACED override the defaults below.
set -euo pipefail
cd "$(dirname "$0")/../.."
deliveries=${CHAT_BENCH_DELIVERIES:-300000}
window=${CHAT_BENCH_WINDOW:-256}
runs=${CHAT_BENCH_RUNS:-5}
idle=10000 # as tcpchat's BenchmarkIdleConnMemory
paced=${CHAT_BENCH_PACED:-20000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 10,000 connections need that many descriptors in the process.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fds=$(ulimit -n)

echo "chat: building bench/nats" >&2
(cd bench/nats && go build -o "$tmp/chatbench" ./cmd/chatbench)

load=$(cut -d' ' -f1-3 /proc/loadavg)

echo "chat: fan-out with a window of $window events ($runs runs per case)" >&2
windowed=$("$tmp/chatbench" fanout -n 1,10,100 -deliveries "$deliveries" -window "$window" -runs "$runs")
echo "chat: fan-out paced at $paced deliveries/s" >&2
pacedtab=$("$tmp/chatbench" fanout -n 1,10,100 -deliveries $((deliveries / 5)) -window "$window" -paced "$paced" -runs 1)
echo "chat: fan-out without flow control" >&2
unbounded=$("$tmp/chatbench" fanout -n 1,10,100 -deliveries "$deliveries" -window 0 -runs 1)

ours_idle="" nats_idle="" idle_note=""
if [ "$fds" = unlimited ] || [ "$fds" -ge $((idle + 100)) ]; then
	echo "chat: idle memory, $idle tcpchat connections" >&2
	# "total heap stacks" in bytes per connection (heap and stacks empty if
	# the benchmark does not report them).
	ours_idle=$(go test -run '^$' -bench '^BenchmarkIdleConnMemory$' -benchtime 1x -count 1 ./tcpchat/ 2>&1 |
		awk '/^BenchmarkIdleConnMemory/ { for (i = 2; i <= NF; i++) { if ($i == "B/conn") t = $(i - 1); if ($i == "heap-B/conn") h = $(i - 1); if ($i == "stack-B/conn") s = $(i - 1) }; if (t != "") print t, h, s }')
	echo "chat: idle memory, $idle NATS connections" >&2
	nats_idle=$("$tmp/chatbench" idle-nats -n "$idle")
	if [ -z "$ours_idle" ] || [ -z "$nats_idle" ]; then
		idle_note="not measured: tcpchat's BenchmarkIdleConnMemory or chatbench idle-nats printed no figure"
	fi
else
	idle_note="not measured: the descriptor limit is $fds (ulimit -n), below the $idle connections needed"
fi

echo "## In-process: event chat (tcpchat) against NATS core, server and clients in one process"
echo
echo "Load average when the fan-out began: $load (1, 5, 15 min) on $(nproc) cores;"
echo "other work on the machine moves these figures from run to run, which is"
echo "why the two systems alternate case by case."
echo
echo "Broadcast fan-out on loopback: one publisher, N subscribers, 128-byte events"
echo "(the same 128 bytes in both systems: the event's JSON argument array for"
echo "wiredojo, the message body for NATS). wiredojo: a tcpchat server with its"
echo "defaults (send queue 1024 packets, slow-consumer wait 2 s) except the"
echo "per-connection rate limit, which is off; N tcpchat Go clients in one room;"
echo "a tcpchat client publisher"
echo "whose events the server broadcasts to the room. NATS core: an embedded"
echo "nats-server with its defaults, N nats.go subscribers on one subject, a"
echo "nats.go publisher. Server and clients run in one process for both, the two"
echo "systems alternate in the same run. Each case sends $deliveries / N measured"
echo "events after a warm-up of a tenth as many; events/s counts deliveries"
echo "(events received, summed over subscribers) from the first measured send to"
echo "the last receipt; latency is from the publisher's timestamp in the payload"
echo "to receipt, over every delivery. lost counts expected deliveries that did"
echo "not happen; cuts are the server's slow-consumer disconnections (and"
echo "nats.go's own drops). Neither client reconnects, so a cut stays visible."
echo
echo "### With flow control: at most $window events in flight ($runs runs)"
echo
echo "The publisher waits while it is more than $window events ahead of the"
echo "slowest subscriber, so neither server needs to cut anyone; latency is"
echo "therefore latency under full load, with up to $window events queued."
echo "Each case runs $runs times, wiredojo then NATS back to back: events/s is"
echo "each system's median run (latency and losses from that run), ratio the"
echo "median of the $runs back-to-back ratios (wiredojo / NATS), with their range."
echo
echo "$windowed"
echo
echo "### Latency below saturation: paced at $paced deliveries/s (one run)"
echo
echo "The same workload with the publisher paced at $paced / N events per second"
echo "($((deliveries / 5)) / N events), so latency is not queueing behind a full window."
echo
echo "$pacedtab"
echo
echo "### Without flow control (one run)"
echo
echo "The publisher sends as fast as it can; each server's slow-consumer policy"
echo "decides (tcpchat: a broadcast to a connection whose 1024-packet queue is"
echo "full waits up to 2 s for room, which stops reading the publisher's"
echo "connection and so slows the publisher through TCP, and cuts the connection"
echo "only after that; the nats-server buffers up to 64 MiB per connection and"
echo "cuts beyond). events/s and latency count only what was delivered."
echo
echo "$unbounded"
echo
echo "### Memory per idle connection"
echo
if [ -n "$idle_note" ]; then
	echo "Idle connections: $idle_note."
else
	awk -v o="$ours_idle" -v n="$nats_idle" -v c="$idle" 'BEGIN {
		split(o, ov, " "); split(n, nv, " ")
		printf "%d idle connections, each handshaken (wiredojo: joined namespace \"/\";\n", c
		printf "NATS: CONNECT and PING/PONG). Live heap and goroutine stacks of the server\n"
		printf "process from runtime/metrics after GC, before and after the clients connect,\n"
		printf "divided by %d; the clients run in another process. wiredojo'"'"'s figure is\n", c
		printf "tcpchat'"'"'s BenchmarkIdleConnMemory, NATS'"'"'s the same method in bench/nats.\n\n"
		printf "| | bytes/conn | heap | stacks | KiB/conn |\n|---|---:|---:|---:|---:|\n"
		printf "| wiredojo (tcpchat) | %.0f | %s | %s | %.1f |\n", ov[1], (ov[2] == "" ? "?" : ov[2]), (ov[3] == "" ? "?" : ov[3]), ov[1] / 1024
		printf "| NATS core (nats-server) | %.0f | %s | %s | %.1f |\n\n", nv[1], nv[2], nv[3], nv[1] / 1024
		printf "Goal (at most 5 KiB per idle connection): wiredojo %.1f KiB, %s; %.2fx NATS core'"'"'s.\n",
			ov[1] / 1024, (ov[1] <= 5120 ? "met" : "missed"), ov[1] / nv[1]
	}'
fi
