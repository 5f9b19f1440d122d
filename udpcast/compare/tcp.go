package compare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/udpcast"
	"github.com/wiredojo/wiredojo/udpcast/stats"
	"github.com/wiredojo/wiredojo/udpcast/udpio"
)

// tcpControl sets TCP_NODELAY and tries to pin cubic on a socket before it
// connects.
func tcpControl(_, _ string, rc syscall.RawConn) error {
	return rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		_ = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION, "cubic")
	})
}

func congestionOf(c net.Conn) string {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return "unknown"
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return "unknown"
	}
	name := "unknown"
	_ = rc.Control(func(fd uintptr) {
		if s, err := unix.GetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_CONGESTION); err == nil {
			name = s
		}
	})
	return name
}

// runTCP sends Count framed messages from side A to side B and measures
// each on arrival.
// hol, when set, watches the link's packets for head-of-line blocking.
func runTCP(ctx context.Context, o Options, p path, hol *holTracker) (Side, string, error) {
	ln, err := p.listenTCP()
	if err != nil {
		return Side{}, "", err
	}
	defer ln.Close()
	if hol != nil {
		hol.port.Store(uint32(ln.Addr().(*net.TCPAddr).Port))
	}
	runID := udpio.NewRunID()
	type result struct {
		st      stats.Stream
		lat     []float64
		readErr error
	}
	done := make(chan *result, 1)
	go func() {
		r := &result{lat: newLatencies(o.Count)}
		defer func() { done <- r }()
		c, err := ln.Accept()
		if err != nil {
			r.readErr = err
			return
		}
		defer c.Close()
		_ = c.(*net.TCPConn).SetNoDelay(true)
		fr := framing.NewReader(c, o.Size+64)
		for {
			b, err := fr.ReadFrame()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					r.readErr = err
				}
				return
			}
			now := time.Now().UnixNano()
			h, _, err := udpcast.DecodeHeader(b)
			if err != nil || h.RunID != runID {
				continue
			}
			if r.st.Add(h, len(b), now) == stats.Fresh && h.Seq < uint64(o.Count) {
				r.lat[h.Seq] = float64(now-h.SentNS) / 1e6
			}
		}
	}()
	d := &net.Dialer{Timeout: 10 * time.Second, Control: tcpControl}
	c, err := p.dialTCP(ln.Addr().String(), d)
	if err != nil {
		ln.Close()
		<-done
		return Side{}, "", err
	}
	cc := congestionOf(c)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	w := framing.NewWriter(c)
	msg := make([]byte, o.Size)
	for i := udpcast.HeaderLen; i < o.Size; i++ {
		msg[i] = byte(i)
	}
	sentAt := make([]float64, o.Count)
	start := time.Now()
	interval := time.Duration(float64(time.Second) / o.Rate)
	var sendErr error
	nextProgress := time.Duration(0)
	for i := 0; i < o.Count; i++ {
		if o.Progress != nil && time.Since(start) >= nextProgress {
			o.Progress("tcp", i, o.Count)
			nextProgress = time.Since(start) + 100*time.Millisecond
		}
		if wait := time.Duration(i)*interval - time.Since(start); wait > 0 {
			sleepCtx(ctx, wait)
		}
		if ctx.Err() != nil {
			sendErr = ctx.Err()
			break
		}
		sentAt[i] = float64(time.Since(start)) / 1e6
		udpcast.Header{RunID: runID, Seq: uint64(i), SentNS: time.Now().UnixNano()}.Put(msg)
		w.Queue(msg)
		if err := w.Flush(); err != nil {
			sendErr = err
			break
		}
	}
	if o.Progress != nil {
		o.Progress("tcp", o.Count, o.Count)
	}
	// Half-close: the receiver sees EOF once everything arrived.
	if tc, ok := c.(*net.TCPConn); ok && sendErr == nil {
		_ = tc.CloseWrite()
	}
	var r *result
	select {
	case r = <-done:
	case <-time.After(o.Timeout):
		c.Close()
		ln.Close()
		<-done
		return Side{}, cc, fmt.Errorf("%w (tcp, %v after the last message)", ErrTimeout, o.Timeout)
	case <-ctx.Done():
		c.Close()
		ln.Close()
		r = <-done
	}
	c.Close()
	if sendErr != nil && ctx.Err() == nil {
		return Side{}, cc, sendErr
	}
	if r.readErr != nil && ctx.Err() == nil {
		return Side{}, cc, r.readErr
	}
	s := Side{LatencyByMsg: r.lat, SentAtMS: sentAt}
	finish(&s, &r.st, o.Count)
	waits := make([]float64, o.Count) // unimpaired loopback: nothing waits
	if hol != nil {
		waits = hol.waits(o.Count, o.Size)
	}
	holBlocking(&s, waits)
	return s, cc, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
