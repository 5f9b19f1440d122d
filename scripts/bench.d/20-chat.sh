#!/usr/bin/env bash
# The event chat against its peers, in the same run. First as users run
# them: the real `wiredojo chat serve` (bin/wiredojo, its defaults except
# the rate limits), nats-server (built from the Go module proxy, default
# options) and socket.io 4.8 on node (bench/node, installed here with npm
# ci), each server a process of its own and the clients in chatbench
# (`chatbench proc`): deliveries/s at N = 1, 10, 100 subscribers and windows
# 100 and 1000, server CPU per delivery from /proc/PID/stat, latency paced
# at 10,000 deliveries/s, RSS per idle connection. Then, labelled as such,
# the older in-process comparison with NATS core (server and clients in one
# process; embedded nats-server, nats.go clients; the chat's idle figure
# from tcpchat's BenchmarkIdleConnMemory).
# Prints the markdown section of docs/BENCHMARKS.md on stdout, progress on
# stderr. CHAT_BENCH_DELIVERIES, CHAT_BENCH_WINDOW, CHAT_BENCH_RUNS,
# CHAT_BENCH_PACED, CHAT_PROC_DELIVERIES, CHAT_PROC_RUNS and CHAT_PROC_IDLE
# override the defaults below.
set -euo pipefail
cd "$(dirname "$0")/../.."
deliveries=${CHAT_BENCH_DELIVERIES:-300000}
window=${CHAT_BENCH_WINDOW:-256}
runs=${CHAT_BENCH_RUNS:-5}
idle=10000 # as tcpchat's BenchmarkIdleConnMemory
paced=${CHAT_BENCH_PACED:-20000}
proc_deliveries=${CHAT_PROC_DELIVERIES:-300000}
proc_runs=${CHAT_PROC_RUNS:-3}
proc_idle=${CHAT_PROC_IDLE:-10000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 10,000 connections need that many descriptors in the server process and
# in the client process: raise the soft limit as far as the hard one allows.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
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
	-n 1,10,100 -windows 100,1000 -deliveries "$proc_deliveries" -runs "$proc_runs" -paced 10000 -idle "$proc_idle" -idle-ws)
proc_end=$(date -u +%H:%M)
proc_load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# A CPU profile of the real server under the N=1, W=1000 case (chat serve
# --pprof through WIREDOJO_PPROF): 5 s taken 3 s into a long run.
echo "chat: profiling chat serve at N=1, W=1000" >&2
pprof_addr=127.0.0.1:$((10000 + RANDOM % 20000)) # below the ephemeral ports
WIREDOJO_PPROF=$pprof_addr "$tmp/chatbench" proc -wiredojo bin/wiredojo -systems wiredojo -n 1 -windows 1000 \
	-deliveries 4000000 -runs 1 -paced 0 -idle 0 > "$tmp/prof.md" 2> "$tmp/prof.err" &
prof_pid=$!
sleep 3
curl -fsS -o "$tmp/serve.pprof" "http://$pprof_addr/debug/pprof/profile?seconds=5" || true
wait "$prof_pid" || true
proftop=""
if [ -s "$tmp/serve.pprof" ]; then
	proftop=$(go tool pprof -top -cum -nodecount=30 bin/wiredojo "$tmp/serve.pprof" 2>/dev/null | sed -n '/flat%/,$p')
fi

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
echo
echo "$proctab"
echo
echo "### Where the server's time goes (N=1, W=1000)"
echo
echo "Before the changes of 2026-12-04 (main at 4a50911, 15:35 UTC, load average"
echo "about 18): 5.97 µs of server CPU per delivery at N=1. Of the server's CPU"
echo "(cumulative shares of an 8 s profile): handling the publisher's events 62%,"
echo "of which the built-in relay 59%: recording each broadcast in the replay log"
echo "41% (a context with a timeout per broadcast 17%, the memory store's append"
echo "18%), the room broadcast 6%; allocation 15%; the writers 5%. strace -c over"
echo "220,000 events at N=1: 7,262 writes and 7,847 reads, the writer goroutine"
echo "started afresh for most writes."
echo
echo "Then the replay log recorded without a context or allocations"
echo "(tcpchat/store), and the events of one read of the publisher left in one"
echo "write per recipient (tcpchat's read batch): 1,460 writes for the same 220,000"
echo "events. At 18:13 UTC (main at 5119a51, load average 9 to 22) the same profile"
echo "still showed per-event work NATS does not do (cumulative shares): handling an"
echo "event 76%; the replay log 20% (its clock read, time.Now, 3.6%); a copy of the"
echo "sender's rooms for every relay (SocketRooms 7.5%) and another in To, 7.5% of"
echo "CPU in allocation; a string concatenation per packet in the wire decoder"
echo "(3.3%); reads 10.7%, because the publisher's connection was read 4 KiB at a"
echo "time, each read batch beginning with a read of the 4 header bytes: 11,000"
echo "reads for 330,000 events at N=1, W=1000 (NATS: 1,800)."
echo
echo "Since then (18:20-19:10 UTC): the built-in relay allocates nothing per event"
echo "(Socket.AppendRooms into a pooled slice; BenchmarkBuiltinRelay, chat serve's"
echo "setup: 3 -> 0 allocs per event); a broadcast stamps its replay entry with the"
echo "clock reading of the read that brought its event (no clock read per append);"
echo "the decoder names a field only when it fails; a connection's reader moves to"
echo "64 KiB reads while its sender keeps it busy, and on a socket reads a frame's"
echo "header with what follows in one read, borrowing its buffer only once bytes"
echo "are there (framing). Read+write system calls per event at N=1, W=1000 went"
echo "from 0.04 to 0.01, as NATS's (the syscalls column above: /proc/PID/io of the"
echo "server)."
echo
echo "Then (2026-12-04 22:00 to 2026-12-05 08:40 UTC): the reader of a read batch"
echo "writes to its first 16 parked recipients itself, as NATS's reader flushes its"
echo "subscribers (no writer goroutine started per read batch at low fan-out); a"
echo "busy framed connection waits for bytes in its goroutine for up to 1 s before"
echo "it parks (parking per read batch, an epoll_ctl and a goroutine start, was"
echo "about half of the server's CPU per event at paced load); the memory replay"
echo "log writes each entry in place (Memory.RecordReplay: no 152-byte Message"
echo "built and copied twice per broadcast, names checked only when new to the"
echo "log) as a 72-byte record of its own. What remains at N=1 is the replay log,"
echo "which NATS core does not keep: 15 to 24% of the CPU in the profiles of"
echo "2026-12-05, most of it writing each broadcast into a 10,000-entry log whose"
echo "memory is out of the cache by the time it is reused, after the event was"
echo "encoded into a pooled buffer the writer goroutine last read on the other"
echo "core. The profile charges those writes to the next locked instruction (the"
echo "id counter's add, the adapter's read locks, the message's reference count),"
echo "which waits for them: with GOMAXPROCS=1 the add left the profile. This"
echo "run's profile of the same case (\`go tool pprof -top -cum\`, the top 30"
echo "entries):"
echo
if [ -n "$proftop" ]; then
	echo '```'
	echo "$proftop"
	echo '```'
else
	echo "No profile: $(tail -n 3 "$tmp/prof.err" | tr '\n' ' ')"
fi
echo
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
