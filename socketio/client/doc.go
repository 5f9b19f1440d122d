// Package client is the client side of Engine.IO version 4 and Socket.IO
// version 5: it opens a session with a Socket.IO server (the node
// reference, or the chat server's /socket.io/) and carries whole Socket.IO
// packets, binary attachments included, over it.
//
// Dial opens the session the way the reference client does by default:
// an HTTP long-polling GET for the open packet (sid, upgrades,
// pingInterval, pingTimeout, maxPayload), then the upgrade to WebSocket
// (the probe "2probe", the server's "3probe", then "5"), after which every
// packet travels over the WebSocket. With the URL's query
// transport=websocket it opens the WebSocket directly; with
// transport=polling it stays on HTTP long-polling (the reference client's
// transports: ["polling"]): a GET waits for the server's packets, a POST
// (one at a time) carries the client's, attachments travel base64-encoded.
// Without that query a server that offers no WebSocket upgrade is refused
// with ErrNoWebSocket.
//
// The Conn answers the server's pings by itself while it reads, within the
// read's bounds (the read deadline, the server's silence), not the write
// deadline, which bounds Write alone; it ends the session with
// ErrPingTimeout when the server stays silent longer than pingInterval +
// pingTimeout. It refuses to send a message longer than the server's
// maxPayload (ErrTooLarge). Against a hostile server it bounds what it
// reads: the handshake answer's head and body, the ping timings of the
// open packet, each polling answer; a redirect of a polling request ends
// the session (ErrProtocol). docs/SECURITY.md lists the bounds.
//
// It does not own the codecs (packages socketio/engineio and socketio),
// the WebSocket (package framing/ws), namespaces, acks or what an event
// means: the chat client (package tcpchat) maps its own packets onto
// Socket.IO through a Conn, so that tcpchat.Dial reaches a Socket.IO
// server with a socketio:// URL.
//
// Example:
//
//	c, err := client.Dial(ctx, "socketio://127.0.0.1:3000", client.Options{})
//	...
//	c.Write(client.Message{Packet: socketio.Packet{Type: socketio.Connect}})
//	m, err := c.Read() // 0{"sid":"..."}
package client
