package tcpchat

import (
	"crypto/tls"
	"net"
	"slices"
)

// serveTLS terminates TLS on a connection whose first bytes (head, a
// ClientHello's start) were already read, then sniffs the decrypted bytes
// again: framed clients over TLS and wss:// share the port with everything
// else. The handshake is bounded by the read deadline already set.
func (s *Server) serveTLS(nc net.Conn, head []byte) {
	tc := tls.Server(&prefixConn{Conn: nc, prefix: append([]byte(nil), head...)}, s.opts.TLSConfig)
	if err := tc.Handshake(); err != nil {
		s.logf("tcpchat: %s: TLS handshake: %v", nc.RemoteAddr(), err)
		nc.Close()
		return
	}
	s.sniff(tc, true)
}

// initTLS prepares the server's TLS configuration: HTTP over TLS is served
// by an HTTP/1.1 server (WebSocket upgrades need it), so ALPN offers only
// http/1.1.
func (s *Server) initTLS() {
	if s.opts.TLSConfig == nil {
		return
	}
	cfg := s.opts.TLSConfig.Clone()
	cfg.NextProtos = slices.DeleteFunc(slices.Clone(cfg.NextProtos), func(p string) bool { return p == "h2" })
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"http/1.1"}
	}
	s.opts.TLSConfig = cfg
}
