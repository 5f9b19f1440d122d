#!/usr/bin/env bash
# Regenerates the capture files of this folder from real traffic of
# wiredojo's scenarios (capture/internal/capgen; sio-capture.pcap: node's
# socket.io-client from ../node, npm ci there first, against wiredojo chat
# serve; sio-binary.pcap: the same client against node's socket.io
# server), recorded by tcpdump inside throw-away network namespaces. Needs
# root, tcpdump, ip, editcap, mergecap, node.
# Afterwards refresh the goldens:
#   go test ./cmd/wiredojo -run TestCaptureGolden -update
set -euo pipefail
cd "$(dirname "$0")"
bin=$(mktemp -d)
go build -o "$bin/capgen" ../../capture/internal/capgen
go build -o "$bin/wiredojo" ../../cmd/wiredojo
ns=wdcapA$$
nsb=wdcapB$$
cleanup() {
	ip netns del "$ns" 2>/dev/null || true
	ip netns del "$nsb" 2>/dev/null || true
	rm -rf "$bin"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns add "$nsb"
ip netns exec "$ns" ip link set lo up
ip netns exec "$nsb" ip link set lo up
ip link add wdva netns "$ns" type veth peer name wdvb netns "$nsb"
ip netns exec "$ns" ip addr add 10.77.0.1/24 dev wdva
ip netns exec "$nsb" ip addr add 10.77.0.2/24 dev wdvb
ip netns exec "$ns" ip link set wdva up
ip netns exec "$nsb" ip link set wdvb up

# rec FILE IFACE 'TCPDUMP OPTIONS' COMMAND...: record COMMAND's traffic.
rec() {
	local file=$1 iface=$2 opts=$3
	shift 3
	# shellcheck disable=SC2086
	ip netns exec "$ns" tcpdump -U --immediate-mode -Z root -i "$iface" $opts -w "$file" 2>"$file.log" &
	local pid=$!
	sleep 1
	ip netns exec "$ns" "$@"
	sleep 1.5
	kill -TERM "$pid"
	wait "$pid" || true
	echo "generate: $file ($(tcpdump -r "$file" 2>/dev/null | wc -l) packets)" >&2
}

rec chat-tcp.pcap lo "" "$bin/capgen" chat-tcp
rec chat-ws.pcap lo "" "$bin/capgen" chat-ws
rec udp-dns-icmp.pcap lo "" sh -c "$bin/capgen udp && $bin/capgen dns && $bin/capgen ping 127.0.0.1"
rec tls.pcap lo "" "$bin/capgen" tls
rec veth-arp-frag.pcap wdva "" sh -c "$bin/capgen ping 10.77.0.2 && $bin/capgen udp-big 10.77.0.2:9999"
rec any-sll2.pcap any "" "$bin/capgen" chat-tcp
rec any-sll.pcap any "-y LINUX_SLL" "$bin/capgen" udp
# socket.io-client 4.8 (polling handshake, upgrade, pings every 300 ms, an
# event with an ack, a binary attachment) against wiredojo's Socket.IO.
rec sio-capture.pcap lo "" sh -c "XDG_STATE_HOME=$bin $bin/wiredojo chat serve --socketio-test --store memory >$bin/serve.log 2>&1 & sleep 1; node ../node/sio-capture.js http://127.0.0.1:7070; s=\$?; kill \$!; exit \$s"
# node's socket.io-client 4.8 against node's socket.io 4.8 server
# (../node/sio-binary.js starts it): binary attachments both ways, over
# polling (base64 records) and over WebSocket (binary messages).
rec sio-binary.pcap lo "" node ../node/sio-binary.js

# Raw IP (link type 101): the chat capture without its Ethernet headers.
# Loopback/null (link type 0): a 4-byte address family instead of them.
python3 - <<'PY'
import struct
def relink(src_name, dst_name, linktype, head):
    src = open(src_name, "rb").read()
    out = bytearray(src[:20] + struct.pack("<I", linktype))
    i = 24
    while i < len(src):
        sec, usec, incl, orig = struct.unpack("<IIII", src[i:i+16])
        data = src[i+16:i+16+incl]
        body = head(data) + data[14:]
        out += struct.pack("<IIII", sec, usec, len(body), orig - 14 + len(head(data))) + body
        i += 16 + incl
    open(dst_name, "wb").write(out)
relink("chat-tcp.pcap", "raw-ip.pcap", 101, lambda d: b"")
relink("udp-dns-icmp.pcap", "null-loopback.pcap", 0,
       lambda d: struct.pack("<I", 2 if d[12:14] == b"\x08\x00" else 10))
PY
# TCP gone wrong (lost, out-of-order, retransmitted, duplicate ACKs, zero
# window, reset): built, since this kernel has no netem.
"$bin/capgen" expert tcp-expert.pcap
# The fidelity corpus (built packet by packet, deterministic): a snapshot
# length of 96, fragmented IPv6, every TCP option, DNS over UDP and TCP,
# permessage-deflate WebSocket, ICMP and ICMPv6 errors.
"$bin/capgen" corpus .
# pcapng with two interfaces of different link types.
mergecap -F pcapng -w multi-iface.pcapng chat-ws.pcap any-sll.pcap
ls -l ./*.pcap ./*.pcapng >&2
