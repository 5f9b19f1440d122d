package link

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wiredojo/wiredojo/udpcast/impair"
)

// Side names one end of a link.
type Side int

// The two ends.
const (
	SideA Side = iota // namespace <name>-a, address AddrA
	SideB             // namespace <name>-b, address AddrB
)

// DefaultName is the link name when Config.Name is empty.
const DefaultName = "wd"

// Config describes a link.
type Config struct {
	// Name prefixes the namespaces (<name>-a, <name>-b) and TUN devices
	// (<name>a0, <name>b0): 1 to 8 letters, digits or '-'. Default "wd".
	Name string
	// AtoB and BtoA impair each direction (the zero value passes packets
	// untouched).
	AtoB, BtoA impair.Config
	// AddrA and AddrB are the two ends' IPv4 addresses (default 10.77.0.1
	// and 10.77.0.2).
	AddrA, AddrB netip.Addr
	// MTU of both TUN devices (default 1500).
	MTU int
	// Congestion is the TCP congestion control pinned in both namespaces
	// (default "cubic"); Info reports what was applied.
	Congestion string
	// NoRealTime keeps the relay threads at normal priority. By default,
	// where permitted, they run SCHED_FIFO so that the delays the pipeline
	// imposes stay accurate on a busy machine.
	NoRealTime bool
	// Observe, when set, is called by the relay for every packet it hands
	// to a side (after the impairment), with that side and the time since
	// the link came up. It runs on the relay's thread: it must be quick and
	// must not keep pkt.
	Observe func(to Side, at time.Duration, pkt []byte)
}

// Info reports what a link was set up with.
type Info struct {
	Name                   string
	NamespaceA, NamespaceB string
	DeviceA, DeviceB       string
	AddrA, AddrB           netip.Addr
	MTU                    int
	Congestion             string // TCP congestion control in force in both namespaces
	Offloads               string // what the relay does about offloads
	RealTime               bool   // the relay threads run SCHED_FIFO
	AtoB, BtoA             string // impairment per direction, as text
	CongestionNote         string // why the requested algorithm is not the namespace default, if it is not
}

// Counters are one direction's relay counters.
type Counters struct {
	Impair      impair.Stats `json:"impairment"`
	ReadErrors  uint64       `json:"read_errors"`
	WriteErrors uint64       `json:"write_errors"`
}

// Link is an impaired link that is up. Its methods are safe for concurrent
// use.
type Link struct {
	info   Info
	tunA   int // TUN descriptors, -1 when not open
	tunB   int
	wakeR  int // pipe the relay polls: a byte here stops it
	wakeW  int
	ab, ba *direction
	wg     sync.WaitGroup
	once   sync.Once
	err    error
}

func validName(n string) bool {
	if len(n) == 0 || len(n) > 8 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// Names returns the namespace names of link name.
func Names(name string) (a, b string) {
	if name == "" {
		name = DefaultName
	}
	return name + "-a", name + "-b"
}

// Up creates the namespaces and devices and starts the relay. On error
// everything created so far is removed again.
func Up(ctx context.Context, cfg Config) (l *Link, err error) {
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if !validName(cfg.Name) {
		return nil, fmt.Errorf("%w: %q", ErrName, cfg.Name)
	}
	if !Privileged() {
		return nil, ErrPrivilege
	}
	if _, err := lookIP(); err != nil {
		return nil, err
	}
	if err := cfg.AtoB.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.BtoA.Validate(); err != nil {
		return nil, err
	}
	if !cfg.AddrA.IsValid() {
		cfg.AddrA = netip.AddrFrom4([4]byte{10, 77, 0, 1})
	}
	if !cfg.AddrB.IsValid() {
		cfg.AddrB = netip.AddrFrom4([4]byte{10, 77, 0, 2})
	}
	if cfg.MTU <= 0 {
		cfg.MTU = 1500
	}
	if cfg.Congestion == "" {
		cfg.Congestion = "cubic"
	}
	nsA, nsB := Names(cfg.Name)
	if nsExists(nsA) || nsExists(nsB) {
		return nil, fmt.Errorf("%w (%s)", ErrExists, cfg.Name)
	}
	l = &Link{tunA: -1, tunB: -1, wakeR: -1, wakeW: -1, info: Info{
		Name: cfg.Name, NamespaceA: nsA, NamespaceB: nsB,
		DeviceA: cfg.Name + "a0", DeviceB: cfg.Name + "b0",
		AddrA: cfg.AddrA, AddrB: cfg.AddrB, MTU: cfg.MTU,
		AtoB: cfg.AtoB.String(), BtoA: cfg.BtoA.String(),
		Offloads: "none: TUN devices without a vnet header, so the kernel segments (no TSO/GSO/GRO) and checksums in software before the relay",
	}}
	defer func() {
		if err != nil {
			l.teardown()
			l = nil
		}
	}()
	for _, ns := range []string{nsA, nsB} {
		if err := ipCmd("netns", "add", ns); err != nil {
			return l, err
		}
		if err := ipCmd("-n", ns, "link", "set", "lo", "up"); err != nil {
			return l, err
		}
	}
	if l.tunA, err = openTUN(l.info.DeviceA); err != nil {
		return l, err
	}
	if l.tunB, err = openTUN(l.info.DeviceB); err != nil {
		return l, err
	}
	ends := []struct{ ns, dev, local, peer string }{
		{nsA, l.info.DeviceA, cfg.AddrA.String(), cfg.AddrB.String()},
		{nsB, l.info.DeviceB, cfg.AddrB.String(), cfg.AddrA.String()},
	}
	for _, e := range ends {
		if err := ipCmd("link", "set", "dev", e.dev, "netns", e.ns); err != nil {
			return l, err
		}
		// Quiet link: no IPv6 router solicitations or DAD on the relay.
		_ = writeSysctl(e.ns, "net.ipv6.conf.all.disable_ipv6", "1")
		if err := ipCmd("-n", e.ns, "addr", "add", e.local, "peer", e.peer+"/32", "dev", e.dev); err != nil {
			return l, err
		}
		// A long device queue: the relay's pipeline is the link's only
		// queue limit, the TUN device must not drop while the relay is busy.
		if err := ipCmd("-n", e.ns, "link", "set", "dev", e.dev, "mtu", fmt.Sprint(cfg.MTU), "txqueuelen", "10000", "up"); err != nil {
			return l, err
		}
		if err := writeSysctl(e.ns, "net.ipv4.tcp_congestion_control", cfg.Congestion); err != nil {
			l.info.CongestionNote = fmt.Sprintf("%s could not be made the namespace default (%v); set it per socket (TCP_CONGESTION, as compare does; iperf3 -C %s)", cfg.Congestion, err, cfg.Congestion)
		}
	}
	l.info.Congestion, _ = readSysctl(nsA, "net.ipv4.tcp_congestion_control")
	if err := ctx.Err(); err != nil {
		return l, err
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return l, fmt.Errorf("link: %w", err)
	}
	l.wakeR, l.wakeW = p[0], p[1]
	start := time.Now()
	l.ab = newDirection(l.tunA, l.tunB, l.wakeR, cfg.AtoB)
	l.ba = newDirection(l.tunB, l.tunA, l.wakeR, cfg.BtoA)
	if f := cfg.Observe; f != nil {
		l.ab.observe = func(at time.Duration, pkt []byte) { f(SideB, at, pkt) }
		l.ba.observe = func(at time.Duration, pkt []byte) { f(SideA, at, pkt) }
	}
	rt := make(chan bool, 2)
	l.wg.Add(2)
	go l.ab.run(start, !cfg.NoRealTime, rt, &l.wg)
	go l.ba.run(start, !cfg.NoRealTime, rt, &l.wg)
	rtAB, rtBA := <-rt, <-rt
	l.info.RealTime = rtAB && rtBA
	return l, nil
}

// Info returns what the link was set up with.
func (l *Link) Info() Info { return l.info }

// AddrA returns side A's address.
func (l *Link) AddrA() netip.Addr { return l.info.AddrA }

// AddrB returns side B's address.
func (l *Link) AddrB() netip.Addr { return l.info.AddrB }

// Namespace returns the namespace name of a side.
func (l *Link) Namespace(s Side) string {
	if s == SideB {
		return l.info.NamespaceB
	}
	return l.info.NamespaceA
}

// Do runs fn on an OS thread inside side s's namespace; sockets fn opens
// belong to that namespace and stay usable from any goroutine afterwards.
func (l *Link) Do(s Side, fn func() error) error { return inNamespace(l.Namespace(s), fn) }

// Counters returns the relay counters of both directions.
func (l *Link) Counters() (aToB, bToA Counters) { return l.ab.counters(), l.ba.counters() }

// Close stops the relay and removes both namespaces. It is safe to call
// more than once.
func (l *Link) Close() error {
	l.once.Do(func() { l.err = l.teardown() })
	return l.err
}

func (l *Link) teardown() error {
	if l.wakeW >= 0 {
		_, _ = unix.Write(l.wakeW, []byte{1})
	}
	l.wg.Wait()
	for _, fd := range []*int{&l.tunA, &l.tunB, &l.wakeR, &l.wakeW} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
	var errs []error
	for _, ns := range []string{l.info.NamespaceA, l.info.NamespaceB} {
		if ns != "" && nsExists(ns) {
			if err := ipCmd("netns", "del", ns); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Remove deletes the namespaces of link name whether or not this process
// made them (for `link down` from another process, after its relay was
// stopped). It returns ErrNotUp when neither exists.
func Remove(name string) error {
	if !validName(name) {
		return fmt.Errorf("%w: %q", ErrName, name)
	}
	if !Privileged() {
		return ErrPrivilege
	}
	a, b := Names(name)
	found := false
	var errs []error
	for _, ns := range []string{a, b} {
		if nsExists(ns) {
			found = true
			if err := ipCmd("netns", "del", ns); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if !found {
		return ErrNotUp
	}
	return errors.Join(errs...)
}

// Exists reports whether either namespace of link name exists.
func Exists(name string) bool {
	a, b := Names(name)
	return nsExists(a) || nsExists(b)
}

func lookIP() (string, error) {
	for _, p := range []string{"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNoIP
}
