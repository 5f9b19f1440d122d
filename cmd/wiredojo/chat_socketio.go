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
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/socketio/engine"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/sio"
)

func chatServeSocketIOFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "socketio-client", Usage: "serve the official socket.io-client found in `DIR` (a node_modules folder, the socket.io-client package, or its dist folder) at /socket.io/socket.io.min.js, for the page /sio.html"},
		&cli.BoolFlag{Name: "socketio-test", Usage: "serve what the socket.io-protocol and engine.io-protocol test suites expect (docs/CONFORMANCE.md): pings every 300 ms with a 200 ms timeout, a Socket.IO handshake within 1 s, namespaces / and /custom with the suites' handlers instead of the built-ins, and an Engine.IO echo at /engine.io/"},
	}
}

// applyChatServeSocketIO adjusts the chat's options for --socketio-test
// (before the server is made): no namespaces made on demand, the
// suites' connect timeout; and checks --socketio-client.
func applyChatServeSocketIO(c *cli.Context, opts *tcpchat.Options) error {
	if c.Bool("socketio-test") {
		opts.NewNamespace = nil
		opts.HandshakeTimeout = time.Second
	}
	if c.String("socketio-client") != "" {
		_, err := socketIOClientFile(c.String("socketio-client"))
		return err
	}
	return nil
}

// socketIOClientFile finds socket.io.min.js in dir: a node_modules
// folder, the socket.io-client package or its dist folder.
func socketIOClientFile(dir string) (string, error) {
	for _, p := range []string{"socket.io-client/dist", "node_modules/socket.io-client/dist", "dist", "."} {
		f := filepath.Join(dir, p, "socket.io.min.js")
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			return f, nil
		}
	}
	return "", usagef("--socketio-client %q: no socket.io.min.js in it, its dist/ or socket.io-client/dist/ (npm install socket.io-client there)", dir)
}

// startChatServeSocketIO mounts /socket.io/ on srv (and, for the test
// suites, /engine.io/ and their handlers); the function it returns closes
// them, after srv.
func startChatServeSocketIO(c *cli.Context, srv *tcpchat.Server, opts *tcpchat.Options) func() {
	// A session's own send queue has the chat connection's bounds
	// (--send-queue, --send-queue-bytes), in the test suites' configuration
	// too.
	eopts := engine.Options{Origins: opts.Origins, Hosts: opts.Hosts, MaxPayload: opts.MaxFrame, SendQueue: opts.SendQueue, SendQueueBytes: opts.SendQueueBytes}
	sopts := sio.Options{Recovery: srv.Recovers()}
	var echo *engine.Server
	if c.Bool("socketio-test") {
		// The suites' timings and any origin; their handshake checks
		// announce the engine's default maxPayload (1000000), not
		// --max-frame.
		eopts = engine.Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, Origins: []string{"*"},
			SendQueue: opts.SendQueue, SendQueueBytes: opts.SendQueueBytes}
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
	if js, err := socketIOClientFile(c.String("socketio-client")); c.String("socketio-client") != "" && err == nil {
		srv.HandleHTTP("GET "+sio.Path+"socket.io.min.js", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, js) }))
	} else {
		// Not Engine.IO's 400 "Unsupported protocol version": say how to
		// serve the file that /sio.html loads.
		srv.HandleHTTP("GET "+sio.Path+"socket.io.min.js", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "socket.io.min.js is not served: start the server with `wiredojo chat serve --socketio-client DIR` (DIR: a node_modules with socket.io-client)", http.StatusNotFound)
		}))
	}
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
	if c.String("socketio-client") != "" {
		fmt.Fprintf(w, "; the page with the official client at http://%s/sio.html", addr)
	}
	fmt.Fprintln(w)
}
