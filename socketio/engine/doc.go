// Package engine runs Engine.IO version 4 sessions on the server side: the
// handshake (the open packet with sid, upgrades, pingInterval, pingTimeout
// and maxPayload), HTTP long-polling (GET to receive, POST to send, one
// outstanding GET per session), WebSocket (through package framing/ws),
// the upgrade from polling to WebSocket (2probe, 3probe, a noop to end the
// pending poll, 5, then the queued packets flushed over WebSocket and
// polling refused for that sid), the server's pings and the ping timeout,
// the close packet, CORS for the listed origins and the limit on a request
// body or message (maxHttpBufferSize).
//
// Server is an http.Handler: mount it at the Engine.IO path ("/socket.io/"
// for Socket.IO). Each new session is handed to the handler function in a
// goroutine the Server owns; the session ends when that function returns
// (or earlier: a ping timeout, a transport error, the peer's close). The
// handler reads messages with Session.Read (or Session.Next, which also
// returns the client's pongs) and sends with Session.Send, which queues
// (bounded) and never blocks on the network, or with Session.Write, which
// on an idle WebSocket writes from the caller's goroutine (no writer
// goroutine, no copy) and queues copies otherwise. That goroutine is the
// session's only one while it is idle: it reads a WebSocket itself (so a
// handler keeps reading for as long as the session lasts), the pings are
// timers, and a writer runs only while packets are queued. A handler that
// waits for the WebSocket's connection (Session.NetConn) in a poller
// instead (as package tcpchat/sio does with the chat server's) calls
// Session.Detach and returns: the idle session then has no goroutine, and
// Session.ReleaseRead gives its read buffer back; Session.OnEnd tells the
// poller's side when the session ends under it.
//
// It does not own the packet codec (package socketio/engineio) or what
// the messages mean (Socket.IO, package socketio, mapped onto the chat by
// package tcpchat).
//
// Example, an echo server:
//
//	srv := engine.NewServer(engine.Options{}, func(s *engine.Session) {
//		for {
//			p, err := s.Read()
//			if err != nil {
//				return
//			}
//			s.Send(p)
//		}
//	})
//	defer srv.Close()
//	http.Handle("/engine.io/", srv)
package engine
