// Package tcpchat owns wiredojo's event chat: the server and the Go client
// of the event protocol, in the model socket.io made familiar —
// bidirectional named events with JSON arguments, acknowledgements (with a
// timeout, both ways), namespaces with middleware and an auth payload,
// rooms that only the server joins and leaves, broadcasts to rooms with
// Except, volatile emits and broadcasts that exclude the sender, OnAny, room
// lifecycle events from the adapter, and heartbeats.
//
// It does not own the packet encoding (package tcpchat/wire), the frame
// codec (package framing), WebSocket (framing/ws plugs in through
// Transport and Server.ServeTransport), or durable queues and their stores
// (tcpchat/store).
//
// One TCP port serves everything: the server reads the first bytes of each
// connection and dispatches the framed protocol (wire.Preamble), HTTP
// (/healthz, /metrics, and handlers added with HandleHTTP) and, later, TLS.
//
// Performance design: a broadcast is encoded once into a reference-counted
// Message queued on every recipient; each connection has one reading
// goroutine and a writer goroutine only while it has packets queued; read
// and write buffers are pooled, so an idle connection holds neither. The send
// queue is bounded: a full queue cuts that connection (ErrSlowConsumer) and
// never blocks a broadcast.
//
// Example:
//
//	srv := tcpchat.NewServer(tcpchat.Options{})
//	chat := srv.Of("/chat")
//	chat.Use(func(s *tcpchat.Socket, auth json.RawMessage) error { ... })
//	chat.OnConnection(func(s *tcpchat.Socket) {
//		s.Join("lobby")
//		s.On("message", func(e *tcpchat.Event) {
//			s.To("lobby").EmitRaw("message", e.Args) // everyone else in the lobby
//			e.Ack("ok")
//		})
//	})
//	go srv.ListenAndServe("127.0.0.1:7070")
//	...
//	c, err := tcpchat.Dial(ctx, "127.0.0.1:7070", tcpchat.ClientOptions{})
//	sock, err := c.Connect(ctx, "/chat", map[string]string{"name": "ann"})
//	reply, err := sock.EmitWithAck(ctx, "message", "hello")
package tcpchat
