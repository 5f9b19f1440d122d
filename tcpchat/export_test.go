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
