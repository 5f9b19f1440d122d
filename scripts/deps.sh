#!/usr/bin/env bash
# Installs what the tests need when it is missing: Debian packages (as root)
# and the node `ws` package for the WebSocket interop tests. Under CI=true a
# dependency that is still missing afterwards fails the run; elsewhere it is
# reported, and the tests that need it fail with a message naming it.
set -uo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package
declare -A pkgs=(
	[redis-server]=redis-server
	[tshark]=tshark
	[tcpdump]=tcpdump
	[chromium]=chromium
	[iperf3]=iperf3
	[node]=nodejs
	[npm]=npm
	[ip]=iproute2
	[redis-cli]=redis-tools
)

missing=()
for cmd in "${!pkgs[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkgs[$cmd]}")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "deps: installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || [ -n "$(find /var/lib/apt/lists -maxdepth 0 -mmin +1440 2>/dev/null)" ]; then
			apt-get update -q >/dev/null
		fi
		apt-get install -y -q "${missing[@]}" >/tmp/wiredojo-apt.log 2>&1 || {
			tail -20 /tmp/wiredojo-apt.log
			echo "deps: apt-get install failed"
		}
	else
		echo "deps: missing ${missing[*]} (install them, or run as root so that make test installs them)"
	fi
fi

# Node peers for the WebSocket interop tests.
if [ -f testdata/node/package.json ] && command -v npm >/dev/null 2>&1; then
	if [ ! -d testdata/node/node_modules/ws ]; then
		echo "deps: npm install in testdata/node"
		(cd testdata/node && npm install --no-audit --no-fund --silent) || echo "deps: npm install failed"
	fi
fi

still=()
for cmd in "${!pkgs[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || still+=("$cmd")
done
if [ -f testdata/node/package.json ] && [ ! -d testdata/node/node_modules/ws ]; then
	still+=("node ws package")
fi
if [ ${#still[@]} -gt 0 ]; then
	echo "deps: still missing: ${still[*]}"
	if [ "${CI:-}" = true ]; then
		echo "deps: CI=true and a test dependency is missing: failing the run"
		exit 1
	fi
fi
exit 0
