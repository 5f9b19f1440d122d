package udpio_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/udpcast/link"
	"github.com/wiredojo/wiredojo/udpcast/udpio"
)

// privateLoopback makes a namespace whose loopback carries broadcast and
// multicast (routes for 255.255.255.255 and 224.0.0.0/4), removed when the
// test ends.
func privateLoopback(t *testing.T) *link.Namespace {
	t.Helper()
	testdep.RequireRoot(t)
	testdep.Require(t, "ip", "apt-get install iproute2")
	var b [3]byte
	_, _ = rand.Read(b[:])
	ns, err := link.NewNamespace("wdcast-" + hex.EncodeToString(b[:]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Errorf("remove namespace: %v", err)
		}
	})
	for _, args := range [][]string{
		{"link", "set", "lo", "multicast", "on"},
		{"route", "add", "255.255.255.255/32", "dev", "lo"},
		{"route", "add", "224.0.0.0/4", "dev", "lo"},
	} {
		if err := ns.IP(args...); err != nil {
			t.Fatal(err)
		}
	}
	return ns
}

// castRun listens (in ns) with ro, sends (in ns) with so to the receiver's
// port, and returns both results.
func castRun(t *testing.T, ns *link.Namespace, ro udpio.RecvOptions, so udpio.SendOptions, to func(port int) string) (udpio.SendResult, udpio.Result, error) {
	t.Helper()
	return castRunIn(t, ns.Do, ns.Do, ro, so, to)
}

// castRunIn is castRun with the receiver in one namespace and the sender in
// another (each do runs its function there, as link.Namespace.Do).
func castRunIn(t *testing.T, recvIn, sendIn func(func() error) error, ro udpio.RecvOptions, so udpio.SendOptions, to func(port int) string) (udpio.SendResult, udpio.Result, error) {
	t.Helper()
	ro.UntilEnd = true
	r, ctx, done := castListen(t, recvIn, ro)
	so.To = to(r.Addr().(*net.UDPAddr).Port)
	var sres udpio.SendResult
	serr := sendIn(func() error {
		var err error
		sres, err = udpio.Send(ctx, so)
		return err
	})
	if serr != nil {
		r.Close()
	}
	return sres, <-done, serr
}

// castListen listens with ro in a namespace (do runs its function there,
// as link.Namespace.Do) and runs the receiver until its options end it (at
// most 20 s); its result comes on the channel.
func castListen(t *testing.T, do func(func() error) error, ro udpio.RecvOptions) (*udpio.Receiver, context.Context, <-chan udpio.Result) {
	t.Helper()
	var r *udpio.Receiver
	if err := do(func() error {
		var err error
		r, err = udpio.Listen(ro)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	done := make(chan udpio.Result, 1)
	go func() {
		res, _ := r.Run(ctx)
		done <- res
	}()
	return r, ctx, done
}

func TestBroadcast(t *testing.T) {
	ns := privateLoopback(t)
	for _, dst := range []string{"255.255.255.255"} {
		t.Run(dst, func(t *testing.T) {
			s, r, err := castRun(t, ns, udpio.RecvOptions{Addr: "0.0.0.0:0"},
				udpio.SendOptions{Broadcast: true, Count: 500, Size: 100, Rate: 20000},
				func(p int) string { return fmt.Sprintf("%s:%d", dst, p) })
			if err != nil {
				t.Fatal(err)
			}
			if r.Total.Sent != 500 || r.Total.Received+r.KernelDrops < 500 || s.Sent != 500 {
				t.Fatalf("broadcast to %s: sent %+v, received %+v", dst, s, r.Total)
			}
		})
	}
}

func TestMulticast(t *testing.T) {
	ns := privateLoopback(t)
	s, r, err := castRun(t, ns, udpio.RecvOptions{Addr: ":0", Group: "239.1.2.3", Interface: "lo"},
		udpio.SendOptions{Interface: "lo", TTL: 1, Count: 500, Size: 100, Rate: 20000},
		func(p int) string { return fmt.Sprintf("239.1.2.3:%d", p) })
	if err != nil {
		t.Fatal(err)
	}
	if r.Total.Sent != 500 || r.Total.Received+r.KernelDrops < 500 || s.Sent != 500 {
		t.Fatalf("multicast: sent %+v, received %+v", s, r.Total)
	}
}

// TestCastAcrossLink sends multicast and subnet broadcast from one side of
// an impaired link to the other: the relay carries both.
func TestCastAcrossLink(t *testing.T) {
	testdep.RequireRoot(t)
	testdep.Require(t, "ip", "apt-get install iproute2")
	var b [3]byte
	_, _ = rand.Read(b[:])
	name := "m" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if link.Exists(name) {
			_ = link.Remove(name)
		}
	})
	l, err := link.Up(context.Background(), link.Config{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info := l.Info()
	// A subnet with a broadcast address on both ends of the link.
	if err := exec.Command("ip", "-n", info.NamespaceA, "addr", "add", "10.8.0.1/24", "brd", "+", "dev", info.DeviceA).Run(); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("ip", "-n", info.NamespaceB, "addr", "add", "10.8.0.2/24", "brd", "+", "dev", info.DeviceB).Run(); err != nil {
		t.Fatal(err)
	}
	cross := func(t *testing.T, ro udpio.RecvOptions, so udpio.SendOptions, host string) (udpio.SendResult, udpio.Result, error) {
		return castRunIn(t, func(f func() error) error { return l.Do(link.SideB, f) }, func(f func() error) error { return l.Do(link.SideA, f) },
			ro, so, func(p int) string { return fmt.Sprintf("%s:%d", host, p) })
	}
	t.Run("multicast", func(t *testing.T) {
		s, res, err := cross(t, udpio.RecvOptions{Addr: ":0", Group: "239.1.2.5", Interface: info.DeviceB},
			udpio.SendOptions{Interface: info.DeviceA, TTL: 2, NoMulticastLoopback: true, Count: 300, Size: 200, Rate: 10000}, "239.1.2.5")
		if err != nil {
			t.Fatal(err)
		}
		if s.Sent != 300 || res.Total.Sent != 300 || res.Total.Received+res.KernelDrops < 300 {
			t.Fatalf("multicast across the link: sent %+v, received %+v", s, res.Total)
		}
	})
	t.Run("subnet broadcast", func(t *testing.T) {
		s, res, err := cross(t, udpio.RecvOptions{Addr: "0.0.0.0:0"},
			udpio.SendOptions{Broadcast: true, Count: 300, Size: 200, Rate: 10000}, "10.8.0.255")
		if err != nil {
			t.Fatal(err)
		}
		if s.Sent != 300 || res.Total.Sent != 300 || res.Total.Received+res.KernelDrops < 300 {
			t.Fatalf("broadcast across the link: sent %+v, received %+v", s, res.Total)
		}
	})
	t.Run("subnet broadcast needs --broadcast", func(t *testing.T) {
		_, _, err := cross(t, udpio.RecvOptions{Addr: "0.0.0.0:0", Duration: 200 * time.Millisecond},
			udpio.SendOptions{Count: 1, Size: 100}, "10.8.0.255")
		if !errors.Is(err, syscall.EACCES) {
			t.Fatalf("sending to a subnet broadcast without SO_BROADCAST: %v, want EACCES", err)
		}
	})
}

// TestDestinationsCountedApart: one receiver on 0.0.0.0 that joined a group
// hears unicast, the group and loopback's broadcast address on its port; its
// result counts each apart, from the datagrams' destination addresses.
func TestDestinationsCountedApart(t *testing.T) {
	ns := privateLoopback(t)
	const uni, group, bcast = 30, 40, 50
	r, ctx, done := castListen(t, ns.Do, udpio.RecvOptions{Addr: "0.0.0.0:0", Group: "239.1.2.3", Interface: "lo", Count: uni + group + bcast})
	port := r.Addr().(*net.UDPAddr).Port
	for _, so := range []udpio.SendOptions{
		{To: fmt.Sprintf("127.0.0.1:%d", port), Count: uni},
		{To: fmt.Sprintf("239.1.2.3:%d", port), Interface: "lo", TTL: 1, Count: group},
		{To: fmt.Sprintf("127.255.255.255:%d", port), Broadcast: true, Count: bcast},
	} {
		so.Size, so.Rate = 100, 5000
		if err := ns.Do(func() error { _, err := udpio.Send(ctx, so); return err }); err != nil {
			r.Close()
			t.Fatalf("send to %s: %v", so.To, err)
		}
	}
	res := <-done
	want := udpio.Destinations{Unicast: uni, Group: group, Broadcast: bcast}
	if res.Destinations != want || res.Total.Received != want.Total() {
		t.Fatalf("destinations %+v of %d received (kernel drops %d), want %+v", res.Destinations, res.Total.Received, res.KernelDrops, want)
	}
}

// TestBroadcastAddressAddedAfterListen: an address with a broadcast
// address is added to an interface after the receiver listened (here in a
// namespace the receiver's goroutine is not in); datagrams to that
// broadcast address count as broadcast all the same, not as unicast.
func TestBroadcastAddressAddedAfterListen(t *testing.T) {
	ns := privateLoopback(t)
	const n = 40
	r, ctx, done := castListen(t, ns.Do, udpio.RecvOptions{Addr: "0.0.0.0:0", Count: 2 * n})
	if err := ns.IP("addr", "add", "10.9.0.1/24", "brd", "+", "dev", "lo"); err != nil {
		r.Close()
		t.Fatal(err)
	}
	port := r.Addr().(*net.UDPAddr).Port
	for _, so := range []udpio.SendOptions{
		{To: fmt.Sprintf("10.9.0.255:%d", port), Broadcast: true, Count: n},
		{To: fmt.Sprintf("10.9.0.1:%d", port), Count: n}, // the new address itself: unicast
	} {
		so.Size, so.Rate = 100, 5000
		if err := ns.Do(func() error { _, err := udpio.Send(ctx, so); return err }); err != nil {
			r.Close()
			t.Fatalf("send to %s: %v", so.To, err)
		}
	}
	res := <-done
	want := udpio.Destinations{Broadcast: n, Unicast: n}
	if res.Destinations != want {
		t.Fatalf("destinations %+v of %d received (kernel drops %d), want %+v: the broadcast address of 10.9.0.1/24, added after Listen, was not read again", res.Destinations, res.Total.Received, res.KernelDrops, want)
	}
}
