#!/usr/bin/env bash
# WebSocket (framing/ws) benchmarks: our own numbers from the package, then
# the side-by-side run against gorilla/websocket, gobwas/ws and
# coder/websocket (the bench/ws module). Every figure and ratio printed
# comes from this run; each peer benchmark runs 3 times and the median is
# used. Progress goes to stderr, the markdown section to stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
benchtime=${WS_BENCHTIME:-300ms}

echo "ws: framing/ws benchmarks" >&2
own=$(go test -run '^$' -bench . -benchmem -count 1 -benchtime "$benchtime" ./framing/ws/ 2>&1 | grep -E '^(Benchmark|cpu)')
echo "ws: bench/ws against gorilla, gobwas and coder (3 runs each)" >&2
peers=$(cd bench/ws && go test -ldflags=-checklinkname=0 -run '^$' -bench . -benchmem -count 3 -benchtime "$benchtime" . 2>&1 | grep -E '^Benchmark')

echo "## WebSocket (framing/ws)"
echo
echo "Loopback TCP on this machine, each library talking to itself (our client"
echo "and server; gorilla's NextReader/NextWriter; gobwas's ReadHeader/Cipher/"
echo "WriteHeader). msgs/s = 1e9 / median ns/op of 3 runs; ratios are ours"
echo "divided by the peer's (above 1: we are faster). allocs are per message."
echo
echo "$peers" | awk '
function median(s,   a, n, t, i, j) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return a[int((n + 1) / 2)]
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
		o = median(ns[group "/" sz[k] "/wiredojo"]); g = median(ns[group "/" sz[k] "/gorilla"]); w = median(ns[group "/" sz[k] "/gobwas"])
		if (o == "") continue
		printf "| %s | %.0f | %.0f | %.0f | %.2fx | %.2fx | %s / %s / %s |\n", sz[k], rate(o), rate(g), rate(w), g / o, w / o,
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
		o = median(mbs["BenchmarkMask/" sz[k] "/wiredojo"]); c = median(mbs["BenchmarkMask/" sz[k] "/coder"])
		printf "| %s | %.1f | %.1f | %.1f | %.1f | %.2fx |\n", sz[k], o / 1000, c / 1000,
			median(mbs["BenchmarkMask/" sz[k] "/gorilla"]) / 1000, median(mbs["BenchmarkMask/" sz[k] "/gobwas"]) / 1000, o / c
	}
	print ""
	print "### Server upgrade on a raw connection"
	print ""
	print "Ours returns a ready *ws.Conn (its one allocation) and reuses the"
	print "caller'"'"'s reader, as the chat server does after sniffing the first bytes;"
	print "gobwas returns only the handshake result."
	print ""
	print "| | ns/op | B/op | allocs/op |"
	print "|---|---:|---:|---:|"
	printf "| wiredojo | %s | %s | %s |\n", median(ns["BenchmarkUpgrade/wiredojo"]), by["BenchmarkUpgrade/wiredojo"], al["BenchmarkUpgrade/wiredojo"]
	printf "| gobwas | %s | %s | %s |\n", median(ns["BenchmarkUpgrade/gobwas"]), by["BenchmarkUpgrade/gobwas"], al["BenchmarkUpgrade/gobwas"]
	print ""
}'
echo "### framing/ws on its own"
echo
echo "In-memory reader and writer (no sockets), loopback echo, upgrade:"
echo
echo '```'
echo "$own"
echo '```'
