//go:build !unix

package tcpchat

// fdLimit is unknown here: only Options.MaxConnections caps the sockets.
func fdLimit() int { return 0 }
