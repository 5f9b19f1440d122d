package sio

import (
	"net/http"

	"github.com/wiredojo/wiredojo/socketio/engine"
	"github.com/wiredojo/wiredojo/tcpchat"
)

// Path is where a chat server serves Socket.IO, the clients' default.
const Path = "/socket.io/"

// Options configure the Socket.IO transport; Engine holds the Engine.IO
// options (ping interval and timeout, maxPayload, CORS origins, ...).
type Options struct {
	// Engine.AdmitPolling defaults to the chat server's AdmitSession: a
	// polling session counts against its connection limits as a socket
	// does (a WebSocket session is its socket).
	Engine engine.Options
	// Recovery sends the chat session id as the Socket.IO pid in each
	// CONNECT answer, so that clients reconnect with it: set it when the
	// chat server recovers sessions (tcpchat.Server.Recovers).
	Recovery bool
}

// Server serves Socket.IO clients on a chat server: an http.Handler for
// Path on the chat server's port. Each Engine.IO session becomes one
// connection of the chat server, as a framed-TCP or WebSocket client's
// would.
type Server struct {
	eng *engine.Server
}

// New returns the Socket.IO transport of chat; mount it with
// chat.HandleHTTP(sio.Path, s). Close it when the chat server is closed.
func New(chat *tcpchat.Server, opts Options) *Server {
	if opts.Engine.AdmitPolling == nil {
		opts.Engine.AdmitPolling = func(r *http.Request) (func(), error) { return chat.AdmitSession(r.RemoteAddr) }
	}
	countWait := func() { chat.Count(tcpchat.InboxWait) }
	if f := opts.Engine.InboxWait; f != nil {
		opts.Engine.InboxWait = func() { countWait(); f() }
	} else {
		opts.Engine.InboxWait = countWait
	}
	eng := engine.NewServer(opts.Engine, func(s *engine.Session) {
		t := newTransport(s)
		t.chat = chat
		t.recovery = opts.Recovery
		// A WebSocket session waits in the chat server's poller while
		// idle, without this goroutine: the chat server reads it on and
		// ends it.
		s.Detach()
		chat.ServePollable(t)
	})
	return &Server{eng: eng}
}

// ServeHTTP serves the Engine.IO requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.eng.ServeHTTP(w, r) }

// Close ends every Socket.IO session and waits for their goroutines.
func (s *Server) Close() error { return s.eng.Close() }
