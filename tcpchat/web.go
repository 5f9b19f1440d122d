package tcpchat

import (
	"embed"
	"io/fs"
	"net/http"
)

// webFiles are the browser chat pages: index.html, plain JavaScript on the
// browser's WebSocket speaking the event protocol's binary packets, and
// sio.html, the same chat through the official socket.io-client (which the
// server does not ship: /socket.io/socket.io.min.js is served when the
// program mounts it, as `chat serve --socketio-client` does).
//
//go:embed web/index.html web/ui.js web/wire.js web/app.js web/style.css web/sio.html web/sio.js
var webFiles embed.FS

// initWeb adds the browser pages (GET /, /sio.html and their files), the
// WebSocket endpoint (GET /ws) and TLS termination when configured.
func (s *Server) initWeb() {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(sub)
	for _, p := range []string{"GET /{$}", "GET /ui.js", "GET /wire.js", "GET /app.js", "GET /style.css", "GET /sio.html", "GET /sio.js"} {
		s.mux.Handle(p, files)
	}
	s.initWebSocket()
	s.initTLS()
}
