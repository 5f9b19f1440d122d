package main

// The WebSocket and TLS side of `chat serve` and `chat client`: flag
// definitions and how they map to tcpchat options. chat.go adds the flags to
// its commands and calls the apply functions.

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/tcpchat"
)

// chatServeWSFlags are the flags of `chat serve` for TLS, browsers and
// its HTTP endpoints.
func chatServeWSFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "tls-cert", EnvVars: []string{"WIREDOJO_TLS_CERT"}, Usage: "serve TLS too (wss://, https://, framed TLS) on the same port with the PEM certificate chain in `FILE` (needs --tls-key)"},
		&cli.StringFlag{Name: "tls-key", EnvVars: []string{"WIREDOJO_TLS_KEY"}, Usage: "the PEM private key `FILE` of --tls-cert"},
		&cli.BoolFlag{Name: "plaintext", EnvVars: []string{"WIREDOJO_PLAINTEXT"}, Usage: "with --tls-cert, also accept plaintext clients (framed TCP, http://, ws://) on the port; without it they are refused"},
		&cli.StringFlag{Name: "metrics-token", EnvVars: []string{"WIREDOJO_METRICS_TOKEN"}, Usage: "GET /metrics answers only requests with the header Authorization: Bearer `TOKEN` (default --token's value; neither: open to requests that name the server by IP address, localhost or a --host name)"},
		&cli.StringSliceFlag{Name: "origin", EnvVars: []string{"WIREDOJO_ORIGIN"}, Usage: "also let browser pages from `PATTERN` open /ws: an origin (https://example.com) or a host glob (*.example.com, 127.0.0.1:*); repeatable; pages of this server's own host are always allowed"},
		&cli.StringSliceFlag{Name: "host", EnvVars: []string{"WIREDOJO_HOST"}, Usage: "a DNS `NAME` (glob, e.g. chat.example.com or *.lab.example) browsers may use to reach this server; a page of its own host opens /ws only when that host is an IP address, localhost or such a name (DNS rebinding); repeatable"},
	}
}

// applyChatServeWS maps the flags of chatServeWSFlags to opts.
func applyChatServeWS(c *cli.Context, opts *tcpchat.Options) error {
	cert, key := c.String("tls-cert"), c.String("tls-key")
	switch {
	case (cert == "") != (key == ""):
		return usagef("--tls-cert and --tls-key go together: give both files, or neither")
	case cert != "":
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return fmt.Errorf("chat serve: load the TLS certificate %s and key %s: %w", cert, key, err)
		}
		opts.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	if c.Bool("plaintext") && cert == "" {
		return usagef("--plaintext goes with --tls-cert (without TLS every client is plaintext)")
	}
	opts.Plaintext = c.Bool("plaintext")
	opts.MetricsToken = c.String("metrics-token")
	for _, p := range c.StringSlice("origin") {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return usagef("--origin %q is not a valid pattern: give an origin (https://example.com) or a host glob (*.example.com)", p)
		}
		opts.Origins = append(opts.Origins, p)
	}
	for _, p := range c.StringSlice("host") {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return usagef("--host %q is not a valid pattern: give a DNS name (chat.example.com) or a glob (*.lab.example)", p)
		}
		opts.Hosts = append(opts.Hosts, p)
	}
	return nil
}

// chatServeWSBanner says where browsers and TLS clients connect.
func chatServeWSBanner(w io.Writer, addr net.Addr, opts *tcpchat.Options) {
	scheme := "http"
	if opts.TLSConfig != nil {
		scheme = "https"
	}
	fmt.Fprintf(w, "chat: browser page at %s://%s/ (WebSocket %s)", scheme, addr, tcpchat.WebSocketPath)
	switch {
	case opts.TLSConfig != nil && opts.Plaintext:
		fmt.Fprint(w, "; TLS on the same port (wss://, https://, framed TLS), plaintext accepted too")
	case opts.TLSConfig != nil:
		fmt.Fprint(w, "; TLS on the same port (wss://, https://, framed TLS), plaintext refused")
	}
	fmt.Fprintln(w)
}

// chatClientWSFlags are the flags of `chat client`, `emit` and `listen`
// for WebSocket and TLS.
func chatClientWSFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "ws", Usage: "connect over WebSocket (ws://ADDR/ws; wss:// with --tls) instead of framed TCP; an --addr that is a ws:// or wss:// URL implies it"},
		&cli.BoolFlag{Name: "tls", Usage: "connect over TLS (framed TLS, or wss:// with --ws)"},
		&cli.StringFlag{Name: "tls-ca", EnvVars: []string{"WIREDOJO_TLS_CA"}, Usage: "trust the PEM certificates in `FILE` (a self-signed server) instead of the system's roots; implies --tls"},
	}
}

// applyChatClientWS maps the flags of chatClientWSFlags to opts and
// returns the address to dial: HOST:PORT for framed TCP, or a ws:// or
// wss:// URL.
func applyChatClientWS(c *cli.Context, opts *tcpchat.ClientOptions) (string, error) {
	addr := c.String("addr")
	secure := c.Bool("tls") || c.String("tls-ca") != "" || strings.HasPrefix(addr, "wss://")
	switch {
	case tcpchat.IsWebSocketURL(addr):
		if c.Bool("tls") && strings.HasPrefix(addr, "ws://") {
			return "", usagef("--tls with the plain URL %s: write wss:// instead", addr)
		}
	case tcpchat.IsSocketIOURL(addr):
		if c.Bool("ws") {
			return "", usagef("--ws with the Socket.IO URL %s: the Socket.IO client upgrades to WebSocket by itself", addr)
		}
	case strings.Contains(addr, "://"):
		return "", usagef("--addr %q: give HOST:PORT, a ws:// or wss:// URL, or a Socket.IO URL (socketio://HOST:PORT[/NS], http://HOST:PORT/socket.io/)", addr)
	case c.Bool("ws") && secure:
		addr = "wss://" + addr + tcpchat.WebSocketPath
	case c.Bool("ws"):
		addr = "ws://" + addr + tcpchat.WebSocketPath
	}
	if secure {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if ca := c.String("tls-ca"); ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return "", fmt.Errorf("--tls-ca: %w", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return "", fmt.Errorf("--tls-ca %s holds no PEM certificate", ca)
			}
		}
		opts.TLSConfig = cfg
	}
	return addr, nil
}
