// Package wsecho is an RFC 6455 echo server on top of framing/ws: every
// message a client sends comes back unchanged (same opcode, same payload),
// every close is answered. It owns the accept loop and one goroutine per
// connection, and nothing else; `wiredojo ws echo` runs it for conformance
// runs (Autobahn's fuzzingclient) and the tests use it as a peer.
//
// Example:
//
//	l, _ := net.Listen("tcp", "127.0.0.1:9001")
//	s := &wsecho.Server{Upgrader: ws.Upgrader{Compression: true}}
//	go s.Serve(l)
//	...
//	s.Close()
package wsecho
