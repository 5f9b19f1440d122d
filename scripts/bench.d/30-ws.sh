#!/usr/bin/env bash
# WebSocket (framing/ws) benchmarks: our own numbers from the package, then
# the side-by-side run against gorilla/websocket, gobwas/ws and
# coder/websocket (the bench/ws module). Every figure and ratio printed
# comes from this run; each peer benchmark runs $WS_COUNT times (default 6:
# each of the three libraries comes first in two), in whole passes over all
# of them, so that the libraries compared run next to each other in every
# pass: rates are the best of the passes, ratios the median of the
# per-pass ratios. Progress goes to stderr, the markdown section to stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/benchlib.sh
benchtime=${WS_BENCHTIME:-200ms}
count=${WS_COUNT:-6}

start=$(date -u +'%Y-%m-%d %H:%M')
load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "ws: framing/ws benchmarks" >&2
own=$(bench_lines '^(Benchmark|cpu)' go test -run '^$' -bench . -benchmem -count 1 -benchtime "$benchtime" ./framing/ws/)
echo "ws: bench/ws against gorilla, gobwas and coder ($count runs each)" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd bench/ws && go test -ldflags=-checklinkname=0 -c -o "$tmp/wsbench.test" .)
# Whole passes one after the other (not -count, which repeats each case
# back to back), so that a burst of load falls on every library alike; the
# order of the libraries within a group of cases rotates from pass to pass
# (the first of a group measures slower).
peers=$(for i in $(seq "$count"); do
	WSBENCH_ROTATE=$i bench_lines '^Benchmark' "$tmp/wsbench.test" -test.run '^$' -test.bench . -test.benchmem -test.benchtime "$benchtime"
done)
echo "ws: tcpchat transports, 64-packet batches ($count runs)" >&2
go test -c -o "$tmp/tcpchat.test" ./tcpchat/
batch=$(for i in $(seq "$count"); do
	bench_lines '^Benchmark' "$tmp/tcpchat.test" -test.run '^$' -test.bench 'TransportBatch' -test.benchmem -test.benchtime "$benchtime"
done)
# System calls per round trip, counted with strace (when it is installed).
calls=""
if command -v strace >/dev/null; then
	echo "ws: system calls per echo round trip (strace -c)" >&2
	n=2000
	for size in 16B 4096B 65536B; do
		for l in wiredojo gorilla gobwas; do
			strace -f -c -o "$tmp/strace" "$tmp/wsbench.test" -test.run '^$' -test.bench "^BenchmarkEcho/$size/$l\$" -test.benchtime "${n}x" >/dev/null 2>&1 || true
			calls+="$size $l $(awk -v n=$n '$NF=="read"||$NF=="write"||$NF=="writev" {c[$NF]=$4} END {printf "%.1f %.1f %.1f", c["read"]/n, c["write"]/n, c["writev"]/n}' "$tmp/strace")"$'\n'
		done
	done
fi
end=$(date -u +%H:%M)
load1=$(cut -d' ' -f1-3 /proc/loadavg)

echo "## WebSocket (framing/ws)"
echo
echo "Loopback TCP on this machine, each library talking to itself (our client"
echo "and server; gorilla's NextReader/NextWriter; gobwas's ReadHeader/Cipher/"
echo "WriteHeader). $count passes over all the cases, one after the other, so that"
echo "the libraries compared run next to each other in each pass (in an order"
echo "that rotates from pass to pass: the first of a group measures slower)."
echo "msgs/s = 1e9 / ns/op of the best pass; a ratio is ours divided by the"
echo "peer's in each pass (above 1: we are faster), the median over the passes."
echo "allocs are per message."
echo
echo "Measured $start-$end UTC; load average (1, 5, 15 min) $load0 at the"
echo "start, $load1 at the end: other work on the machine competes for its two"
echo "cores, and the loopback round trips move with it."
echo
echo "$peers" | awk '
function median(s,   a, n, t, i, j) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function best(s, higher,   a, n, b, i) {
	n = split(s, a, " ")
	b = a[1]
	for (i = 2; i <= n; i++) if ((higher && a[i] + 0 > b + 0) || (!higher && a[i] + 0 < b + 0)) b = a[i]
	return b
}
# ratio: the median over the passes of x[i] / y[i] (x and y in pass order).
function ratio(x, y,   a, b, n, i, r) {
	n = split(x, a, " "); split(y, b, " ")
	r = ""
	for (i = 1; i <= n; i++) if (a[i] + 0 > 0 && b[i] + 0 > 0) r = r " " (a[i] / b[i])
	return median(r)
}
{
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 2; i <= NF; i++) {
		if ($i == "ns/op") ns[name] = ns[name] " " $(i - 1)
		if ($i == "MB/s") mbs[name] = mbs[name] " " $(i - 1)
		if ($i == "allocs/op") al[name] = $(i - 1)
		if ($i == "B/op") by[name] = $(i - 1)
	}
}
function rate(n) { return n > 0 ? 1e9 / n : 0 }
function table(group, title,   sz, k, o, g, w) {
	print "### " title
	print ""
	print "| message | wiredojo msgs/s | gorilla msgs/s | gobwas msgs/s | vs gorilla | vs gobwas | allocs/op (ours / gorilla / gobwas) |"
	print "|---|---:|---:|---:|---:|---:|---|"
	split("16B 128B 4096B 65536B", sz, " ")
	for (k = 1; k <= 4; k++) {
		o = ns[group "/" sz[k] "/wiredojo"]; g = ns[group "/" sz[k] "/gorilla"]; w = ns[group "/" sz[k] "/gobwas"]
		if (o == "") continue
		printf "| %s | %.0f | %.0f | %.0f | %.2fx | %.2fx | %s / %s / %s |\n", sz[k], rate(best(o)), rate(best(g)), rate(best(w)), ratio(g, o), ratio(w, o),
			al[group "/" sz[k] "/wiredojo"], al[group "/" sz[k] "/gorilla"], al[group "/" sz[k] "/gobwas"]
	}
	print ""
}
END {
	table("BenchmarkEcho", "Echo round trips")
	table("BenchmarkOneWay", "One-way throughput (client writes, server reads)")
	print "### Masking (GB/s, one core)"
	print ""
	print "| payload | wiredojo | coder/websocket | gorilla | gobwas | vs coder |"
	print "|---|---:|---:|---:|---:|---:|"
	split("16B 128B 1024B 4096B 65536B", sz, " ")
	for (k = 1; k <= 5; k++) {
		o = mbs["BenchmarkMask/" sz[k] "/wiredojo"]; c = mbs["BenchmarkMask/" sz[k] "/coder"]
		printf "| %s | %.1f | %.1f | %.1f | %.1f | %.2fx |\n", sz[k], best(o, 1) / 1000, best(c, 1) / 1000,
			best(mbs["BenchmarkMask/" sz[k] "/gorilla"], 1) / 1000, best(mbs["BenchmarkMask/" sz[k] "/gobwas"], 1) / 1000, ratio(o, c)
	}
	print ""
	print "### Server upgrade on a raw connection"
	print ""
	print "In memory: the request is read from a replayed buffer, the answer"
	print "dropped. Ours returns a ready *ws.Conn (its one allocation) and reads"
	print "through the caller'"'"'s bufio.Reader (reset empty before each upgrade, so"
	print "Upgrade reads the whole request itself); gobwas returns only the"
	print "handshake result and reads with a pooled reader of its own."
	print ""
	print "| | ns/op (best pass) | ns/op (median) | B/op | allocs/op |"
	print "|---|---:|---:|---:|---:|"
	printf "| wiredojo | %s | %s | %s | %s |\n", best(ns["BenchmarkUpgrade/wiredojo"]), median(ns["BenchmarkUpgrade/wiredojo"]), by["BenchmarkUpgrade/wiredojo"], al["BenchmarkUpgrade/wiredojo"]
	printf "| gobwas | %s | %s | %s | %s |\n", best(ns["BenchmarkUpgrade/gobwas"]), median(ns["BenchmarkUpgrade/gobwas"]), by["BenchmarkUpgrade/gobwas"], al["BenchmarkUpgrade/gobwas"]
	print ""
	printf "Per pass, gobwas ns/op divided by ours (above 1: ours is cheaper): median %.2fx.\n", ratio(ns["BenchmarkUpgrade/gobwas"], ns["BenchmarkUpgrade/wiredojo"])
	print ""
	print "Ours also sets the handshake deadline (Upgrader.HandshakeTimeout) and"
	print "clears it, which costs a clock read; gobwas sets none."
	print ""
}'
if [ -n "$calls" ]; then
	echo "### System calls per echo round trip"
	echo
	echo "Counted with \`strace -f -c\` over 2000 round trips of each library (client"
	echo "and server in one process; handshake included). Where the counts are"
	echo "equal, the round trip is the kernel's and the scheduler's, whatever the"
	echo "library does in between."
	echo
	echo "| message | library | read | write | writev |"
	echo "|---|---|---:|---:|---:|"
	echo -n "$calls" | awk '{printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5}'
	echo
fi
echo "### tcpchat transports: batches of 64 event packets"
echo
echo "A server Transport writes 64 packets at once (a send queue drained by a"
echo "broadcast), the client's reads them, over loopback: framed TCP with one"
echo "writev, WebSocket with ws.Conn.WriteMessages (one write for frames that"
echo "fit its 16 KiB buffer). The best of $count runs."
echo
echo "| transport | packets/s | allocs/op |"
echo "|---|---:|---:|"
echo "$batch" | awk '
{
	name = $1; sub(/-[0-9]+$/, "", name); sub(/^BenchmarkTransportBatch\//, "", name)
	for (i = 2; i <= NF; i++) {
		if ($i == "packets/s") pk[name] = pk[name] " " $(i - 1)
		if ($i == "allocs/op") al[name] = $(i - 1)
	}
}
function best(s,   a, n, b, i) {
	n = split(s, a, " ")
	b = a[1]
	for (i = 2; i <= n; i++) if (a[i] + 0 > b + 0) b = a[i]
	return b
}
END { for (k in pk) printf "| %s | %.0f | %s |\n", k, best(pk[k]), al[k] }' | sort
echo
echo "### framing/ws on its own"
echo
echo "In-memory reader and writer (no sockets), loopback echo, upgrade:"
echo
echo '```'
echo "$own"
echo '```'
