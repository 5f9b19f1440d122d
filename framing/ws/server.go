package ws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxMessageSize is the default limit on a received message, 16 MiB.
const DefaultMaxMessageSize = 16 << 20

// DefaultHandshakeTimeout bounds a raw-connection upgrade.
const DefaultHandshakeTimeout = 10 * time.Second

// maxHeadSize bounds an opening-handshake head; a larger one gets 431.
const maxHeadSize = 8 << 10

// maxListValues bounds how many Sec-WebSocket-Protocol or
// Sec-WebSocket-Extensions lines a request may carry.
const maxListValues = 8

// Upgrader performs the server side of the opening handshake. Its fields
// are read-only once it is in use; one Upgrader serves any number of
// goroutines.
type Upgrader struct {
	// Origins is the allow-list for the Origin header: each entry is an
	// origin ("https://example.com") or a host pattern in path.Match syntax
	// ("*.example.com", "127.0.0.1:*"); "*" allows all. When it is empty, a
	// request's Origin must name the same host as its Host header. Requests
	// without an Origin (non-browser clients) are always allowed.
	Origins []string
	// Protocols lists the subprotocols we speak, by preference; the first
	// one the client offers is chosen. No match means no subprotocol.
	Protocols []string
	// Compression enables permessage-deflate (RFC 7692) when the client
	// offers it.
	Compression bool
	// MaxMessageSize limits received messages (default
	// DefaultMaxMessageSize; negative: no limit).
	MaxMessageSize int64
	// HandshakeTimeout bounds Upgrade on a raw connection (default
	// DefaultHandshakeTimeout).
	HandshakeTimeout time.Duration
	// CheckOrigin, when set, decides in place of Origins whether a request
	// with an Origin header (origin) for the Host header host may upgrade:
	// it returns the HTTP status and the reason of a refusal, or status 0
	// to accept.
	CheckOrigin func(origin, host string) (status int, reason string)
}

// request holds the parts of an opening-handshake request we check, as
// sub-slices of the head (no allocation).
type request struct {
	method, target, proto          []byte
	host, key, version, origin     []byte
	nHost, nKey, nVersion, nOrigin int
	upgrade, connection            bool
	protocols                      [maxListValues][]byte
	nProtocols                     int
	extensions                     [maxListValues][]byte
	nExtensions                    int
}

// scanRequest finds the request head at the start of b (through the blank
// line) and parses it into r in one pass over its lines. It
// returns the head's length, ErrShortHTTP when b does not hold the blank
// line yet (read more and scan again), errHeadTooLarge when there is no
// blank line in the first maxHeadSize bytes, or the first parse error once
// the whole head is there (so the refusal follows the whole request). It
// accepts bare "\n" line ends, as headLen does. r must be zero.
func scanRequest(b []byte, r *request) (int, error) {
	if len(b) > maxHeadSize {
		b = b[:maxHeadSize]
	}
	var perr error
	lines := 0
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			if len(b) >= maxHeadSize {
				return 0, errHeadTooLarge
			}
			return 0, ErrShortHTTP
		}
		end := i + j + 1
		line := b[i : end-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		switch {
		case i == 0:
			var ok bool
			if r.method, r.target, r.proto, ok = splitRequestLine(line); !ok {
				perr = errors.New("malformed request line")
			}
		case len(line) == 0:
			return end, perr
		case perr != nil:
		case lines == maxHeadLines:
			perr = errors.New("too many header lines")
		default:
			lines++
			perr = r.header(line)
		}
		i = end
	}
}

// header records one header line of a request.
func (r *request) header(line []byte) error {
	name, value, ok := splitHeaderLine(line)
	if !ok {
		return errors.New("malformed header line")
	}
	// The names we look for all differ in length. splitHeaderLine let
	// through only printable ASCII, so nameIs may fold case with a bit.
	switch len(name) {
	case len("host"):
		if nameIs(name, "host") {
			r.host = value
			r.nHost++
		}
	case len("origin"):
		if nameIs(name, "origin") {
			r.origin = value
			r.nOrigin++
		}
	case len("upgrade"):
		if nameIs(name, "upgrade") {
			r.upgrade = r.upgrade || hasToken(value, "websocket")
		}
	case len("connection"):
		if nameIs(name, "connection") {
			r.connection = r.connection || hasToken(value, "upgrade")
		}
	case len("sec-websocket-key"):
		if nameIs(name, "sec-websocket-key") {
			r.key = value
			r.nKey++
		}
	case len("sec-websocket-version"):
		if nameIs(name, "sec-websocket-version") {
			r.version = value
			r.nVersion++
		}
	case len("sec-websocket-protocol"):
		if nameIs(name, "sec-websocket-protocol") {
			if r.nProtocols == maxListValues {
				return errors.New("too many Sec-WebSocket-Protocol lines")
			}
			r.protocols[r.nProtocols] = value
			r.nProtocols++
		}
	case len("sec-websocket-extensions"):
		if nameIs(name, "sec-websocket-extensions") {
			if r.nExtensions == maxListValues {
				return errors.New("too many Sec-WebSocket-Extensions lines")
			}
			r.extensions[r.nExtensions] = value
			r.nExtensions++
		}
	}
	return nil
}

// nameIs compares a header name to lower, a lower-case name of letters,
// digits and '-' of the same length, ignoring case, eight bytes at a time.
// It relies on splitHeaderLine's check that name holds only bytes from '!'
// to '~': for those, setting bit 0x20 turns exactly the upper-case letters
// into lower case and leaves lower, digits and '-' as they are (the only
// other byte it maps onto one of those is '\r' onto '-', and names hold no
// control bytes).
func nameIs(name []byte, lower string) bool {
	const fold = 0x2020202020202020
	n := len(name)
	if n != len(lower) {
		return false
	}
	if n < 8 {
		for i := range n {
			if name[i]|0x20 != lower[i] {
				return false
			}
		}
		return true
	}
	for i := 0; i < n-8; i += 8 {
		if binary.LittleEndian.Uint64(name[i:])|fold != le64(lower[i:]) {
			return false
		}
	}
	// The last eight bytes, overlapping the words before when n%8 != 0.
	return binary.LittleEndian.Uint64(name[n-8:])|fold == le64(lower[n-8:])
}

// le64 reads s[:8] as a little-endian word.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// refusal is a handshake refusal: an HTTP status and the reason sent.
type refusal struct {
	status int
	reason string
}

// check applies RFC 6455 section 4.2.1 and our policy to r.
func (u *Upgrader) check(r *request) *refusal {
	switch {
	case string(r.method) != "GET":
		return &refusal{http.StatusMethodNotAllowed, "a WebSocket handshake must use GET, not " + string(r.method)}
	case !(r.proto[5] > '1' || (r.proto[5] == '1' && r.proto[7] >= '1')):
		return &refusal{http.StatusBadRequest, "a WebSocket handshake needs HTTP/1.1 or later, not " + string(r.proto)}
	case r.nHost != 1 || len(r.host) == 0:
		return &refusal{http.StatusBadRequest, "the request needs exactly one Host header"}
	case !r.upgrade:
		return &refusal{http.StatusBadRequest, `the request needs "Upgrade: websocket"`}
	case !r.connection:
		return &refusal{http.StatusBadRequest, `the request needs "Connection: Upgrade"`}
	case r.nVersion == 0:
		return &refusal{http.StatusUpgradeRequired, "the request needs Sec-WebSocket-Version: 13"}
	case r.nVersion != 1 || string(r.version) != "13":
		return &refusal{http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version " + strconv.Quote(string(r.version)) + "; this server speaks version 13"}
	case r.nKey != 1 || !validKey(r.key):
		return &refusal{http.StatusBadRequest, "Sec-WebSocket-Key must appear once and be the base64 encoding of 16 bytes"}
	case r.nOrigin > 1:
		return &refusal{http.StatusBadRequest, "more than one Origin header"}
	case r.nOrigin == 1 && u.CheckOrigin != nil:
		if status, reason := u.CheckOrigin(string(r.origin), string(r.host)); status != 0 {
			return &refusal{status, reason}
		}
	case r.nOrigin == 1 && !u.originAllowed(r.origin, r.host):
		return &refusal{http.StatusForbidden, "origin " + strconv.Quote(string(r.origin)) + " is not allowed (check the server's origin allow-list)"}
	}
	return nil
}

// KnownHost reports whether a Host header ("name:port") names the server
// in a way a browser page of that same origin may be trusted with: an IP
// address or localhost, which nobody else's DNS can point at the server,
// or a name matching one of names (path.Match globs, with or without the
// port), the operator's own. A same-origin page under any other name may
// be an attacker's domain rebound to the server's address (DNS
// rebinding).
func KnownHost(hostport string, names []string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return true
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	for _, p := range names {
		p = strings.ToLower(p)
		if ok, _ := path.Match(p, host); ok {
			return true
		}
		if ok, _ := path.Match(p, strings.ToLower(hostport)); ok {
			return true
		}
	}
	return false
}

// OriginAllowed reports whether Upgrade would accept a request with this
// Origin header for this Host (the Origins policy), so that a server can
// apply the same policy to plain HTTP requests.
func (u *Upgrader) OriginAllowed(origin, host string) bool {
	return origin == "" || u.originAllowed([]byte(origin), []byte(host))
}

// originAllowed applies the Origins policy.
func (u *Upgrader) originAllowed(origin, host []byte) bool {
	if len(u.Origins) == 0 {
		h := origin
		if i := bytes.Index(h, []byte("://")); i >= 0 {
			h = h[i+3:]
		}
		return bytes.EqualFold(h, host)
	}
	o := string(origin)
	h := o
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	for _, p := range u.Origins {
		if p == "*" || strings.EqualFold(p, o) {
			return true
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(h)); ok {
			return true
		}
	}
	return false
}

// negotiate picks the subprotocol and the extension answer.
func (u *Upgrader) negotiate(r *request) (protocol string, ext string, dp deflateParams) {
	for _, want := range u.Protocols {
		for i := 0; i < r.nProtocols && protocol == ""; i++ {
			if hasToken(r.protocols[i], want) {
				protocol = want
			}
		}
		if protocol != "" {
			break
		}
	}
	if !u.Compression {
		return protocol, "", dp
	}
	for i := 0; i < r.nExtensions && ext == ""; i++ {
		parseExtensions(r.extensions[i], func(name []byte, params []extParam) bool {
			if !equalFold(name, extensionName) {
				return true
			}
			answer, p, ok := acceptDeflateOffer(params)
			if !ok {
				return true // decline this offer, look at the next
			}
			ext, dp = answer, p
			return false
		})
	}
	return protocol, ext, dp
}

// appendResponse appends the 101 response.
func appendResponse(dst, key []byte, protocol string, ext string) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	var acc [acceptLen]byte
	putAccept(acc[:], key)
	dst = append(dst, acc[:]...)
	if protocol != "" {
		dst = append(dst, "\r\nSec-WebSocket-Protocol: "...)
		dst = append(dst, protocol...)
	}
	if ext != "" {
		dst = append(dst, "\r\nSec-WebSocket-Extensions: "...)
		dst = append(dst, ext...)
	}
	return append(dst, "\r\n\r\n"...)
}

// appendRefusal appends an HTTP error response carrying the reason.
func appendRefusal(dst []byte, rf *refusal) []byte {
	body := rf.reason + "\n"
	dst = fmt.Appendf(dst, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n", rf.status, http.StatusText(rf.status), len(body))
	if rf.status == http.StatusUpgradeRequired {
		dst = append(dst, "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n"...)
	}
	return append(append(dst, "\r\n"...), body...)
}

// Upgrade performs the opening handshake on a raw connection. br holds the
// bytes already read from nc (the request, or its start) and reads the rest
// from nc; pass nil when nothing was read yet. If the first bytes were read
// into a slice, wrap them: bufio.NewReader(io.MultiReader(bytes.NewReader(b), nc)).
// A reader smaller than 4 KiB is wrapped in a larger one; with one of 8 KiB
// (what nil gets) a 4 KiB message arrives in one read system call.
//
// On success the returned Conn owns nc and br. On refusal the HTTP error
// (status and reason) was sent, nc is left open for the caller to close, and
// the error is a *HandshakeError.
func (u *Upgrader) Upgrade(nc net.Conn, br *bufio.Reader) (*Conn, error) {
	pooled := br == nil
	if pooled {
		br = newReadBuf(nc, false)
	}
	timeout := u.HandshakeTimeout
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	nc.SetDeadline(time.Now().Add(timeout))
	var r request
	n, err := readRequest(br, &r)
	if err != nil {
		switch {
		case errors.Is(err, errHeadTooLarge):
			return nil, u.refuse(nc, &refusal{http.StatusRequestHeaderFieldsTooLarge, "the handshake request is larger than " + strconv.Itoa(maxHeadSize) + " bytes"})
		case errors.Is(err, ErrNotHTTP):
			return nil, u.refuse(nc, &refusal{http.StatusBadRequest, "malformed HTTP request"})
		case n > 0: // the head is there but malformed
			return nil, u.refuse(nc, &refusal{http.StatusBadRequest, err.Error()})
		}
		return nil, fmt.Errorf("ws: reading the handshake request: %w", err)
	}
	if rf := u.check(&r); rf != nil {
		return nil, u.refuse(nc, rf)
	}
	protocol, ext, dp := u.negotiate(&r)
	bp := writeBufPool.Get().(*[]byte)
	resp := appendResponse((*bp)[:0], r.key, protocol, ext)
	br.Discard(n)
	_, err = nc.Write(resp)
	writeBufPool.Put(bp)
	if err != nil {
		return nil, fmt.Errorf("ws: writing the handshake response: %w", err)
	}
	nc.SetDeadline(time.Time{})
	return newConn(nc, br, pooled, true, protocol, ext != "", dp, u.MaxMessageSize), nil
}

// peekHead returns the whole request head from br without consuming it.
func peekHead(br *bufio.Reader) ([]byte, error) {
	want := 1
	for {
		b, err := br.Peek(want)
		if len(b) > 0 {
			all, _ := br.Peek(br.Buffered())
			n, herr := headLen(all, maxHeadSize)
			switch {
			case herr == nil:
				return all[:n], nil
			case herr == errHeadTooLarge:
				return nil, herr
			case len(all) >= br.Size():
				return nil, errHeadTooLarge
			case !plausibleHTTPStart(all):
				return nil, ErrNotHTTP
			}
			want = len(all) + 1
		}
		if err != nil {
			if err == bufio.ErrBufferFull {
				return nil, errHeadTooLarge
			}
			return nil, err
		}
	}
}

// readRequest reads the request head into br's buffer (without consuming
// it) and parses it into r. It returns the head's length, also with a
// parse error (n > 0: the head is complete but malformed). It scans again
// only when a line end arrives, so a head sent a byte at a time costs a
// scan per line, not per byte.
func readRequest(br *bufio.Reader, r *request) (int, error) {
	want, seen, scanned := 1, 0, false
	for {
		b, err := br.Peek(want)
		if len(b) > 0 {
			all, _ := br.Peek(br.Buffered())
			if bytes.IndexByte(all[seen:], '\n') >= 0 || len(all) >= maxHeadSize {
				if scanned {
					*r = request{}
				}
				n, serr := scanRequest(all, r)
				if serr != ErrShortHTTP {
					return n, serr
				}
				scanned = true
			}
			seen = len(all)
			switch {
			case len(all) >= br.Size():
				return 0, errHeadTooLarge
			case !plausibleHTTPStart(all):
				return 0, ErrNotHTTP
			}
			want = len(all) + 1
		}
		if err != nil {
			if err == bufio.ErrBufferFull {
				return 0, errHeadTooLarge
			}
			return 0, err
		}
	}
}

// refuse sends an HTTP refusal and returns the matching error.
func (u *Upgrader) refuse(nc net.Conn, rf *refusal) error {
	nc.Write(appendRefusal(nil, rf))
	nc.SetDeadline(time.Time{})
	return &HandshakeError{Status: rf.status, Reason: rf.reason}
}

// UpgradeHTTP performs the opening handshake from a net/http handler. On
// success it hijacks the connection, which the returned Conn then owns. On
// refusal it writes the HTTP error with its reason and returns a
// *HandshakeError.
func (u *Upgrader) UpgradeHTTP(w http.ResponseWriter, req *http.Request) (*Conn, error) {
	var r request
	r.method = []byte(req.Method)
	r.target = []byte(req.RequestURI)
	r.proto = []byte(fmt.Sprintf("HTTP/%d.%d", req.ProtoMajor%10, req.ProtoMinor%10))
	r.host = []byte(req.Host)
	r.nHost = 1
	for _, v := range req.Header.Values("Upgrade") {
		r.upgrade = r.upgrade || hasToken([]byte(v), "websocket")
	}
	for _, v := range req.Header.Values("Connection") {
		r.connection = r.connection || hasToken([]byte(v), "upgrade")
	}
	one := func(name string, dst *[]byte, n *int) {
		vs := req.Header.Values(name)
		*n = len(vs)
		if len(vs) > 0 {
			*dst = []byte(vs[0])
		}
	}
	one("Sec-WebSocket-Key", &r.key, &r.nKey)
	one("Sec-WebSocket-Version", &r.version, &r.nVersion)
	one("Origin", &r.origin, &r.nOrigin)
	for _, v := range req.Header.Values("Sec-WebSocket-Protocol") {
		if r.nProtocols < maxListValues {
			r.protocols[r.nProtocols] = []byte(v)
			r.nProtocols++
		}
	}
	for _, v := range req.Header.Values("Sec-WebSocket-Extensions") {
		if r.nExtensions < maxListValues {
			r.extensions[r.nExtensions] = []byte(v)
			r.nExtensions++
		}
	}
	if rf := u.check(&r); rf != nil {
		if rf.status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		http.Error(w, rf.reason, rf.status)
		return nil, &HandshakeError{Status: rf.status, Reason: rf.reason}
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		const reason = "the HTTP server cannot hand over the connection (no http.Hijacker; HTTP/2?)"
		http.Error(w, reason, http.StatusInternalServerError)
		return nil, &HandshakeError{Status: http.StatusInternalServerError, Reason: reason}
	}
	protocol, ext, dp := u.negotiate(&r)
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, fmt.Errorf("ws: hijacking the HTTP connection: %w", err)
	}
	resp := appendResponse(nil, r.key, protocol, ext)
	if _, err := nc.Write(resp); err != nil {
		nc.Close()
		return nil, fmt.Errorf("ws: writing the handshake response: %w", err)
	}
	nc.SetDeadline(time.Time{})
	br := brw.Reader
	pooled := br.Buffered() == 0
	if pooled {
		// net/http's reader is sized for HTTP: read nc through pooled
		// buffers instead.
		br = nil
	}
	return newConn(nc, br, pooled, true, protocol, ext != "", dp, u.MaxMessageSize), nil
}

var _ = bytes.Equal
