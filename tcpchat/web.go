package tcpchat

import (
	"embed"
	"io/fs"
	"net/http"
)

// webFiles is the browser chat page: plain JavaScript on the browser's
// WebSocket, speaking the event protocol's binary packets.
//
//go:embed web/index.html web/wire.js web/app.js web/style.css
var webFiles embed.FS

// initWeb adds the browser page (GET /, /wire.js, /app.js, /style.css), the
// WebSocket endpoint (GET /ws) and TLS termination when configured.
func (s *Server) initWeb() {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(sub)
	for _, p := range []string{"GET /{$}", "GET /wire.js", "GET /app.js", "GET /style.css"} {
		s.mux.Handle(p, files)
	}
	s.initWebSocket()
	s.initTLS()
}
