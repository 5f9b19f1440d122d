package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/wiredojo/wiredojo/socketio/engineio"
)

// poller carries a session over HTTP long-polling only (the URL's
// transport=polling, as the reference client's transports: ["polling"]):
// a GET for what the server sends, a POST for what the client sends, each
// on a kept-alive connection of the poller's own HTTP client.
type poller struct {
	e      endpoint
	sid    string
	hc     *http.Client
	tr     *http.Transport
	remote net.Addr
	local  net.Addr
	maxGet int64 // bound of a GET's body

	ctx    context.Context // ended by close: outstanding requests return
	cancel context.CancelFunc

	pmu sync.Mutex // one POST at a time (the server ends a session on two)

	mu       sync.Mutex
	deadline time.Time // the write deadline; guarded by mu
}

// newPoller returns the poller of an open session.
func newPoller(e endpoint, sid string, opts Options, local, remote net.Addr) *poller {
	tr := &http.Transport{
		Proxy:               nil,
		TLSClientConfig:     opts.TLSConfig,
		MaxConnsPerHost:     2, // the outstanding GET and a POST
		MaxIdleConnsPerHost: 2,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	ctx, cancel := context.WithCancel(context.Background())
	// A redirect is answered as it is (do refuses it): an Engine.IO server
	// does not move a session, and net/http would follow up to 10, to any
	// host.
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &poller{e: e, sid: sid, tr: tr, hc: hc, local: local, remote: remote,
		maxGet: 4*int64(opts.MaxMessage) + maxOpenBody, ctx: ctx, cancel: cancel}
}

// get waits for the server's next payload, until the deadline (none: the
// zero time).
func (p *poller) get(deadline time.Time) ([]byte, error) {
	ctx, cancel := p.ctx, context.CancelFunc(func() {})
	if !deadline.IsZero() {
		ctx, cancel = context.WithDeadline(ctx, deadline)
	}
	defer cancel()
	body, err := p.do(ctx, http.MethodGet, nil, p.maxGet)
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		return nil, fmt.Errorf("socketio/client: poll: %w", os.ErrDeadlineExceeded)
	}
	return body, err
}

// post sends a payload (one POST at a time) within the write deadline.
func (p *poller) post(body []byte) error { return p.postBy(body, time.Time{}) }

// postBy is post bounded by dl instead of the write deadline (the zero
// time: by the write deadline). A POST that ends at a deadline fails with
// os.ErrDeadlineExceeded.
func (p *poller) postBy(body []byte, dl time.Time) error {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	deadline := dl
	if deadline.IsZero() {
		p.mu.Lock()
		deadline = p.deadline
		p.mu.Unlock()
	}
	ctx, cancel := p.ctx, context.CancelFunc(func() {})
	if !deadline.IsZero() {
		ctx, cancel = context.WithDeadline(ctx, deadline)
	}
	defer cancel()
	_, err := p.do(ctx, http.MethodPost, body, 1<<10)
	if err != nil && ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("socketio/client: post: %w", os.ErrDeadlineExceeded)
	}
	return err
}

// do sends one request of the session and returns the answer's body (at
// most max bytes).
func (p *poller) do(ctx context.Context, method string, body []byte, max int64) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.e.query("polling", p.sid).String(), rd)
	if err != nil {
		return nil, fmt.Errorf("socketio/client: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("socketio/client: %s: %w", strings.ToLower(method), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("socketio/client: %s: %w", strings.ToLower(method), err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, fmt.Errorf("%w: the server redirects the session's %s (HTTP %d to %q)", ErrProtocol, method, resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp.StatusCode != http.StatusOK {
		// The server does not know the session any more.
		return nil, fmt.Errorf("%w: %w", ErrServerClosed, &HTTPError{Status: resp.StatusCode, Body: string(data[:min(len(data), 200)])})
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: a polling answer longer than %d bytes", ErrProtocol, max)
	}
	return data, nil
}

// payload appends the polling body of the messages: each one's text, then
// its attachments in base64, all joined by the record separator.
func payload(dst []byte, ms []Message, max int) ([]byte, error) {
	for _, m := range ms {
		if len(dst) > 0 {
			dst = append(dst, engineio.Separator)
		}
		dst = append(dst, '0'+byte(engineio.Message))
		dst = m.Packet.AppendTo(dst)
		for _, a := range m.Attachments {
			dst = engineio.AppendText(append(dst, engineio.Separator), engineio.Packet{Type: engineio.Message, Binary: true, Data: a})
		}
	}
	if max > 0 && len(dst) > max {
		return dst, fmt.Errorf("%w: a POST of %d bytes, the server takes %d", ErrTooLarge, len(dst), max)
	}
	return dst, nil
}

// close ends the outstanding requests and the idle connections.
func (p *poller) close() {
	p.cancel()
	p.tr.CloseIdleConnections()
}
