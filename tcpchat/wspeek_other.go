//go:build !linux

package tcpchat

import "net"

// peekWebSocketPath is false: the request goes through net/http.
func peekWebSocketPath(net.Conn) bool { return false }
