#!/usr/bin/env bash
# Durable queue stores: append + read + ack cycles for memory, bolt (fsync,
# group commit) and Redis, and the Redis bus between nodes.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/benchlib.sh
echo "## Durable queue stores (tcpchat/store)"
echo
echo "Cycle = Append + Pending + AckBatch of one 128-byte event; bolt fsyncs every commit (group commit);"
echo "Redis is a local redis-server started by the benchmark, AOF as named. Bus = publish node to node."
echo
echo '```'
bench_lines '^(Benchmark|cpu)' go test -run '^$' -bench . -benchtime 2s ./tcpchat/store/ ./tcpchat/store/boltstore/ ./tcpchat/store/redisstore/ ./tcpchat/redisadapter/internal/redisbus/
echo '```'
