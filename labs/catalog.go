package labs

import (
	"embed"
	"fmt"
)

//go:embed text/*.md
var texts embed.FS

func text(name string) string {
	b, err := texts.ReadFile("text/" + name)
	if err != nil {
		// The texts are embedded at build time; a missing one is a bug in
		// this package, caught by TestCatalog.
		return fmt.Sprintf("(missing lab text %s)", name)
	}
	return string(b)
}

// Catalog returns the labs in order.
func Catalog() Book {
	return Book{
		{
			Number: 1, Slug: "handshake", Title: "Sockets, clients and servers: the TCP handshake",
			Goal: "see the three-way handshake and the teardown in a capture",
			Text: text("01-handshake.md"),
			Hints: []string{
				"Start the capture before you connect, both with `wiredojo sandbox --` in front, and stop it (Ctrl-C) after `chat emit` has finished, so the file holds the whole connection.",
				"In `capture read LABDIR/handshake.pcap -v`, each TCP line shows `seq N (raw R)`: the ISN is the raw number R of the [S] (client) and of the [S.] (server).",
				"The teardown starts at the first segment with F in its flags; count it and every segment after it on that connection. [F.] is a FIN with a piggybacked ACK: one segment.",
			},
			Run: runHandshake, Serves: true, Check: checkHandshake,
		},
		{
			Number: 2, Slug: "bytestream", Title: "TCP is a byte stream: framing",
			Goal: "see messages coalesce, then frame them with length prefixes",
			Text: text("02-bytestream.md"),
			Hints: []string{
				"Terminal 1 prints one `read` line per read call, with its connection number: count the lines of the connection that carried one, two and three.",
				"Each frame is 4 bytes of length (big-endian), then that many bytes: `three` has five letters, so its length bytes are \\x00\\x00\\x00\\x05.",
				"Run exactly: wiredojo tcp send --to 127.0.0.1:7072 --data '\\x00\\x00\\x00\\x03one' --data '\\x00\\x00\\x00\\x03two' --data '\\x00\\x00\\x00\\x05three'",
			},
			Run: runByteStream, Serves: true, Check: checkByteStream,
		},
		{
			Number: 3, Slug: "events", Title: "Bidirectional events and acknowledgements",
			Goal: "emit events, listen to them, and get an ack back",
			Text: text("03-events.md"),
			Hints: []string{
				"Start the listener first: a plain event reaches only those connected when it is sent.",
				"`--ack` makes `chat emit` wait for the reply and print it.",
				"The `echo` handler answers with its arguments: the ack of '\"ping\"' is \"ping\".",
			},
			Run: runEvents, Serves: true, Check: checkEvents,
		},
		{
			Number: 4, Slug: "websocket", Title: "WebSocket by hand",
			Goal: "compute Sec-WebSocket-Accept and see masking in a capture",
			Text: text("04-websocket.md"),
			Hints: []string{
				"Concatenate the key and the GUID as text, hash the bytes with SHA-1, and base64 the 20-byte digest.",
				"For the key dGhlIHNhbXBsZSBub25jZQ== the RFC gives the answer as an example (RFC 6455, section 1.3).",
				"In the hex dump of your frame (client port -> 7074), after 81 85 come the 4 bytes of the masking key; `ws dial` prints the close code as `closed: CODE`.",
			},
			Run: runWebSocket, Serves: true, Check: checkWebSocket,
		},
		{
			Number: 5, Slug: "queues", Title: "Missed events and queues",
			Goal: "plain versus durable emits while a client is offline",
			Text: text("05-queues.md"),
			Hints: []string{
				"The queue is keyed by client id: reconnect with the same --client-id.",
				"Durable events are redelivered until `chat listen` acknowledges them; it does so by itself.",
				"Plain events sent while you were away are gone: that is the point of the lab.",
			},
			Run: runQueues, Serves: true, Check: checkQueues,
		},
		{
			Number: 6, Slug: "rooms", Title: "Rooms and namespaces",
			Goal: "join rooms, emit to one, and watch the room lifecycle",
			Text: text("06-rooms.md"),
			Hints: []string{
				"`chat listen --room blue` asks the server to join room blue for you.",
				"A room is created when its first member joins and deleted when its last member leaves.",
				"Stop the listeners (Ctrl-C) before checking, so `leave-room` and `delete-room` appear in the log.",
			},
			Run: runRooms, Serves: true, Check: checkRooms,
		},
		{
			Number: 7, Slug: "many-servers", Title: "Many servers: two nodes and Redis",
			Goal: "a broadcast on one node reaches a client on the other",
			Text: text("07-many-servers.md"),
			Hints: []string{
				"Both nodes use the same Redis: rooms are shared through it.",
				"Start the listener on node 2 before emitting on node 1.",
				"Check that `lab run 7` is still running: it owns Redis and both nodes.",
			},
			Run: runManyServers, Serves: true, Check: checkManyServers,
		},
		{
			Number: 8, Slug: "tcp-vs-udp", Title: "TCP versus UDP under loss",
			Goal: "loss, reordering and jitter against head-of-line blocking",
			Text: text("08-tcp-vs-udp.md"),
			Hints: []string{
				"The comparison needs loss on the link both protocols cross: run compare as the lab says (not with --link none).",
				"`--json` prints one object with `tcp` and `udp`: redirect it into the lab folder.",
				"Run exactly: wiredojo compare --count 500 --size 200 --loss 5% --delay 10ms --jitter 2ms --json --report LABDIR/compare.html > LABDIR/compare.json",
			},
			Check: checkTCPvsUDP,
		},
		{
			Number: 9, Slug: "osi-tcpip", Title: "OSI versus TCP/IP",
			Goal: "place each layer of captured packets on both models",
			Text: text("09-osi-tcpip.md"),
			Hints: []string{
				"`capture read -v` labels every layer with its OSI number and TCP/IP layer.",
				"TCP/IP has four layers: link, internet, transport, application.",
				"Ethernet: 2 link, IPv4: 3 internet, TCP: 4 transport, UDP: 4 transport, HTTP: 7 application, WebSocket: 7 application (5 is accepted too).",
			},
			Run: runLayers, Check: checkLayers,
		},
		{
			Number: 10, Slug: "broadcast-multicast", Title: "UDP broadcast and multicast",
			Goal: "send to a multicast group and receive as a member, then broadcast",
			Text: text("10-broadcast-multicast.md"),
			Hints: []string{
				"The receiver must join the group (--group) before the sender sends.",
				"Multicast on one machine works through the loopback of the multicast route; `udp send` turns loopback on.",
				"`udp recv --json` prints one object: its \"received\" and \"lost\" are the answers. A broadcast needs --broadcast on the sender and no group on the receiver.",
				"Its \"destinations\" say where each datagram was addressed: the check wants multicast.json's all to the group, broadcast.json's all to a broadcast address. A send to the receiver's own address (127.0.0.1) counts as unicast.",
			},
			Check: checkMulticast,
		},
		{
			Number: 11, Slug: "socketio", Title: "socket.io on the wire",
			Goal: "see Engine.IO's handshake, upgrade and heartbeat and Socket.IO's events, acks and attachments in a capture",
			Text: text("11-socketio.md"),
			Hints: []string{
				"Start the capture first, then `chat listen`, then `chat emit`; stop `chat listen` only after a second, so that the server's pings (every 300 ms) are in the file.",
				"In `capture read`, the OPEN is in the answer to the first GET: its JSON has \"sid\" and \"pingInterval\". The probe is `PING probe`, answered by `PONG probe`, then `UPGRADE`.",
				"Your emit is the BINARY_EVENT `message-with-ack`: its WebSocket text starts 451-: Engine.IO's 4 (MESSAGE), Socket.IO's 5 (BINARY_EVENT) and 1- (one attachment), then the ack id (the viewer prints `ack N`); the server's BINARY_ACK carries the same id. Engine.IO is placed like a session protocol, Socket.IO like an application.",
			},
			Run: runSocketIO, Serves: true, Check: checkSocketIO,
		},
	}
}
