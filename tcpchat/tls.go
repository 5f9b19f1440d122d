package tcpchat

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// serveTLS terminates TLS on a connection whose first bytes (head, a
// ClientHello's start) were already read, then sniffs the decrypted bytes
// again: framed clients over TLS and wss:// share the port with everything
// else. The handshake is bounded by the read deadline sniff set, by (the
// handshake timeout from the accept), and by a write deadline the same; a
// handshake that meets either is counted with the handshake timeouts. So
// is what follows it inside (sniff of the decrypted bytes).
func (s *Server) serveTLS(nc net.Conn, head []byte, reserve bool, by time.Time) {
	nc.SetWriteDeadline(by)
	tc := tls.Server(newPrefixConn(nc, head, false), s.opts.TLSConfig)
	if err := tc.Handshake(); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			s.metrics.hsTimeouts.Add(1)
		}
		s.logf("tcpchat: %s: TLS handshake: %v", nc.RemoteAddr(), err)
		nc.Close()
		return
	}
	nc.SetWriteDeadline(time.Time{})
	s.sniff(tc, reserve, by)
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

// plaintextRefusal is what a plaintext client of a TLS-only server is told.
const plaintextRefusal = "this server accepts TLS connections only (framed TLS, wss://, https://)"

// refusePlaintext answers a plaintext connection to a server with TLS and
// without Options.Plaintext, in the protocol it started (head, its first
// bytes, already read): a framed client gets an error packet after its
// handshake, an HTTP client a 403 after its request head, anything else a
// line of text. It reads at most one frame or request head, within the
// read deadline already set, so that the answer is not reset away.
func (s *Server) refusePlaintext(nc net.Conn, head []byte) {
	defer nc.Close()
	s.logf("tcpchat: %s: plaintext refused: %s", nc.RemoteAddr(), plaintextRefusal)
	switch {
	case bytes.Equal(head, wire.Preamble):
		framing.NewReader(nc, s.opts.MaxFrame).ReadFrame()
		p := wire.Packet{Type: wire.TypeError, Code: wire.CodeHandshake, Reason: plaintextRefusal}
		nc.Write(framing.AppendFrame(nil, p.AppendTo(nil)))
	case isHTTPMethod(head):
		if _, err := http.ReadRequest(bufio.NewReader(newPrefixConn(nc, head, false))); err != nil {
			return
		}
		fmt.Fprintf(nc, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s\n", len(plaintextRefusal)+1, plaintextRefusal)
	default:
		fmt.Fprintf(nc, "wiredojo: %s\n", plaintextRefusal)
	}
}
