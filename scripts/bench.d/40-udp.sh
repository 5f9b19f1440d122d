#!/usr/bin/env bash
# UDP on loopback: wiredojo udp send -> udp recv against iperf3 -u -b 0, in
# the same run, at 64 B and 1400 B datagrams; then the udpcast micro-benchmarks.
# Prints the markdown section of docs/BENCHMARKS.md on stdout, progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/benchlib.sh
secs=${UDP_BENCH_SECONDS:-4}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
bin="$tmp/wiredojo"
go build -tags urfave_cli_no_docs -o "$bin" ./cmd/wiredojo

# free_port prints a loopback UDP/TCP port nobody uses right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ours SIZE LABEL [send flags...]: one run; prints a table row.
ours() {
	local size=$1 label=$2
	shift 2
	local port
	port=$(free_port)
	"$bin" udp recv --addr "127.0.0.1:$port" --until-end --json >"$tmp/r.json" &
	local rp=$!
	pids+=("$rp")
	sleep 0.3
	"$bin" udp send --to "127.0.0.1:$port" --duration "${secs}s" --size "$size" --json "$@" >"$tmp/s.json"
	wait "$rp"
	python3 - "$tmp/s.json" "$tmp/r.json" "$size" "$label" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
el = s["elapsed_ms"] / 1000
lost = 100.0 * r["lost"] / max(r["sent"], 1)
print(f"| {sys.argv[3]} B | {sys.argv[4]} | {s['sent']/el:,.0f} | {r['received']/el:,.0f} | {lost:.2f}% |")
PY
}

# iperf SIZE: one iperf3 -u -b 0 run of the same length; prints a table row.
iperf() {
	local size=$1 port
	port=$(free_port)
	iperf3 -s -1 -p "$port" -B 127.0.0.1 --json >"$tmp/is.json" 2>/dev/null &
	local sp=$!
	pids+=("$sp")
	sleep 0.3
	iperf3 -c 127.0.0.1 -p "$port" -u -b 0 -l "$size" -t "$secs" --json >"$tmp/ic.json"
	wait "$sp" || true
	python3 - "$tmp/ic.json" "$tmp/is.json" "$size" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["end"]["sum"]; s = json.load(open(sys.argv[2]))["end"]["sum"]
el = c["seconds"]
delivered = s["packets"] - s["lost_packets"]
print(f"| {sys.argv[3]} B | iperf3 -u -b 0 | {c['packets']/el:,.0f} | {delivered/el:,.0f} | {s['lost_percent']:.2f}% |")
PY
}

echo "## udpcast (UDP on loopback, against iperf3)"
echo
echo "\`wiredojo udp send --duration ${secs}s\` (unpaced, unimpaired) to \`wiredojo udp recv\`, and"
echo "\`iperf3 -u -b 0 -t ${secs}\` to \`iperf3 -s\`, one after the other in this run. *Sent/s* is"
echo "datagrams the sender handed the kernel per second; *delivered/s* the distinct"
echo "datagrams the receiver measured per second of sending; *loss* counts what"
echo "the receiving socket dropped (loopback loses nothing else). Ours uses"
echo "sendmmsg with UDP GSO (up to 64 datagrams per buffer) and recvmmsg with UDP"
echo "GRO and an 8 MiB receive buffer; the other rows turn those off."
echo
echo "| size | sender | sent/s | delivered/s | loss |"
echo "|-----:|--------|-------:|------------:|-----:|"
for size in 64 1400; do
	echo "bench: udp $size B: ours" >&2
	ours "$size" "wiredojo (GSO+GRO)"
	ours "$size" "wiredojo --no-gso (sendmmsg only)" --no-gso
	ours "$size" "wiredojo --no-batch --no-gso" --no-batch --no-gso
	if command -v iperf3 >/dev/null; then
		echo "bench: udp $size B: iperf3" >&2
		iperf "$size"
	else
		echo "| $size B | iperf3 -u -b 0 | not installed (apt-get install iperf3) | | |"
	fi
done
echo
echo "Micro-benchmarks (allocations per datagram must be 0):"
echo
echo '```'
bench_lines '^(Benchmark|cpu)' go test -run '^$' -bench . -benchmem -count 1 ./udpcast/ ./udpcast/impair/ ./udpcast/stats/
bench_lines '^Benchmark' go test -run '^$' -bench 'Loopback/.*/batch=true' -benchtime 1000000x -count 1 ./udpcast/udpio/
echo '```'
