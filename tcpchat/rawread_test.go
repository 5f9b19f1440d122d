//go:build linux

package tcpchat

import (
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

// socketPair returns both ends of a loopback TCP connection.
func socketPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// fdOf returns the descriptor under a raw connection.
func fdOf(t *testing.T, sc syscall.Conn) uintptr {
	t.Helper()
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd uintptr
	if err := rc.Control(func(f uintptr) { fd = f }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// A server connection (trackedConn) lends its socket to the framing
// reader, which then reads by hand; a connection that replays bytes read
// before (prefixConn) or decrypts them (TLS) does not, and is read through
// its Read, which the raw reads would bypass.
func TestRawReadsOnPlainSocketsOnly(t *testing.T) {
	_, server := socketPair(t)
	var tracked net.Conn = &trackedConn{Conn: server}
	sc, ok := tracked.(syscall.Conn)
	if !ok {
		t.Fatal("a tracked connection has no SyscallConn")
	}
	if got, want := fdOf(t, sc), fdOf(t, server.(syscall.Conn)); got != want {
		t.Fatalf("SyscallConn is descriptor %d, the socket is %d", got, want)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := (&trackedConn{Conn: a}).SyscallConn(); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("SyscallConn of a connection without a socket: %v, want ErrUnsupported", err)
	}
	for name, c := range map[string]net.Conn{
		"prefixConn": newPrefixConn(tracked, []byte("WDJO"), false),
		"TLS":        tls.Server(newPrefixConn(tracked, nil, false), &tls.Config{}),
	} {
		if _, ok := c.(syscall.Conn); ok {
			t.Errorf("%s has a SyscallConn: its reads would skip its own bytes", name)
		}
	}
}

// The framed transport of a server connection reads a frame that arrived
// whole with one read system call (header and payload together), not one
// for the header and one for the rest. Not parallel: it counts the whole
// process's reads.
func TestServerConnOneReadPerFrame(t *testing.T) {
	w, server := socketPair(t)
	tr := newFramedTransport(&trackedConn{Conn: server}, 1<<20)
	frame := framing.AppendFrame(nil, []byte(strings.Repeat("x", 136)))
	const frames = 200
	before := testkit.ReadCalls(t)
	for i := range frames {
		w.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := w.Write(frame); err != nil {
			t.Fatal(err)
		}
		tr.SetReadDeadline(time.Now().Add(10 * time.Second))
		if p, err := tr.ReadPacket(); err != nil || len(p) != 136 {
			t.Fatalf("frame %d: %d bytes, %v", i, len(p), err)
		}
	}
	// Loopback delivers before Write returns nearly always (one read a
	// frame); a frame not there yet costs one read more. The header first
	// took two at least.
	if n := testkit.ReadCalls(t) - before; n > frames*3/2 {
		t.Fatalf("%d read calls for %d frames that arrived one at a time, want at most %d", n, frames, frames*3/2)
	}
}
