package ws

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DialOptions configures Dial. The zero value (or nil) is fine.
type DialOptions struct {
	// Header holds extra request headers (Origin, Authorization, ...).
	Header http.Header
	// Protocols lists the subprotocols to offer, by preference.
	Protocols []string
	// Compression offers permessage-deflate (RFC 7692).
	Compression bool
	// TLSConfig is used for wss:// URLs (default: system roots, the URL's
	// host as server name).
	TLSConfig *tls.Config
	// NetDialer dials the TCP connection (default: a zero net.Dialer).
	NetDialer *net.Dialer
	// MaxMessageSize limits received messages (default
	// DefaultMaxMessageSize; negative: no limit).
	MaxMessageSize int64
}

// Dial opens a WebSocket connection to a ws:// or wss:// URL (http:// and
// https:// are accepted as synonyms). It verifies the server's
// Sec-WebSocket-Accept value, that the subprotocol chosen (if any) was one
// we offered, and the extension answer. ctx bounds the whole handshake. A
// refused handshake returns a *HandshakeError carrying the HTTP status.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("ws: bad URL %q: %w", rawURL, err)
	}
	secure := false
	switch u.Scheme {
	case "ws", "http":
	case "wss", "https":
		secure = true
	default:
		return nil, fmt.Errorf("ws: URL %q: scheme must be ws:// or wss://", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("ws: URL %q has no host", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		if secure {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	d := opts.NetDialer
	if d == nil {
		d = &net.Dialer{}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ws: dial %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	c, err := clientHandshake(ctx, nc, u, secure, opts)
	if !stop() && err == nil {
		err = ctx.Err()
		c = nil
	}
	if err != nil {
		nc.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("ws: handshake with %s: %w", addr, ctx.Err())
		}
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

func clientHandshake(ctx context.Context, nc net.Conn, u *url.URL, secure bool, opts *DialOptions) (*Conn, error) {
	if secure {
		cfg := opts.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("ws: TLS handshake with %s: %w", u.Host, err)
		}
		nc = tc
	}
	var rawKey [16]byte
	crand.Read(rawKey[:])
	key := base64.StdEncoding.EncodeToString(rawKey[:])

	var b strings.Builder
	target := u.RequestURI()
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", target, u.Host, key)
	if len(opts.Protocols) > 0 {
		fmt.Fprintf(&b, "Sec-WebSocket-Protocol: %s\r\n", strings.Join(opts.Protocols, ", "))
	}
	if opts.Compression {
		b.WriteString("Sec-WebSocket-Extensions: " + clientDeflateOffer + "\r\n")
	}
	for k, vs := range opts.Header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := nc.Write([]byte(b.String())); err != nil {
		return nil, fmt.Errorf("ws: sending the handshake to %s: %w", u.Host, err)
	}

	br := newReadBuf(nc, false)
	headBytes, err := peekResponseHead(br)
	if err != nil {
		return nil, &HandshakeError{Reason: "reading the server's response: " + err.Error()}
	}
	h, n, err := ParseHTTPHead(headBytes)
	if err != nil || h.Request {
		return nil, &HandshakeError{Reason: "the server's answer is not an HTTP response"}
	}
	br.Discard(n)
	if h.Status != http.StatusSwitchingProtocols {
		reason := "the server refused the upgrade"
		if line, _ := br.Peek(min(br.Buffered(), 200)); len(line) > 0 {
			reason += ": " + strings.TrimSpace(string(line))
		}
		return nil, &HandshakeError{Status: h.Status, Reason: reason}
	}
	if !h.WebSocket {
		return nil, &HandshakeError{Status: h.Status, Reason: `the 101 response lacks "Upgrade: websocket" or "Connection: Upgrade"`}
	}
	if want := AcceptKey(key); h.Accept != want {
		return nil, &HandshakeError{Status: h.Status, Reason: fmt.Sprintf("Sec-WebSocket-Accept is %q, want %q", h.Accept, want)}
	}
	if h.Protocol != "" {
		ok := false
		for _, p := range opts.Protocols {
			ok = ok || p == h.Protocol
		}
		if !ok {
			return nil, &HandshakeError{Status: h.Status, Reason: fmt.Sprintf("the server chose subprotocol %q, which we did not offer", h.Protocol)}
		}
	}
	deflate, dp := false, deflateParams{}
	if h.Extensions != "" {
		bad := ""
		parseExtensions([]byte(h.Extensions), func(name []byte, params []extParam) bool {
			if !opts.Compression || !equalFold(name, extensionName) || deflate {
				bad = "the server answered with extension " + string(name) + ", which we did not offer (or twice)"
				return false
			}
			p, ok := checkDeflateResponse(params)
			if !ok {
				bad = "the server's permessage-deflate parameters are not acceptable: " + h.Extensions
				return false
			}
			deflate, dp = true, p
			return true
		})
		if bad != "" {
			return nil, &HandshakeError{Status: h.Status, Reason: bad}
		}
	}
	return newConn(nc, br, true, false, h.Protocol, deflate, dp, opts.MaxMessageSize), nil
}

// peekResponseHead returns the response head without consuming it.
func peekResponseHead(br *bufio.Reader) ([]byte, error) {
	b, err := peekHead(br)
	if err == ErrNotHTTP {
		return nil, errors.New("not an HTTP response")
	}
	return b, err
}
