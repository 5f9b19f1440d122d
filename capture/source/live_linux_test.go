//go:build linux

package source

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/wiredojo/wiredojo/capture/filter"
	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

// inNewNetns runs f on a goroutine locked to a thread moved into a new,
// private network namespace whose lo is up; sockets f creates live there.
// The thread is never unlocked, so it ends with the goroutine and the
// namespace disappears with its last socket.
func inNewNetns(t *testing.T, f func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		ifr, err := unix.NewIfreq("lo")
		if err != nil {
			errc <- err
			return
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			errc <- err
			return
		}
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return testkit.Recv(t, time.Minute, "the function run in a new network namespace", errc)
}

// firstErr is the error of a receive that may have timed out: the
// timeout's, else the value received.
func firstErr(received, timeout error) error {
	if timeout != nil {
		return timeout
	}
	return received
}

type livePkt struct {
	capLen, wireLen int
	data            []byte
}

// TestLiveLoopback captures a TCP exchange on the lo of a private network
// namespace: every packet once (the outgoing copy is dropped), at full
// length (not cut to 1514 bytes), only what the kernel filter keeps, and
// cancelling the context ends the capture with io.EOF.
func TestLiveLoopback(t *testing.T) {
	testdep.RequireRoot(t)
	var got []livePkt
	var port int
	err := inNewNetns(t, func() error {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		port = ln.Addr().(*net.TCPAddr).Port
		prog, err := filter.Compile("tcp port "+itoa(port), layers.LinkTypeEthernet, 0)
		if err != nil {
			return err
		}
		raw, err := prog.RawInstructions()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		live, err := OpenLive(ctx, "lo", LiveOptions{Filter: raw})
		if err != nil {
			return err
		}
		defer live.Close()

		// The collector reads while the traffic flows, so the socket's
		// buffer never overflows.
		collected := make(chan error, 1)
		go func() {
			fins := 0
			for {
				data, info, err := live.Next()
				if err != nil {
					collected <- err
					return
				}
				got = append(got, livePkt{info.CapLen, info.WireLen, append([]byte(nil), data...)})
				if len(data) < 48 {
					continue
				}
				if data[47]&0x01 != 0 {
					fins++
				}
				if fins == 2 && data[47]&0x13 == 0x10 {
					collected <- nil // the ACK of the second FIN
					return
				}
			}
		}()

		// Noise the filter must drop: a UDP datagram on lo.
		uc, err := net.Dial("udp", "127.0.0.1:9")
		if err != nil {
			return err
		}
		uc.Write([]byte("not tcp"))
		uc.Close()

		served := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				served <- err
				return
			}
			_, err = io.Copy(io.Discard, c)
			c.Close()
			served <- err
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return err
		}
		if _, err := c.Write(make([]byte, 20<<10)); err != nil {
			return err
		}
		c.Close()
		if err := firstErr(testkit.Within(10*time.Second, "the server to read the connection to its end", served)); err != nil {
			return err
		}
		if err := firstErr(testkit.Within(10*time.Second, "the capture to see the ACK of the second FIN", collected)); err != nil {
			return err
		}
		cancel()
		if _, _, err := live.Next(); !errors.Is(err, io.EOF) {
			return errors.New("after cancel, Next returned " + errString(err) + ", want io.EOF")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	syns, big := 0, 0
	for _, p := range got {
		if p.capLen != p.wireLen || p.capLen != len(p.data) {
			t.Fatalf("packet cut: captured %d of %d bytes", p.capLen, p.wireLen)
		}
		if p.data[23] != 6 {
			t.Fatalf("the kernel filter let a non-TCP packet through (protocol %d)", p.data[23])
		}
		if p.data[47]&0x02 != 0 {
			syns++
		}
		if p.capLen > 1514 {
			big++
		}
	}
	if syns != 2 {
		t.Fatalf("saw %d SYN segments, want 2 (SYN and SYN-ACK once each): the outgoing copies were not dropped", syns)
	}
	if big == 0 {
		t.Fatalf("no packet longer than 1514 bytes in a 20 KiB write on lo: frames were cut to the MTU")
	}
	t.Logf("%d packets, %d longer than 1514 bytes", len(got), big)
}

func itoa(n int) string {
	b := []byte{}
	for n > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
