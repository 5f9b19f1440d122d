#!/usr/bin/env bash
# Installs what the tests need when it is missing: Debian packages (as root),
# Debian's python3-socketio (the Python Socket.IO client), and the node
# packages pinned in testdata/node (ws for the WebSocket interop tests,
# socket.io-client and socket.io for the Socket.IO ones). Under CI=true a
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
	[openssl]=openssl
)

# module of Debian's python3 (/usr/bin/python3, whatever python3 is first on
# PATH) -> Debian packages (with what its client needs)
declare -A pymods=(
	[socketio]="python3-socketio python3-websocket python3-requests"
)

missing=()
for cmd in "${!pkgs[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkgs[$cmd]}")
done
for mod in "${!pymods[@]}"; do
	/usr/bin/python3 -I -c "import $mod" >/dev/null 2>&1 || missing+=(${pymods[$mod]})
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

# Node peers for the WebSocket and Socket.IO interop tests: every package
# pinned in testdata/node/package.json must be there.
node_missing() {
	local p
	for p in $(sed -n '/"dependencies"/,/}/s/^ *"\([^"]*\)": *".*/\1/p' testdata/node/package.json); do
		[ -f "testdata/node/node_modules/$p/package.json" ] || { echo "$p"; return 0; }
	done
	return 1
}
if [ -f testdata/node/package.json ] && command -v npm >/dev/null 2>&1; then
	if node_missing >/dev/null; then
		echo "deps: npm install in testdata/node"
		(cd testdata/node && npm install --no-audit --no-fund --silent) || echo "deps: npm install failed"
	fi
fi

still=()
for cmd in "${!pkgs[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || still+=("$cmd")
done
for mod in "${!pymods[@]}"; do
	/usr/bin/python3 -I -c "import $mod" >/dev/null 2>&1 || still+=("python3 module $mod")
done
if [ -f testdata/node/package.json ] && p=$(node_missing); then
	still+=("node package $p (npm install in testdata/node)")
fi
if [ ${#still[@]} -gt 0 ]; then
	echo "deps: still missing: ${still[*]}"
	if [ "${CI:-}" = true ]; then
		echo "deps: CI=true and a test dependency is missing: failing the run"
		exit 1
	fi
fi
exit 0
