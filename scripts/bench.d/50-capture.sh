#!/usr/bin/env bash
# capture viewer: packets/s reading one 200k-packet capture of chat traffic
# (built by capture/internal/capgen, not committed), ours against tcpdump
# and tshark on the same file in the same run; plus the decoder's
# micro-benchmarks (allocations per packet must be 0).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/benchlib.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=200000
go build -tags urfave_cli_no_docs -o "$tmp/wiredojo" ./cmd/wiredojo
go build -o "$tmp/capgen" ./capture/internal/capgen
"$tmp/capgen" synth "$n" "$tmp/bench.pcap"
echo "capture: generated $n packets ($(du -h "$tmp/bench.pcap" | cut -f1))" >&2

# best RUNS: the shortest wall time of RUNS runs of the command, in seconds.
best() {
	local runs=$1
	shift
	local b=""
	for _ in $(seq "$runs"); do
		local s e
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s.%N)
		b=$(awk -v s="$s" -v e="$e" -v b="$b" 'BEGIN { t = e - s; if (b == "" || t < b) b = t; printf "%.4f", b }')
	done
	echo "$b"
}

declare -A secs
run() {
	local name=$1 runs=$2
	shift 2
	echo "capture: $name" >&2
	secs[$name]=$(best "$runs" "$@")
}
run "wiredojo one-line" 3 "$tmp/wiredojo" --no-color capture read "$tmp/bench.pcap"
run "wiredojo --json" 3 "$tmp/wiredojo" capture read --json "$tmp/bench.pcap"
run "wiredojo decode only (-q)" 3 "$tmp/wiredojo" capture read -q "$tmp/bench.pcap"
run "wiredojo --no-reassembly -q" 3 "$tmp/wiredojo" capture read -q --no-reassembly "$tmp/bench.pcap"
have_tcpdump=0
have_tshark=0
if command -v tcpdump >/dev/null; then
	have_tcpdump=1
	run "tcpdump -nn -r" 3 tcpdump -nn -r "$tmp/bench.pcap"
fi
if command -v tshark >/dev/null; then
	have_tshark=1
	run "tshark -r" 1 tshark -r "$tmp/bench.pcap" -d tcp.port==7070,http
	run "tshark -T json" 1 tshark -r "$tmp/bench.pcap" -d tcp.port==7070,http -T json
fi

pps() { awk -v n="$n" -v t="$1" 'BEGIN { printf "%.0f", n / t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", b / a }'; }

echo "## capture (reading a ${n}-packet capture of chat traffic)"
echo
echo "Synthetic chat traffic (64 connections, framed TCP and WebSocket events"
echo "with acks, wiredojo-udp datagrams), written by \`capgen synth\`. Wall time,"
echo "best of 3 (tshark: 1 run), output to /dev/null."
echo
echo "| reader | seconds | packets/s |"
echo "|---|---:|---:|"
for k in "wiredojo one-line" "wiredojo --json" "wiredojo decode only (-q)" "wiredojo --no-reassembly -q" "tcpdump -nn -r" "tshark -r" "tshark -T json"; do
	if [[ -n "${secs[$k]:-}" ]]; then
		echo "| $k | ${secs[$k]} | $(pps "${secs[$k]}") |"
	fi
done
echo
if [[ $have_tcpdump == 1 ]]; then
	echo "- one-line text vs \`tcpdump -nn -r\`: $(ratio "${secs[wiredojo one-line]}" "${secs[tcpdump -nn -r]}") as fast (goal: 2x)"
fi
if [[ $have_tshark == 1 ]]; then
	echo "- one-line text vs \`tshark -r\`: $(ratio "${secs[wiredojo one-line]}" "${secs[tshark -r]}") as fast"
	echo "- JSON vs \`tshark -T json\`: $(ratio "${secs[wiredojo --json]}" "${secs[tshark -T json]}") as fast (goal: 50x)"
fi
echo "- decode with reassembly and application decoders: $(pps "${secs[wiredojo decode only (-q)]}") packets/s, reading the file included (goal: 1M)"
echo
echo '```'
bench_lines '^(Benchmark|cpu)' go test -run '^$' -bench . -benchmem -count 1 ./capture/decode/ ./capture/render/
echo '```'
