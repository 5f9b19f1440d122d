#!/usr/bin/env bash
# The event chat against its peers as users run them, in the same run: the
# real `wiredojo chat serve` (bin/wiredojo, its defaults except the rate
# limits), nats-server (built from the Go module proxy, default options) and
# socket.io 4.8 on node (bench/node, installed here with npm ci), each server
# a process of its own and the clients in chatbench (`chatbench proc`):
# deliveries/s at N = 1, 10, 100 subscribers and windows 100 and 1000,
# server CPU per delivery from /proc/PID/stat, latency paced at 10,000
# deliveries/s, RSS per idle connection; then a CPU profile of chat serve at
# N=1. The in-process comparison is 21-chat-inproc.sh.
# Prints the markdown section of docs/BENCHMARKS.md on stdout, progress on
# stderr. CHAT_PROC_DELIVERIES, CHAT_PROC_RUNS, CHAT_PROC_PACED_RUNS,
# CHAT_PROC_PACED_FOR and CHAT_PROC_IDLE override the defaults below. The
# paced cases run 5 times for 2 s each (a p99 over 20,000 deliveries per
# run) rather than 3 times for 3 s: their cells are medians of the runs,
# and a stall of the machine that decides one run's p99 then has to hit
# three runs of five, not two of three, to decide the table's.
set -euo pipefail
cd "$(dirname "$0")/../.."
proc_deliveries=${CHAT_PROC_DELIVERIES:-300000}
proc_runs=${CHAT_PROC_RUNS:-3}
proc_paced_runs=${CHAT_PROC_PACED_RUNS:-5}
proc_paced_for=${CHAT_PROC_PACED_FOR:-2s}
# The idle goal is per connection at 100,000 idle connections: measure
# there, or at as many as the descriptor limit allows (below).
proc_idle=${CHAT_PROC_IDLE:-100000}
proc_idle_goal=$proc_idle
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The idle connections need that many descriptors in the server process
# and in the client process: raise the soft limit as far as the hard one allows.
ulimit -n $((proc_idle + 1000)) 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fds=$(ulimit -n)

echo "chat: building bench/nats, nats-server and bin/wiredojo" >&2
(cd bench/nats && go build -o "$tmp/chatbench" ./cmd/chatbench && go build -o "$tmp/nats-server" github.com/nats-io/nats-server/v2)
go build -tags urfave_cli_no_docs -o bin/wiredojo ./cmd/wiredojo
echo "chat: npm ci in bench/node (socket.io)" >&2
(cd bench/node && npm ci --no-audit --no-fund --silent) >&2

# The separate-process comparison. The idle case needs 2 descriptors per
# connection on this machine (one in each process) and some to spare.
if [ "$fds" != unlimited ] && [ "$fds" -lt $((proc_idle + 200)) ]; then
	proc_idle=$(((fds - 200) / 1000 * 1000))
fi
proc_load=$(cut -d' ' -f1-3 /proc/loadavg)
proc_start=$(date -u +%H:%M)
echo "chat: separate processes, $proc_runs runs per case" >&2
proctab=$("$tmp/chatbench" proc -wiredojo bin/wiredojo -nats-server "$tmp/nats-server" -node-dir bench/node \
	-n 1,10,100 -windows 100,1000 -deliveries "$proc_deliveries" -runs "$proc_runs" -paced 10000 -paced-runs "$proc_paced_runs" -paced-for "$proc_paced_for" -idle "$proc_idle" -idle-ws)
proc_end=$(date -u +%H:%M)
proc_load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# A CPU profile of the real server under the N=1, W=1000 case (chat serve
# --pprof through WIREDOJO_PPROF): 5 s taken 3 s into a long run. The run
# must outlast the profile: 4,000,000 deliveries took 5.2 s at 766,000/s
# (2026-12-06), and the profile came back empty when the server exited.
echo "chat: profiling chat serve at N=1, W=1000" >&2
pprof_addr=127.0.0.1:$((10000 + RANDOM % 20000)) # below the ephemeral ports
WIREDOJO_PPROF=$pprof_addr "$tmp/chatbench" proc -wiredojo bin/wiredojo -systems wiredojo -n 1 -windows 1000 \
	-deliveries 12000000 -runs 1 -paced 0 -idle 0 > "$tmp/prof.md" 2> "$tmp/prof.err" &
prof_pid=$!
sleep 3
curl -fsS -o "$tmp/serve.pprof" "http://$pprof_addr/debug/pprof/profile?seconds=5" 2> "$tmp/curl.err" || true
wait "$prof_pid" || true
proftop=""
if [ -s "$tmp/serve.pprof" ]; then
	proftop=$(go tool pprof -top -cum -nodecount=30 bin/wiredojo "$tmp/serve.pprof" 2>/dev/null | sed -n '/flat%/,$p')
fi

echo "## Event chat against NATS and socket.io, each server a process of its own"
echo
echo "Measured $proc_start-$proc_end UTC; load average $proc_load at the start and"
echo "$proc_load_end at the end (1, 5, 15 min) on $(nproc) cores. Other work on the"
echo "machine moves these figures: only the ratios of one run, the systems"
echo "alternating case by case, compare."
echo
echo "Each server runs as users run it, as a process of its own started afresh for"
echo "each case: \`wiredojo chat serve\` (bin/wiredojo) with its defaults (the"
echo "in-memory replay log for connection state recovery, the queue store, send"
echo "queue 1024, slow-consumer wait 2 s) except its limits on one client and one"
echo "address, all turned off: \`--rate-limit 0 --event-rate-per-addr 0"
echo "--conn-rate-per-addr 0 --max-conns-per-addr 0 --max-conns 0\` (every client"
echo "here comes from 127.0.0.1, and 1000 packets/s per connection would cut the"
echo "publisher; the peers have no such limits); nats-server $("$tmp/nats-server" --version | awk '{print $2}') built from the Go module proxy, default options;"
echo "socket.io $(cd bench/node && node -p 'require("socket.io/package.json").version') on node $(node --version) (bench/node/server.js: the built-in"
echo "relay of \`chat serve\`, websocket transport). The clients run in another"
echo "process (scripts' chatbench proc, Go: tcpchat's client, nats.go, and a"
echo "socket.io client over framing/ws): N subscribers in one room (subject), one"
echo "publisher sending 128-byte events (the same 128 bytes in each system) whose"
echo "relay reaches every subscriber. W is the window: the publisher waits while it"
echo "is more than W events ahead of the slowest subscriber. Each case sends"
echo "$proc_deliveries / N measured events after a warm-up of a tenth as many, $proc_runs runs,"
echo "the systems alternating within each run; every cell is the median of the runs."
echo "CPU µs/delivery is the server process's user + system time (/proc/PID/stat,"
echo "10 ms ticks) over the measured events divided by the deliveries; latency is"
echo "from the publisher's timestamp in the payload to receipt, over every delivery."
if [ "$proc_idle" -lt "$proc_idle_goal" ]; then
	echo "The idle case holds $proc_idle connections, not $proc_idle_goal: the descriptor"
	echo "limit here is $fds per process (ulimit -n, hard $(ulimit -Hn)); docs/SCALING.md"
	echo "has what the count changes."
fi
echo
echo "$proctab"
echo
echo "### Where the server's time goes (N=1, W=1000)"
echo
echo "This run's CPU profile of \`chat serve\` in that case, 5 s taken 3 s into a"
echo "long run (\`go tool pprof -top -cum\`, the top 30 entries):"
echo
if [ -n "$proftop" ]; then
	echo '```'
	echo "$proftop"
	echo '```'
else
	echo "No profile: $(cat "$tmp/curl.err" 2>/dev/null | tr '\n' ' ') $(tail -n 3 "$tmp/prof.err" | tr '\n' ' ')"
fi
echo
