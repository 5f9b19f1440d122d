package tcpchat

import (
	"net"

	"github.com/wiredojo/wiredojo/framing/ws"
)

// The transport benchmarks (package tcpchat_test) build transports
// directly; applications never do.
var (
	NewFramedTransport    func(net.Conn, int) Transport = newFramedTransport
	NewWebSocketTransport func(*ws.Conn) Transport      = newWebSocketTransport
)

// NamespacePins returns the connects under way to ns.
func NamespacePins(ns *Namespace) int {
	ns.srv.mu.Lock()
	defer ns.srv.mu.Unlock()
	return ns.pins
}

// MaxQueuedBytes returns the largest count of queued bytes
// (Options.SendQueueBytes) over srv's connections.
func MaxQueuedBytes(srv *Server) int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	n := 0
	for c := range srv.conns {
		c.mu.Lock()
		n = max(n, int(c.qbytes))
		c.mu.Unlock()
	}
	return n
}

// SetMaxIdleAddrs lowers the bound on the addresses without sockets whose
// state srv keeps (maxIdleAddrs).
func SetMaxIdleAddrs(srv *Server, n int) {
	srv.lim.mu.Lock()
	srv.lim.maxIdle = n
	srv.lim.mu.Unlock()
}
