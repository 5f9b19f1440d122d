//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// captureNetns makes a private network namespace with lo up and returns a
// function that moves the calling goroutine's thread into it (the thread
// stays locked, so it ends with its goroutine). close releases it.
func captureNetns(t *testing.T) (enter func() error, close func()) {
	t.Helper()
	type made struct {
		fd  int
		err error
	}
	ch := make(chan made, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- made{err: err}
			return
		}
		s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			var ifr *unix.Ifreq
			if ifr, err = unix.NewIfreq("lo"); err == nil {
				if err = unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err == nil {
					ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
					err = unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
				}
			}
			unix.Close(s)
		}
		if err != nil {
			ch <- made{err: err}
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		ch <- made{fd, err}
	}()
	m := testkit.Recv(t, 10*time.Second, "a new network namespace with lo up", ch)
	if m.err != nil {
		t.Fatalf("new network namespace: %v", m.err)
	}
	return func() error {
			runtime.LockOSThread()
			return unix.Setns(m.fd, unix.CLONE_NEWNET)
		}, func() {
			unix.Close(m.fd)
		}
}

// liveResult is how a background `wiredojo capture live` ended.
type liveResult struct {
	code      int
	out, errs string
}

// captureLiveIn runs `wiredojo ARGS` in the background in the network
// namespace that enter moves its goroutine into; the result arrives on the
// returned channel (buffered, so a test may put it back).
func captureLiveIn(t *testing.T, enter func() error, args ...string) chan liveResult {
	done := make(chan liveResult, 1)
	go func() {
		if err := enter(); err != nil {
			done <- liveResult{code: -1, errs: err.Error()}
			return
		}
		code, out, errs := captureRunCLI(t, args...)
		done <- liveResult{code, out, errs}
	}()
	return done
}

// TestCaptureLiveChatSession is the issue's "done when": `capture live
// --iface lo --filter 'tcp port 7070'` shows a chat session layer by layer
// while it happens, each chat event included, and --write saves the same
// packets. It runs in a private network namespace.
func TestCaptureLiveChatSession(t *testing.T) {
	testdep.RequireRoot(t)
	enter, release := captureNetns(t)
	defer release()
	file := filepath.Join(t.TempDir(), "live.pcapng")
	capDone := captureLiveIn(t, enter, "capture", "live", "--iface", "lo", "--filter", "tcp port 7070",
		"--duration", "3s", "--write", file)

	chatDone := make(chan error, 1)
	go func() {
		chatDone <- func() error {
			if err := enter(); err != nil {
				return err
			}
			// Wait for the capture's packet socket, then a little for its
			// filter to be attached.
			for i := 0; i < 200; i++ {
				b, _ := os.ReadFile("/proc/thread-self/net/packet")
				if strings.Count(string(b), "\n") > 1 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond)
			ln, err := net.Listen("tcp", "127.0.0.1:7070")
			if err != nil {
				return err
			}
			defer ln.Close()
			noise, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			noise.WriteTo([]byte("filtered out"), noise.LocalAddr())
			noise.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				br := bufio.NewReader(c)
				io.CopyN(io.Discard, br, int64(len(wire.Preamble)))
				ack := wire.Packet{Type: wire.TypeAck, Namespace: "/chat", AckID: 1, Args: json.RawMessage(`["ok"]`)}
				var h [4]byte
				for {
					if _, err := io.ReadFull(br, h[:]); err != nil {
						return
					}
					if _, err := io.CopyN(io.Discard, br, int64(h[0])<<24|int64(h[1])<<16|int64(h[2])<<8|int64(h[3])); err != nil {
						return
					}
					c.Write(framing.AppendFrame(nil, ack.AppendTo(nil)))
				}
			}()
			c, err := net.Dial("tcp", "127.0.0.1:7070")
			if err != nil {
				return err
			}
			ev := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: json.RawMessage(`["hello from the test"]`), HasAck: true, AckID: 1}
			msg := append(append([]byte(nil), wire.Preamble...), framing.AppendFrame(nil, ev.AppendTo(nil))...)
			if _, err := c.Write(msg); err != nil {
				return err
			}
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			var h [4]byte
			if _, err := io.ReadFull(c, h[:]); err != nil {
				return err
			}
			if _, err := io.CopyN(io.Discard, c, int64(h[0])<<24|int64(h[1])<<16|int64(h[2])<<8|int64(h[3])); err != nil {
				return err
			}
			return c.Close()
		}()
	}()
	if err := testkit.Recv(t, 30*time.Second, "the chat session to end", chatDone); err != nil {
		t.Fatalf("chat: %v", err)
	}
	r := testkit.Recv(t, 30*time.Second, "capture live --duration 3s to end", capDone)
	if r.code != 0 {
		t.Fatalf("capture live: exit %d: %s", r.code, r.errs)
	}
	for _, want := range []string{
		"Flags [S], seq ", // absolute on the SYN, as tcpdump prints it
		"options [mss ",
		"Flags [.], ack 1, win ",
		"| wiredojo-frame len ",
		`| wiredojo-event event /chat message ["hello from the test"] ack 1`,
		`| wiredojo-event ack /chat ["ok"]`,
		"Flags [F.]",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("live output lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "UDP") {
		t.Errorf("the filter let UDP through:\n%s", r.out)
	}
	lines := strings.Count(r.out, "\n")
	if !strings.Contains(r.errs, " packets captured") {
		t.Errorf("no packet count on stderr: %q", r.errs)
	}
	// The file holds what was shown.
	code, out, errs := captureRunCLI(t, "capture", "read", file)
	if code != 0 || out != r.out {
		t.Fatalf("reading the --write file: exit %d %s\nfile:\n%s\nlive:\n%s", code, errs, out, r.out)
	}
	t.Logf("%d packets live, same in %s", lines, filepath.Base(file))
}

// TestCaptureLiveAny: `capture live --iface any` captures on every
// interface with Linux cooked (SLL2) headers, says so in tcpdump's banner
// before the first packet, filters in user space and writes SLL2 into the
// pcapng file. It runs in a private network namespace.
func TestCaptureLiveAny(t *testing.T) {
	testdep.RequireRoot(t)
	enter, release := captureNetns(t)
	defer release()
	file := filepath.Join(t.TempDir(), "any.pcapng")
	capDone := captureLiveIn(t, enter, "capture", "live", "--iface", "any", "--filter", "udp port 9999",
		"--count", "2", "--duration", "5s", "--write", file)
	sendDone := make(chan error, 1)
	go func() {
		sendDone <- func() error {
			if err := enter(); err != nil {
				return err
			}
			c, err := net.Dial("udp", "127.0.0.1:9999")
			if err != nil {
				return err
			}
			defer c.Close()
			noise, err := net.Dial("udp", "127.0.0.1:9998")
			if err != nil {
				return err
			}
			defer noise.Close()
			// Until the capture has its two packets (it may start after
			// the first datagrams): one datagram every 50 ms.
			for i := 0; i < 80; i++ {
				noise.Write([]byte("filtered out"))
				c.Write([]byte("to any"))
				select {
				case r := <-capDone:
					capDone <- r
					return nil
				case <-time.After(50 * time.Millisecond):
				}
			}
			return nil
		}()
	}()
	if err := testkit.Recv(t, 30*time.Second, "the sender to stop", sendDone); err != nil {
		t.Fatalf("sending: %v", err)
	}
	r := testkit.Recv(t, 30*time.Second, "capture live --count 2 --duration 5s to end", capDone)
	if r.code != 0 {
		t.Fatalf("capture live --iface any: exit %d: %s", r.code, r.errs)
	}
	banner := "listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes\n"
	if !strings.HasPrefix(r.errs, banner) {
		t.Errorf("stderr %q does not start with %q", r.errs, banner)
	}
	if n := strings.Count(r.out, "IP 127.0.0.1."); n != 2 || !strings.Contains(r.out, "> 127.0.0.1.9999: UDP, length 6") || strings.Contains(r.out, "9998") {
		t.Errorf("want two datagrams to port 9999, and only them:\n%s", r.out)
	}
	code, out, errs := captureRunCLI(t, "capture", "read", "--json", file)
	if code != 0 || strings.Count(out, `"proto":"SLL","pkttype":`) != 2 || !strings.Contains(out, `"ifindex":1`) {
		t.Fatalf("the --write file should hold 2 SLL2 packets from ifindex 1 (lo): exit %d %s\n%s", code, errs, out)
	}
}
