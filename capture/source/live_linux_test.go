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

// TestLiveKernelLenIsWireLength: with a snapshot length shorter than the
// packets, the kernel filter's "len" (greater, less) is the length on the
// wire, as in tcpdump and in Program.MatchWire, not the captured length:
// the kernel runs the filter before it cuts the packet to what the filter
// returns. Two sockets on the lo of a private network namespace, one
// keeping the datagrams longer than 500 bytes, one those shorter than 200;
// every datagram is cut to 96 bytes.
func TestLiveKernelLenIsWireLength(t *testing.T) {
	testdep.RequireRoot(t)
	const snaplen, rounds = 96, 5
	type want struct {
		expr    string
		wireLen int // of every packet the filter keeps
	}
	err := inNewNetns(t, func() error {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer pc.Close()
		end, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer end.Close()
		port, endPort := pc.LocalAddr().(*net.UDPAddr).Port, end.LocalAddr().(*net.UDPAddr).Port
		// Each filter also keeps the datagram to endPort that ends the run.
		cases := []want{
			{"(udp dst port " + itoa(port) + " and greater 500) or udp dst port " + itoa(endPort), 14 + 20 + 8 + 1000},
			{"(udp dst port " + itoa(port) + " and less 200) or udp dst port " + itoa(endPort), 14 + 20 + 8 + 100},
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		results := make([]chan error, len(cases))
		for i, c := range cases {
			prog, err := filter.Compile(c.expr, layers.LinkTypeEthernet, snaplen)
			if err != nil {
				return err
			}
			raw, err := prog.RawInstructions()
			if err != nil {
				return err
			}
			live, err := OpenLive(ctx, "lo", LiveOptions{Snaplen: snaplen, Filter: raw})
			if err != nil {
				return err
			}
			defer live.Close()
			results[i] = make(chan error, 1)
			go func(c want, prog *filter.Program, done chan<- error) {
				n := 0
				for {
					data, info, err := live.Next()
					if err != nil {
						done <- err
						return
					}
					if len(data) < 38 || info.CapLen != len(data) {
						done <- errors.New(c.expr + ": a packet of " + itoa(len(data)) + " bytes, CapLen " + itoa(info.CapLen))
						return
					}
					if int(data[36])<<8|int(data[37]) == endPort {
						if n != rounds {
							done <- errors.New(c.expr + ": kept " + itoa(n) + " datagrams, want " + itoa(rounds))
							return
						}
						done <- nil
						return
					}
					n++
					if info.WireLen != c.wireLen || info.CapLen != snaplen {
						done <- errors.New(c.expr + ": kept a packet of " + itoa(info.WireLen) + " bytes on the wire, " + itoa(info.CapLen) + " captured; want " + itoa(c.wireLen) + ", " + itoa(snaplen))
						return
					}
					// The user-space filter agrees when given the wire length.
					if !prog.MatchWire(data, info.WireLen) {
						done <- errors.New(c.expr + ": MatchWire refuses a packet the kernel kept")
						return
					}
				}
			}(c, prog, results[i])
		}
		uc, err := net.Dial("udp4", pc.LocalAddr().String())
		if err != nil {
			return err
		}
		defer uc.Close()
		for range rounds {
			for _, size := range []int{100, 300, 1000} {
				if _, err := uc.Write(make([]byte, size)); err != nil {
					return err
				}
			}
		}
		ec, err := net.Dial("udp4", end.LocalAddr().String())
		if err != nil {
			return err
		}
		defer ec.Close()
		if _, err := ec.Write([]byte("end")); err != nil {
			return err
		}
		for i, c := range cases {
			if err := firstErr(testkit.Within(10*time.Second, "the capture with "+c.expr+" to see the last datagram", results[i])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
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
