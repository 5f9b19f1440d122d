package client

import (
	"fmt"
	"net/url"
	"strings"
)

// Path is the Engine.IO path of a Socket.IO server, the one a socketio://
// URL stands for.
const Path = "/socket.io/"

// IsURL reports whether addr is a URL that Dial takes: socketio://, or
// http:// or https:// (the Engine.IO endpoint itself).
func IsURL(addr string) bool {
	for _, s := range []string{"socketio://", "http://", "https://"} {
		if len(addr) >= len(s) && strings.EqualFold(addr[:len(s)], s) {
			return true
		}
	}
	return false
}

// endpoint is a parsed URL.
type endpoint struct {
	http      *url.URL // http(s)://host:port/socket.io/ (no query)
	namespace string
	websocket bool // open the WebSocket directly
	polling   bool // poll only, no upgrade
}

// parseURL reads socketio://HOST:PORT[/NAMESPACE][?transport=T] or
// http(s)://HOST:PORT/PATH[?transport=T], T websocket or polling;
// secure makes a socketio:// URL use TLS.
func parseURL(raw string, secure bool) (endpoint, error) {
	var e endpoint
	u, err := url.Parse(raw)
	if err != nil {
		return e, &URLError{URL: raw, Reason: err.Error()}
	}
	if u.Host == "" {
		return e, &URLError{URL: raw, Reason: "no host"}
	}
	if u.User != nil || u.Fragment != "" {
		return e, &URLError{URL: raw, Reason: "user or fragment given"}
	}
	q := u.Query()
	switch t := q.Get("transport"); t {
	case "":
	case "polling":
		e.polling = true
	case "websocket":
		e.websocket = true
	default:
		return e, &URLError{URL: raw, Reason: fmt.Sprintf("transport %q: websocket (WebSocket only) or polling (polling only); without it polling, then the upgrade", t)}
	}
	e.namespace = "/"
	h := &url.URL{Scheme: strings.ToLower(u.Scheme), Host: u.Host, Path: u.Path}
	switch h.Scheme {
	case "socketio":
		h.Scheme = "http"
		if secure {
			h.Scheme = "https"
		}
		if p := strings.TrimSuffix(u.Path, "/"); p != "" {
			if len(p) > 255 {
				return e, &URLError{URL: raw, Reason: "namespace longer than 255 bytes"}
			}
			e.namespace = p
		}
		h.Path = Path
	case "http", "https":
		if h.Path == "" || h.Path == "/" {
			h.Path = Path
		}
		if !strings.HasSuffix(h.Path, "/") {
			h.Path += "/"
		}
	default:
		return e, &URLError{URL: raw, Reason: "scheme " + u.Scheme + ": socketio, http or https"}
	}
	e.http = h
	return e, nil
}

// Namespace returns the namespace named by the path of a socketio:// URL
// ("/" without one, and for http:// and https:// URLs, whose path is the
// Engine.IO endpoint).
func Namespace(rawURL string) (string, error) {
	e, err := parseURL(rawURL, false)
	return e.namespace, err
}

// query returns the Engine.IO query of a request.
func (e endpoint) query(transport, sid string) *url.URL {
	u := *e.http
	if transport == "websocket" {
		if u.Scheme == "https" {
			u.Scheme = "wss"
		} else {
			u.Scheme = "ws"
		}
	}
	q := url.Values{"EIO": {"4"}, "transport": {transport}}
	if sid != "" {
		q.Set("sid", sid)
	}
	u.RawQuery = q.Encode()
	return &u
}
