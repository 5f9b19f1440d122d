package natsbench

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// idleSources is how many loopback source addresses (127.0.0.1 up) the
// idle chat clients are spread over: one address has some 28,000
// ephemeral ports to the server's one address and port.
const idleSources = 16

// idleDialer returns the dialer of the i-th idle connection.
func idleDialer(i int) *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%idleSources))}}
}

// idleChat holds the idle chat connections of MeasureIdleRSS. They are bare
// connections (no client goroutines): each handshakes, joins procNamespace
// and then only sends a pong packet every keepEvery, which the server
// takes as a sign of life (its heartbeat cuts a connection silent for
// 45 s).
type idleChat struct {
	mu     sync.Mutex
	framed []net.Conn
	wss    []*ws.Conn
	stop   chan struct{}
	done   chan struct{}
	round  atomic.Int64 // when the last pong round ended, Unix ns
}

// keepEvery is how often idle chat connections send a pong.
const keepEvery = 10 * time.Second

func newIdleChat() *idleChat {
	k := &idleChat{stop: make(chan struct{}), done: make(chan struct{})}
	go k.keep()
	return k
}

var (
	idleHello = func() []byte {
		b := append([]byte(nil), wire.Preamble...)
		b = framing.AppendFrame(b, (&wire.Packet{Type: wire.TypeHandshake, Version: wire.Version}).AppendTo(nil))
		return framing.AppendFrame(b, (&wire.Packet{Type: wire.TypeConnect, Namespace: procNamespace}).AppendTo(nil))
	}()
	idlePong = (&wire.Packet{Type: wire.TypePong}).AppendTo(nil)
)

// dial opens the i-th connection, framed TCP or (overWS) WebSocket, and
// waits for the welcome and the namespace's connect.
func (k *idleChat) dial(ctx context.Context, addr string, i int, overWS bool) error {
	d := idleDialer(i)
	if overWS {
		c, err := ws.Dial(ctx, "ws://"+addr+"/ws", &ws.DialOptions{NetDialer: d})
		if err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for _, p := range [][]byte{(&wire.Packet{Type: wire.TypeHandshake, Version: wire.Version}).AppendTo(nil), (&wire.Packet{Type: wire.TypeConnect, Namespace: procNamespace}).AppendTo(nil)} {
			if err := c.WriteMessage(ws.OpBinary, p); err != nil {
				c.CloseNow()
				return err
			}
		}
		for _, want := range []wire.Type{wire.TypeWelcome, wire.TypeConnect} {
			_, p, err := c.ReadMessage()
			if err != nil || len(p) == 0 || wire.Type(p[0]) != want {
				c.CloseNow()
				return fmt.Errorf("want %s: %v", want, err)
			}
		}
		k.mu.Lock()
		k.wss = append(k.wss, c)
		k.mu.Unlock()
		return nil
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(idleHello); err != nil {
		c.Close()
		return err
	}
	r := framing.NewReader(c, 1<<20)
	for _, want := range []wire.Type{wire.TypeWelcome, wire.TypeConnect} {
		p, err := r.ReadFrame()
		if err != nil || len(p) == 0 || wire.Type(p[0]) != want {
			c.Close()
			return fmt.Errorf("want %s: %v", want, err)
		}
	}
	r.Release()
	c.SetDeadline(time.Time{})
	k.mu.Lock()
	k.framed = append(k.framed, c)
	k.mu.Unlock()
	return nil
}

// keep sends every connection a pong every keepEvery until Close.
func (k *idleChat) keep() {
	defer close(k.done)
	t := time.NewTicker(keepEvery)
	defer t.Stop()
	frame := framing.AppendFrame(nil, idlePong)
	for {
		select {
		case <-k.stop:
			return
		case <-t.C:
		}
		k.mu.Lock()
		framed, wss := k.framed, k.wss
		k.mu.Unlock()
		for _, c := range framed {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write(frame)
		}
		for _, c := range wss {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.WriteMessage(ws.OpBinary, idlePong)
		}
		k.round.Store(time.Now().UnixNano())
	}
}

// lastRound returns when the last pong round ended (zero: none yet).
func (k *idleChat) lastRound() time.Time {
	if ns := k.round.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Close ends the keeper and closes every connection.
func (k *idleChat) Close() error {
	close(k.stop)
	<-k.done
	for _, c := range k.framed {
		c.Close()
	}
	for _, c := range k.wss {
		c.CloseNow()
	}
	return nil
}
