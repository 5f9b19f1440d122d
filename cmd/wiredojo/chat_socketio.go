package main

// The Socket.IO side of `chat serve`: /socket.io/ on the chat port, and the
// configuration the socket.io-protocol and engine.io-protocol test suites
// expect (--socketio-test, docs/CONFORMANCE.md). chat.go adds the flag and
// calls these functions.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/socketio/engine"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/sio"
)

func chatServeSocketIOFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "socketio-test", Usage: "serve what the socket.io-protocol and engine.io-protocol test suites expect (docs/CONFORMANCE.md): pings every 300 ms with a 200 ms timeout, a Socket.IO handshake within 1 s, namespaces / and /custom with the suites' handlers instead of the built-ins, and an Engine.IO echo at /engine.io/"},
	}
}

// applyChatServeSocketIO adjusts the chat's options for --socketio-test
// (before the server is made): no namespaces made on demand, the
// suites' connect timeout.
func applyChatServeSocketIO(c *cli.Context, opts *tcpchat.Options) {
	if c.Bool("socketio-test") {
		opts.NewNamespace = nil
		opts.HandshakeTimeout = time.Second
	}
}

// startChatServeSocketIO mounts /socket.io/ on srv (and, for the test
// suites, /engine.io/ and their handlers); the function it returns closes
// them, after srv.
func startChatServeSocketIO(c *cli.Context, srv *tcpchat.Server, opts *tcpchat.Options) func() {
	eopts := engine.Options{Origins: opts.Origins, Hosts: opts.Hosts, MaxPayload: opts.MaxFrame}
	sopts := sio.Options{Recovery: opts.RecoveryStore != nil || opts.Store != nil}
	var echo *engine.Server
	if c.Bool("socketio-test") {
		eopts = engine.Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, Origins: []string{"*"}}
		sopts.Recovery = false
		suiteHandlers(srv)
		echo = engine.NewServer(eopts, func(s *engine.Session) {
			for {
				p, err := s.Read()
				if err != nil {
					return
				}
				s.Send(p)
			}
		})
		srv.HandleHTTP("/engine.io/", echo)
	}
	sopts.Engine = eopts
	s := sio.New(srv, sopts)
	srv.HandleHTTP(sio.Path, s)
	return func() {
		s.Close()
		if echo != nil {
			echo.Close()
		}
	}
}

// suiteHandlers are the socket.io-protocol test suite's server: "/" and
// "/custom" emit "auth" with the handshake's auth on connection; "/"
// answers "message" with "message-back" and acks "message-with-ack" with
// its arguments.
func suiteHandlers(srv *tcpchat.Server) {
	emitAuth := func(s *tcpchat.Socket) {
		auth := s.Auth()
		if len(auth) == 0 {
			auth = json.RawMessage("{}")
		}
		s.EmitRaw("auth", json.RawMessage("["+string(auth)+"]"))
	}
	main := srv.Of("/")
	main.OnConnection(emitAuth)
	main.On("message", func(e *tcpchat.Event) { e.Socket.EmitRaw("message-back", e.Args) })
	main.On("message-with-ack", func(e *tcpchat.Event) { e.AckRaw(e.Args) })
	srv.Of("/custom").OnConnection(emitAuth)
}

// chatServeSocketIOBanner says where Socket.IO clients connect.
func chatServeSocketIOBanner(w io.Writer, addr net.Addr, c *cli.Context) {
	fmt.Fprintf(w, "chat: Socket.IO clients at http://%s%s (Engine.IO v4: polling and WebSocket)", addr, sio.Path)
	if c.Bool("socketio-test") {
		fmt.Fprint(w, "; protocol test-suite configuration, Engine.IO echo at /engine.io/")
	}
	fmt.Fprintln(w)
}
