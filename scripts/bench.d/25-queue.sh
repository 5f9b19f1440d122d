#!/usr/bin/env bash
# Durable queues end to end: pipelined durable publish, deliver and ack
# with tcpchat (`wiredojo chat serve` as a process of its own, bbolt store,
# Redis store; the built-in durable relay over loopback) and NATS
# JetStream (nats-server -js as a process of its own, file storage,
# explicit acks, async publish; with fsync on every write and with its
# default sync), from 1 and from 8 publishers, windows of 256 and 1024
# publishes in flight, on the same workload, in the same run. The program
# lives in the bench/jetstream module; nats-server is built from the Go
# module proxy. Prints the markdown section of docs/BENCHMARKS.md on stdout,
# progress on stderr. QUEUE_BENCH_N, QUEUE_BENCH_PUBS (a comma-separated
# list), QUEUE_BENCH_WINDOWS (the same), QUEUE_BENCH_SIZE and
# QUEUE_BENCH_CLI_N (the events of the `chat emit --durable --from` runs)
# override the defaults below.
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${QUEUE_BENCH_N:-20000}
pubs=${QUEUE_BENCH_PUBS:-1,8}
windows=${QUEUE_BENCH_WINDOWS:-256,1024}
size=${QUEUE_BENCH_SIZE:-128}
clin=${QUEUE_BENCH_CLI_N:-100000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "queue: building bench/jetstream, nats-server and wiredojo" >&2
(cd bench/jetstream && go build -o "$tmp/queuebench" . && go build -o "$tmp/nats-server" github.com/nats-io/nats-server/v2)
go build -tags urfave_cli_no_docs -o "$tmp/wiredojo" ./cmd/wiredojo
systems=bolt,jetstream-sync,jetstream
if command -v redis-server >/dev/null; then
	systems=bolt,redis,jetstream-sync,jetstream
else
	echo "queue: redis-server missing (apt-get install redis-server): Redis left out" >&2
fi
# The fsync latency of this disk now: 4 KiB writes with O_DSYNC.
dsync() {
	local out
	out=$(dd if=/dev/zero of="$tmp/dsync" bs=4k count=200 oflag=dsync 2>&1 | tail -1)
	rm -f "$tmp/dsync"
	awk -v s="$(echo "$out" | awk '{for (i = 1; i <= NF; i++) if ($(i+1) ~ /^s,?$/) print $i}' | tail -1)" 'BEGIN { printf "%.2f", s * 1000 / 200 }'
}
load=$(cut -d' ' -f1-3 /proc/loadavg)
ms_before=$(dsync)
table=""
header=""
for w in ${windows//,/ }; do
	sys=$systems
	[ "$w" != 256 ] && sys=${systems/redis,/}   # Redis: one window is enough
	echo "queue: $n events, $pubs publishers, $w in flight each, $size bytes: $sys" >&2
	rows=$("$tmp/queuebench" -n "$n" -p "$pubs" -w "$w" -s "$size" -systems "$sys" $header \
		-wiredojo "$tmp/wiredojo" -nats-server "$tmp/nats-server" -serve-args "--queue-max $((n + 1000))")
	table+="$rows"$'\n'
	header=-no-header
done
# The CLI as users run it: `chat emit --durable --from FILE` (its default
# --window 256 and 1024), 1 process and 8 at once, against `chat serve
# --store bolt:FILE`; nobody consumes. Prints a table row per case.
awk -v n="$clin" -v size="$size" 'BEGIN { pad = sprintf("%*s", size - 30, ""); gsub(/ /, "x", pad); for (i = 0; i < n; i++) printf "{\"n\":%d,\"text\":\"%s\"}\n", i, pad }' >"$tmp/lines"
tck=$(getconf CLK_TCK)
cli_run() { # processes window
	local procs=$1 w=$2 log="$tmp/serve-cli.log" pid addr="" t0 t1 c0 c1 k0 k1 i queued=0 per
	"$tmp/wiredojo" chat serve --addr 127.0.0.1:0 --store "bolt:$tmp/cli-$procs-$w.db" --queue-max $((clin + 1000)) >"$log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		addr=$(sed -n 's/^chat: serving on \([^ ]*\) .*/\1/p' "$log")
		[ -n "$addr" ] && break
		sleep 0.1
	done
	[ -n "$addr" ] || { echo "queue: chat serve did not start: $(cat "$log")" >&2; kill "$pid"; return 1; }
	per=$((clin / procs))
	head -n "$per" "$tmp/lines" >"$tmp/lines-$procs"
	k0=$(curl -s "http://$addr/metrics" | awk '$1 == "wiredojo_queue_commits_total" { print $2 }')
	c0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	t0=$(date +%s%N)
	local pids=()
	for i in $(seq "$procs"); do
		"$tmp/wiredojo" chat emit --addr "$addr" --durable --to reader --event note --from "$tmp/lines-$procs" --window "$w" >"$tmp/emit-$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || echo "queue: chat emit failed: $(cat "$tmp"/emit-*.out)" >&2; done
	t1=$(date +%s%N)
	c1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	k1=$(curl -s "http://$addr/metrics" | awk '$1 == "wiredojo_queue_commits_total" { print $2 }')
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	rm -f "$tmp/cli-$procs-$w.db"
	for i in $(seq "$procs"); do
		queued=$((queued + $(sed -n 's/.*: \([0-9]*\) durable events queued.*/\1/p' "$tmp/emit-$i.out")))
	done
	echo "queue: chat emit --durable --from, $procs process(es), window $w: $queued queued in $(((t1 - t0) / 1000000)) ms" >&2
	awk -v p="$procs" -v w="$w" -v q="$queued" -v ns=$((t1 - t0)) -v k=$((k1 - k0)) -v cpu=$((c1 - c0)) -v tck="$tck" 'BEGIN {
		s = ns / 1e9
		printf "| %d | %d | %d | %.0f | %.0f | %.0f | %.1f |\n", p, w, q, q / s, k / s, (k > 0 ? q / k : 0), cpu * 1e6 / tck / q }'
}
clitable=""
for w in ${windows//,/ }; do
	for p in ${pubs//,/ }; do
		clitable+="$(cli_run "$p" "$w")"$'\n'
	done
done
ms_after=$(dsync)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "## Durable queues: publish, deliver, ack (tcpchat vs NATS JetStream)"
echo
echo "$n events of $size bytes to one consumer on loopback, from 1 and from 8 publishers, one connection"
echo "each, every publisher keeping up to 256 or 1024 publishes in flight (pipelined, \`window\`). Each"
echo "server is a process of its own, the clients are in the benchmark's process: \`wiredojo chat serve\`"
echo "with its defaults (its packet rate limits on: durable emits and acks in flight do not count against"
echo "them) and \`--store bolt:FILE\` or \`--redis URL\`, and \`--queue-max $((n + 1000))\` (the default 10,000"
echo "would refuse emits whenever the consumer is more than 10,000 behind; JetStream has no such limit);"
echo "\`nats-server\` $("$tmp/nats-server" --version | awk '{print $2}') with JetStream on (\`-c\` a file with \`jetstream { store_dir, sync_interval }\`)."
echo "A publish is complete once the event is stored: tcpchat's ack of the built-in \`durable\` event"
echo "(\`ClientSocket.EmitWithAckFunc\`; the server acks only after the store write that holds it, for"
echo "bbolt after its fsync), JetStream's PubAck (\`PublishAsync\`). The consumer acknowledges each event"
echo "after receiving it (tcpchat's Go client after its handler; JetStream \`Ack\`, explicit ack policy,"
echo "256 acks pending at most like tcpchat's in-flight window). events/s from the first publish to the"
echo "last delivery (\"stored\": to the last publish acknowledged); latency from publish start to delivery."
echo "bbolt fsyncs every commit, twice (its pages, then its meta page): the durable emits waiting at once"
echo "share one transaction (group commit, up to 1024), and the consumers' acks ride along with them"
echo "(store commits/s and events per commit count every commit, appends and acks); Redis runs with"
echo "\`appendfsync always\` (one pipelined round trip per batch of emits); JetStream \"sync always\" fsyncs"
echo "every write, its default syncs every 2 minutes (not crash-safe for the last writes). Server CPU"
echo "is the server process's user+system time over the run. Load average before the run: $load; after:"
echo "$load_after. A 4 KiB write with O_DSYNC (\`dd oflag=dsync\`) took $ms_before ms before the run and"
echo "$ms_after ms after it."
echo
echo "$table"
echo
echo "What limits bbolt here: every acknowledged event waits for a commit and each commit for two fsyncs,"
echo "so events/s = commits/s x events per commit. This run's disk gave at most about"
awk -v a="$ms_before" -v b="$ms_after" 'BEGIN { lo = (a < b ? a : b); hi = (a < b ? b : a); printf "%.0f-%.0f commits/s (1000 / (2 x %.2f-%.2f ms)), fewer for large commits (more pages to write)", 1000 / (2 * hi), 1000 / (2 * lo), lo, hi }'
echo "; for 22,000 events/s a commit must carry 22,000 / (commits/s) events:"
echo
echo "$table" | awk -F'|' '
	$2 ~ /tcpchat \+ bbolt/ {
		for (i = 3; i <= 11; i++) gsub(/ /, "", $i)
		printf "- %s publisher(s), window %s: %s events/s stored, %s commits/s, %s events per commit; 22,000 events/s at %s commits/s would need %.0f.\n", $3, $4, $7, $10, $11, $10, 22000 / $10
	}'
echo
echo "Same-run ratios, events/s stored (every publish acknowledged), tcpchat + bbolt (fsync before every"
echo "ack) over JetStream:"
echo
echo "$table" | awk -F'|' '
	NF > 10 && $3 ~ /[0-9]/ {
		for (i = 3; i <= 7; i++) gsub(/ /, "", $i)
		k = $3 " publisher(s), window " $4
		if ($2 ~ /bbolt/) bolt[k] = $7
		else if ($2 ~ /sync always/) sync[k] = $7
		else if ($2 ~ /JetStream/) def[k] = $7
		if (!(k in seen)) { seen[k] = 1; order[++n] = k }
	}
	END {
		for (i = 1; i <= n; i++) {
			k = order[i]
			if (bolt[k] && def[k] && sync[k])
				printf "- %s: %.2fx JetStream with its default sync (not crash-safe), %.1fx JetStream with sync always.\n", k, bolt[k] / def[k], bolt[k] / sync[k]
		}
	}'
echo
echo "### From the CLI: \`chat emit --durable --from FILE\`, each publisher a process of its own"
echo
echo "$clin events as lines of a file (one JSON value of $size bytes each), emitted by"
echo "\`wiredojo chat emit --durable --to reader --from FILE --window W\` against \`chat serve --store"
echo "bolt:FILE\` (defaults, \`--queue-max $((clin + 1000))\`): 1 process, or 8 processes at once with $clin/8 lines"
echo "each. events/s is the events queued (acknowledged after the fsync of the commit that holds them) over the"
echo "time from the first process's start to the last one's end, process start-up and connect included;"
echo "nobody consumes them (no acks share the commits). Server CPU is the \`chat serve\` process's."
echo
echo "| processes | window | events queued | events/s stored | store commits/s | events per commit | server CPU µs/event |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
echo -n "$clitable"
echo
echo "One publisher with a window of W can put at most W events into a commit, and about W/2 when"
echo "commits follow each other (the other half arrives while one runs): the window, not the server,"
echo "bounds events per commit at 1 publisher (\`chat emit --durable --from\` keeps \`--window\` in flight)."
echo "Larger commits do not come for free: a bbolt commit writes every page its appends and acks touched"
echo "(copy on write) before its fsync, so its duration grows with its size, and commits of 300-400"
echo "events ran well below the commits/s of small ones in the same run. The goal (issue 16): 22,000"
echo "events/s stored, crash-safe, from 1 and from 8 publishers."
