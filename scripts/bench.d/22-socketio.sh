#!/usr/bin/env bash
# Socket.IO: `wiredojo chat serve` (its /socket.io/) against node's
# socket.io 4.8 (bench/node/server.js), each server a process of its own
# started afresh for each case, both driven by the official
# socket.io-client on node (bench/node/client.js, via `chatbench sio`):
# fan-out deliveries/s, p50/p99 and server CPU per delivery at N = 1, 10,
# 100, the systems alternating case by case, medians of the runs; then
# the server's RSS per idle connection. Prints the markdown section of
# docs/BENCHMARKS.md on stdout, progress on stderr. Then the same cases
# with each server's CPU time capped at SIO_BENCH_QUOTA of one CPU (a
# cgroup: root needed, else the part is skipped and says so), so that
# the server and not the clients bounds deliveries/s. SIO_BENCH_DELIVERIES,
# SIO_BENCH_CAPPED (the capped part's deliveries at N = 1, 10, 100),
# SIO_BENCH_CAPPED_WINDOW (its events in flight at N = 1, 10, 100),
# SIO_BENCH_RUNS, SIO_BENCH_PROCS, SIO_BENCH_IDLE and SIO_BENCH_QUOTA
# override the defaults below.
set -euo pipefail
cd "$(dirname "$0")/../.."
deliveries=${SIO_BENCH_DELIVERIES:-100000}
runs=${SIO_BENCH_RUNS:-3}
procs=${SIO_BENCH_PROCS:-3}
idle=${SIO_BENCH_IDLE:-10000}
quota=${SIO_BENCH_QUOTA:-0.1}
# A capped run must last many of the quota's periods (10 ms at 0.1,
# natsbench.QuotaPeriod) and some seconds: at 100,000 deliveries ours at
# N=10 and N=100 lasted 0.7-1 s, and its deliveries/s went from 98,000 to
# 164,000 between runs of one binary; at N=1 ours delivers some 60,000/s.
capped_deliveries=${SIO_BENCH_CAPPED:-300000,400000,400000}
window=1000
# The window counts events: 1000 are 1000 deliveries in flight at N=1,
# 10,000 at N=10 and 100,000 at N=100. The capped part holds 10,000
# deliveries in flight at each N: at N=1 a capped server that is fast
# waits for a window of 1000 (below); at N=100 node's capped server, with
# 100,000 deliveries (some 18 s of its work) ahead of its subscribers'
# pongs, dropped them for ping timeouts, and once its publisher.
capped_window=${SIO_BENCH_CAPPED_WINDOW:-10000,1000,100}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fds=$(ulimit -n)
if [ "$fds" != unlimited ] && [ "$fds" -lt $((idle + 200)) ]; then
	idle=$(((fds - 200) / 1000 * 1000))
fi

echo "socket.io: building chatbench and bin/wiredojo" >&2
(cd bench/nats && go build -o "$tmp/chatbench" ./cmd/chatbench)
go build -tags urfave_cli_no_docs -o bin/wiredojo ./cmd/wiredojo
echo "socket.io: npm ci in bench/node (socket.io, socket.io-client)" >&2
(cd bench/node && npm ci --no-audit --no-fund --silent) >&2

load0=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date -u +%H:%M)
echo "socket.io: $runs runs per case, subscribers in $procs node processes" >&2
tab=$("$tmp/chatbench" sio -wiredojo bin/wiredojo -node-dir bench/node -n 1,10,100 -window "$window" \
	-deliveries "$deliveries" -runs "$runs" -procs "$procs" -idle "$idle")
end=$(date -u +%H:%M)
load1=$(cut -d' ' -f1-3 /proc/loadavg)
capped=""
if [ -w /sys/fs/cgroup/cpu ]; then
	echo "socket.io: the same with each server capped at $quota of one CPU" >&2
	qstart=$(date -u +%H:%M)
	qload0=$(cut -d' ' -f1-3 /proc/loadavg)
	# -timeout: node's server, capped, takes more than the default 120 s
	# for a run at N=100 (its 100 connects, and the 30 s drain). A run
	# whose subscribers lose node's server (ping timeouts, seconds behind)
	# goes on without them (bench/node/client.js) instead of waiting for
	# the bound.
	capped=$("$tmp/chatbench" sio -wiredojo bin/wiredojo -node-dir bench/node -n 1,10,100 -window "$capped_window" \
		-deliveries "$capped_deliveries" -runs "$runs" -procs "$procs" -idle 0 -server-quota "$quota" -timeout 300s)
	qend=$(date -u +%H:%M)
	qload1=$(cut -d' ' -f1-3 /proc/loadavg)
fi

echo "## Socket.IO: wiredojo chat serve against node's socket.io, both with socket.io-client"
echo
echo "Measured $start-$end UTC; load average $load0 at the start and $load1 at"
echo "the end (1, 5, 15 min) on $(nproc) cores. Only the ratios of one run compare."
echo
echo "Servers, each a process of its own started afresh for each case:"
echo "\`wiredojo chat serve\` (bin/wiredojo; its defaults except the per-client and"
echo "per-address limits, turned off as in the section above; Socket.IO clients at"
echo "/socket.io/, namespace /chat with the built-in join and relay) and socket.io"
echo "$(cd bench/node && node -p 'require("socket.io/package.json").version') on node $(node --version) (bench/node/server.js: the same join and relay,"
echo "namespace /). Client, the same for both: the official socket.io-client"
echo "$(cd bench/node && node -p 'require("socket.io-client/package.json").version') on node (bench/node/client.js), WebSocket transport from the start,"
echo "the N subscribers spread over $procs node processes, children of the"
echo "publisher's, which report their slowest subscriber's count to it (a"
echo "step of an eighth of the window); 128-byte events (the JSON argument array),"
echo "a window of $window events ahead of the slowest subscriber (while it is full"
echo "the publisher waits for the next report, it does not poll), $deliveries / N"
echo "measured events after a warm-up of a tenth as many, $runs runs with the"
echo "systems alternating, every cell the median of the runs. The harness is node"
echo "because socket.io-client is what people run; the Go benchmark (chatbench) starts"
echo "the servers, reads their CPU time (/proc/PID/stat) around the measured events"
echo "and their RSS, and starts the harness once per case; it reads the CPU time of"
echo "the harness's processes (the publisher's and its children, /proc) over the same"
echo "span (client CPU column). A subscriber whose connection ends during a run"
echo "(a ping timeout when the server falls seconds behind) stops holding"
echo "the publisher back: what it misses counts in the lost column, which says how"
echo "many subscribers were cut over the runs; deliveries/s counts what arrived."
echo
echo "The clients cost more CPU per delivery than either server, and both share"
echo "$(nproc) cores with them: deliveries/s is bounded by the clients and says little"
echo "about the servers once the ratio of CPU per delivery is past the ratio of"
echo "deliveries/s. Server CPU µs per delivery is the figure that compares the servers;"
echo "the capped run below turns it into deliveries/s."
echo
echo "$tab"
echo
echo "### The same, each server capped at $quota of one CPU"
echo
if [ -z "$capped" ]; then
	echo "Not run: capping a server's CPU time needs a writable cgroup v1 cpu controller"
	echo "(/sys/fs/cgroup/cpu, root)."
	exit 0
fi
echo "Measured $qstart-$qend UTC; load average $qload0 at the start and $qload1 at the end."
echo "Each server process (and its threads) in a cgroup of its own with a CPU quota of"
echo "$quota of one CPU (\`chatbench sio -server-quota $quota -deliveries $capped_deliveries -window $capped_window\`:"
echo "measured deliveries at N = 1, 10, 100, so that each run of ours lasts some seconds, and events in flight), the clients unconstrained."
echo "The quota is counted in the shortest period the kernel allows for it (its least quota is 1 ms:"
echo "periods of 10 ms at 0.1): in its default periods of 100 ms a server throttled for 90 ms has"
echo "at most the window's $window events waiting when it runs again, so one that drains them"
echo "faster than that sits idle until the next period, and its deliveries/s measure the period."
echo "The window counts events, the same for both servers: 1000 events are 1000 deliveries in"
echo "flight at N=1, 10,000 at N=10 and 100,000 at N=100. The capped part holds 10,000 deliveries"
echo "in flight at each N ($capped_window events). With 1000 events at N=1 ours waited for the"
echo "publisher's window several times a period (about 290 waits for bytes a second, each a wake-up"
echo "of a thread and of the runtime's monitor on this VM), and its CPU per delivery measured those"
echo "waits too; with 1000 events at N=100 node's server had some 18 s of its work ahead of its"
echo "subscribers' pongs and dropped them for ping timeouts (runs by hand below)."
echo "The server with the fixed share is then what bounds deliveries/s, as long as the"
echo "clients' CPU per delivery times the deliveries/s stays under the $(nproc) cores minus"
echo "the quota (client CPU column). The deliveries/s ratio is then the ratio of what"
echo "the same CPU share delivers, the comparison of the servers that the unconstrained"
echo "run cannot make."
echo
echo "$capped"
