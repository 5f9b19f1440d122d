package wsecho

import (
	"errors"
	"net"
	"sync"

	"github.com/wiredojo/wiredojo/framing/ws"
)

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("wsecho: server closed")

// Server echoes WebSocket messages. Set its fields before Serve; Close
// ends it. It is safe for concurrent use.
type Server struct {
	// Upgrader performs the handshakes (origin policy, subprotocols,
	// compression, message limit).
	Upgrader ws.Upgrader
	// OnError, when set, is told about each connection that ended with an
	// error other than a normal close (from the connection's goroutine).
	OnError func(remote net.Addr, err error)

	mu        sync.Mutex // guards the fields below
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup // one per connection goroutine
}

// Serve accepts connections on l until Close, upgrading each and echoing
// its messages. It returns ErrServerClosed after Close.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners = map[net.Listener]struct{}{}
		s.conns = map[net.Conn]struct{}{}
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			delete(s.listeners, l)
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		s.conns[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handle(nc)
	}
}

func (s *Server) handle(nc net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
		nc.Close()
		s.wg.Done()
	}()
	c, err := s.Upgrader.Upgrade(nc, nil)
	if err != nil {
		s.report(nc.RemoteAddr(), err)
		return
	}
	s.report(nc.RemoteAddr(), Echo(c))
}

func (s *Server) report(addr net.Addr, err error) {
	var ce *ws.CloseError
	if err == nil || (errors.As(err, &ce) && ce.Code != ws.StatusAbnormalClosure) {
		return
	}
	if s.OnError != nil {
		s.OnError(addr, err)
	}
}

// Echo sends every message read from c back to it until the connection
// ends, and returns the error that ended it (a *ws.CloseError after a
// close handshake).
func Echo(c *ws.Conn) error {
	var buf []byte
	for {
		op, msg, err := c.AppendMessage(buf[:0])
		if err != nil {
			c.CloseNow()
			return err
		}
		buf = msg
		if err := c.WriteMessage(op, msg); err != nil {
			c.CloseNow()
			return err
		}
	}
}

// Close closes the listeners and every connection, and waits for the
// connection goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
