#!/usr/bin/env bash
# Instructions per delivery of `wiredojo chat serve` under the official
# socket.io-client (bench/node/client.js, the harness of
# scripts/bench.d/22-socketio.sh), counted by callgrind: repeatable where
# CPU time is not.
#
#   bash scripts/sio-callgrind.sh [BIN] [N] [SMALL] [LARGE]
#
# BIN is a wiredojo binary built with CGO_ENABLED=0 (default: one built
# here into a temporary directory), N the subscribers (1), SMALL and
# LARGE the measured events of two runs (2000 and 12000). Each run starts
# the server afresh under callgrind, runs the fan-out case to its end and
# has callgrind dump its counts while the clients close (callgrind aborts
# on the signal that would end the server, and a dump asked of an idle
# Go process waits for it to run, so the dump is asked for first and the
# clients' closing makes the server run; then the server is killed). The
# figure is the difference of the two runs' instructions over the
# difference of their deliveries: start-up, warm-up (500 events) and
# shutdown cancel out. Five pairs on 2026-12-06 (main 2e30562, about 10 s
# each) gave 7,020 to 7,804 at N=1 (the start-up varies by some 4 million
# instructions from run to run: keep LARGE - SMALL large), and two pairs
# of 500 and 3000 events at N=10 1,230 and 1,813 (the batches, and so the
# writes per delivery, differ from run to run under callgrind too):
# compare binaries over several pairs, alternating.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
cleanup() {
	[ -n "${srv:-}" ] && kill -9 "$srv" 2>/dev/null || true
	[ -n "${cli:-}" ] && kill "$cli" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
bin=${1:-}
n=${2:-1}
small=${3:-2000}
large=${4:-12000}
if [ -z "$bin" ]; then
	CGO_ENABLED=0 go build -tags urfave_cli_no_docs -o "$tmp/wiredojo" ./cmd/wiredojo
	bin=$tmp/wiredojo
fi
[ -d bench/node/node_modules ] || (cd bench/node && npm ci --no-audit --no-fund --silent)

# endrun kills what a run started: run goes in a subshell (<(run ...)),
# which does not inherit the script's trap.
endrun() {
	[ -n "${srv:-}" ] && kill -9 "$srv" 2>/dev/null || true
	if [ -n "${cli:-}" ]; then
		pkill -9 -P "$cli" 2>/dev/null || true
		kill -9 "$cli" 2>/dev/null || true
	fi
}

# run EVENTS prints "DELIVERIES INSTRUCTIONS" of one run.
run() {
	trap endrun EXIT
	local events=$1 dir port
	dir=$(mktemp -d "$tmp/run.XXXX")
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	XDG_DATA_HOME=$dir XDG_STATE_HOME=$dir NO_COLOR=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind \
		--callgrind-out-file="$dir/cg.out" "$bin" chat serve --addr "127.0.0.1:$port" --rate-limit 0 \
		--max-conns 0 --max-conns-per-addr 0 --conn-rate-per-addr 0 --event-rate-per-addr 0 \
		>/dev/null 2>"$dir/valgrind.err" &
	srv=$!
	local i
	for i in $(seq 600); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
		sleep 0.1
	done
	mkfifo "$dir/in"
	(cd bench/node && exec node client.js fanout "http://127.0.0.1:$port/chat" "$n" "$events" 500 1000 3 1 <"$dir/in" >"$dir/out") &
	cli=$!
	exec 4>"$dir/in"
	wait_for() {
		local j
		for j in $(seq 3000); do
			grep -q "^$1" "$dir/out" && return 0
			if ! kill -0 "$srv" 2>/dev/null; then
				# valgrind's VEX lacks some instructions (on an AMD EPYC guest
				# the runtime's RDTSCP, 0F 01 F9): the server dies of SIGILL.
				echo "sio-callgrind: the server ended under valgrind before '$1':" >&2
				grep -m 3 -E 'unhandled instruction|SIGILL|Fatal' "$dir/valgrind.err" >&2 || tail -3 "$dir/valgrind.err" >&2
				return 1
			fi
			kill -0 "$cli" 2>/dev/null || { echo "sio-callgrind: the client ended before '$1'" >&2; return 1; }
			sleep 0.1
		done
		echo "sio-callgrind: no '$1' from the client in 300 s" >&2
		return 1
	}
	wait_for warm || return 1
	echo go >&4
	wait_for result || return 1
	callgrind_control -d "$srv" >/dev/null 2>&1 &
	local ctl=$!
	exec 4>&- # the clients close: the server runs and takes the dump
	# They end once the server answers their close; a server that
	# callgrind left hung never does, and its clients would spin on.
	for i in $(seq 600); do
		kill -0 "$cli" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$cli" 2>/dev/null; then
		echo "sio-callgrind: the client did not end within 60 s of the run's end (the server hung?): killed" >&2
		endrun
	fi
	wait "$cli" 2>/dev/null || true
	cli=
	for i in $(seq 600); do
		kill -0 "$ctl" 2>/dev/null || break
		sleep 0.1
	done
	kill "$ctl" 2>/dev/null || true
	sleep 1
	kill -9 "$srv" 2>/dev/null || true
	wait "$srv" 2>/dev/null || true
	srv=
	local deliveries ir
	deliveries=$(sed -n 's/^result .*"deliveries":\([0-9]*\).*/\1/p' "$dir/out")
	ir=$(cat "$dir"/cg.out.* 2>/dev/null | sed -n 's/^summary: \([0-9]*\).*/\1/p' | head -1)
	if [ -z "$deliveries" ] || [ -z "$ir" ]; then
		echo "sio-callgrind: no dump or no result (see $dir/valgrind.err)" >&2
		return 1
	fi
	echo "$deliveries $ir"
}

# measure EVENTS prints what run prints, trying up to three times: a
# server that callgrind left hung gives no result (one run in four on
# 2026-12-06).
measure() {
	local try out
	for try in 1 2 3; do
		if out=$(run "$1") && [ -n "$out" ]; then
			echo "$out"
			return 0
		fi
		echo "sio-callgrind: the run of $1 events gave no result (try $try of 3)" >&2
	done
	return 1
}

read -r d0 i0 < <(measure "$small")
read -r d1 i1 < <(measure "$large")
if [ -z "${i0:-}" ] || [ -z "${i1:-}" ]; then
	echo "sio-callgrind: no result after three tries" >&2
	exit 1
fi
echo "N=$n: $d0 deliveries $i0 instructions, $d1 deliveries $i1 instructions"
echo "N=$n: $(((i1 - i0) / (d1 - d0))) instructions per delivery (callgrind, chat serve, socket.io-client)"
