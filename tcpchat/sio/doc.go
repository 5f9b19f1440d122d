// Package sio serves Socket.IO clients (Engine.IO v4, Socket.IO v5: the
// official socket.io-client, python-socketio, ...) on a chat server, as one
// more transport beside framed TCP and WebSocket: they share namespaces,
// rooms, acks and broadcasts with the chat's other clients.
//
// Each Engine.IO session (package socketio/engine) becomes one connection
// of the chat server through a tcpchat.Transport that translates packets:
// a Socket.IO CONNECT becomes the chat's handshake (its auth's "token" the
// access token, its "pid" the session to resume, its "clientId" the
// durable client id, its "resumeToken" that id's secret, which the
// connect answer carries as "resumeToken") and namespace connect
// (the auth object goes to the namespace's middleware; a refusal comes
// back as CONNECT_ERROR {"message": ...}); EVENT, ACK and DISCONNECT map
// one to one (ack ids both ways); binary attachments travel in the chat's
// JSON as {"$binary":"<base64>"} and become attachments again towards a
// Socket.IO client; the chat's session id is the Socket.IO pid, so a
// client that reconnects with it gets its rooms and missed broadcasts
// back (connection state recovery); a durable event reaches a Socket.IO
// client as an event with an ack id, and the client's ack is its receipt.
// docs/PROTOCOL.md, "Socket.IO clients", says what a Socket.IO client can
// and cannot do.
//
// It owns only the translation; the chat's model is package tcpchat's,
// the codecs and sessions are under socketio/.
//
// Example:
//
//	chat := tcpchat.NewServer(tcpchat.Options{})
//	s := sio.New(chat, sio.Options{})
//	defer s.Close()
//	chat.HandleHTTP(sio.Path, s)
//	chat.ListenAndServe(":7070")
package sio
