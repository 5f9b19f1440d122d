package udpio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/wiredojo/wiredojo/udpcast"
	"github.com/wiredojo/wiredojo/udpcast/stats"
)

// RecvOptions configures a Receiver.
type RecvOptions struct {
	// Addr is the local host:port to listen on ("127.0.0.1:9000",
	// ":9000"; port 0 picks one).
	Addr string
	// Group is an IPv4 multicast group to join (Addr's port is used).
	Group string
	// Interface names the interface to join Group on ("" = the kernel's
	// choice).
	Interface string
	// Conn, when set, is the socket to read (for instance one opened in
	// another network namespace); Addr and Group are ignored. The Receiver
	// closes it.
	Conn *net.UDPConn

	RunID    uint64        // accept only this run (0 = any); others count as OtherRun
	Count    uint64        // stop after this many distinct data datagrams in all
	Duration time.Duration // stop after this long
	UntilEnd bool          // stop once every sender's end marker arrived (plus Linger), or after Idle of silence
	Linger   time.Duration // wait after the last end marker for late datagrams (0 = 200ms)
	// Idle ends a UntilEnd run when no datagram arrived for this long
	// after the first one (0 = 2s): end markers can be lost too, on a
	// lossy path or to a socket that overflowed.
	Idle       time.Duration
	MaxSenders int // senders tracked at once (0 = 64); more count as TooManySenders

	Batch       int // datagrams per recvmmsg (0 = DefaultBatch, 16 with GRO)
	MaxDatagram int // receive buffer per datagram (0 = 2048); longer ones count as Truncated
	ReadBuffer  int // SO_RCVBUF bytes (0 = 8 MiB)
	// NoGRO turns off UDP generic receive offload. With GRO (the default
	// where the kernel has it) the kernel hands over runs of same-sized
	// datagrams of one sender in one buffer, which the receiver splits
	// again: far fewer system calls at high rates.
	NoGRO bool

	// Progress, when set, is called about every Interval (default 500ms)
	// from Run's goroutine with the results so far.
	Progress func(Result)
	Interval time.Duration
	// OnDatagram, when set, is called for every valid data datagram.
	OnDatagram func(Arrival)
}

// Arrival describes one received data datagram, for OnDatagram.
type Arrival struct {
	From      netip.AddrPort
	Header    udpcast.Header
	Size      int
	ArrivalNS int64 // kernel receive timestamp, Unix ns
	Outcome   stats.Outcome
}

// Invalid counts datagrams that were not measured, by reason.
type Invalid struct {
	Short          uint64 `json:"short"`            // shorter than the header
	BadMagic       uint64 `json:"bad_magic"`        // not wiredojo-udp
	BadVersion     uint64 `json:"bad_version"`      // unknown version or header length
	Truncated      uint64 `json:"truncated"`        // longer than MaxDatagram
	OtherRun       uint64 `json:"other_run"`        // a run we were told to ignore
	TooManySenders uint64 `json:"too_many_senders"` // beyond MaxSenders
	Wild           uint64 `json:"wild"`             // implausible sequence numbers
	Stale          uint64 `json:"stale"`            // too far behind to classify
	ZeroRun        uint64 `json:"zero_run_id"`      // run id 0, which no sender uses
	BadEnd         uint64 `json:"bad_end_marker"`   // end markers with an implausible count
	// BadTime counts datagrams whose send time was more than
	// stats.MaxTransit from their arrival: received and counted, but left
	// out of latency and jitter.
	BadTime uint64 `json:"bad_send_time"`
}

// Total returns the sum of all counters.
func (v Invalid) Total() uint64 {
	return v.Short + v.BadMagic + v.BadVersion + v.Truncated + v.OtherRun + v.TooManySenders + v.Wild + v.Stale +
		v.ZeroRun + v.BadEnd + v.BadTime
}

// Destinations counts the distinct data datagrams received (Result.Total's
// Received) by the address they were sent to: the destination of their IP
// header, which the kernel gives per datagram (IP_PKTINFO). A receiver
// bound to 0.0.0.0 hears unicast, broadcasts and the groups joined on its
// port alike; these counts tell them apart. The interfaces' broadcast
// addresses are those of the network namespace Listen ran in, read again
// (at most once a second) when a datagram comes to an address that none of
// the interfaces had: an address added after Listen counts too.
type Destinations struct {
	Unicast   uint64 `json:"unicast"`   // to an address of this host
	Broadcast uint64 `json:"broadcast"` // to 255.255.255.255 or an interface's broadcast address
	Group     uint64 `json:"group"`     // to the multicast group joined (RecvOptions.Group)
	// OtherGroup counts datagrams to another multicast group: Linux hands
	// a socket bound to 0.0.0.0 the datagrams of every group joined on
	// the host, by any socket, for its port.
	OtherGroup uint64 `json:"other_group"`
	Unknown    uint64 `json:"unknown"` // the kernel did not say (an IPv6 socket)
}

// Total returns the sum of all counters.
func (d Destinations) Total() uint64 {
	return d.Unicast + d.Broadcast + d.Group + d.OtherGroup + d.Unknown
}

// destKind is the kind of a datagram's destination address.
type destKind uint8

const (
	destUnknown destKind = iota
	destUnicast
	destBroadcast
	destGroup
	destOtherGroup
)

func (d *Destinations) add(k destKind, n uint64) {
	switch k {
	case destUnicast:
		d.Unicast += n
	case destBroadcast:
		d.Broadcast += n
	case destGroup:
		d.Group += n
	case destOtherGroup:
		d.OtherGroup += n
	default:
		d.Unknown += n
	}
}

// SenderResult is the statistics of one sender's run.
type SenderResult struct {
	From    netip.AddrPort
	RunID   uint64
	Summary stats.Summary
	Stream  *stats.Stream // the live stream; read only after Run returned
}

// Result is what a Receiver measured.
type Result struct {
	Senders []SenderResult // in order of first datagram
	Total   stats.Summary  // all senders merged
	// KernelDrops counts packets the kernel dropped on our full socket
	// (SO_RXQ_OVFL). With GRO a dropped packet can be a run of up to 64
	// datagrams of one sender; with NoGRO it counts datagrams.
	KernelDrops uint64
	Invalid     Invalid
	Datagrams   uint64 // datagrams read, valid or not
	// Destinations counts the datagrams of Total.Received by where they
	// were addressed: unicast, broadcast, the group joined, another group.
	Destinations Destinations
	Elapsed      time.Duration
	Addr         string // the address listened on
}

type senderKey struct {
	addr netip.AddrPort
	run  uint64
}

// Receiver reads wiredojo-udp datagrams and keeps statistics per sender.
// Run must be called once, from one goroutine; Close may be called from
// any goroutine.
type Receiver struct {
	opts  RecvOptions
	conn  *net.UDPConn
	rd    *mmsgReader
	index map[senderKey]int
	strs  []*stats.Stream
	keys  []senderKey
	res   Result
	drops uint32 // last SO_RXQ_OVFL value
	gro   bool   // UDP_GRO is on: one buffer may hold several datagrams
	// group is RecvOptions.Group (zero without one); bcast and local the
	// broadcast addresses and the addresses of the interfaces of Listen's
	// network namespace, read again from addrs (a netlink socket there,
	// nil if none could be opened) when a datagram comes to an address
	// that is none of them, at most once a second (addrsRead: when they
	// were last read again).
	group     [4]byte
	bcast     [][4]byte
	local     [][4]byte
	addrs     *os.File
	addrsSeq  uint32
	addrsRead time.Time
}

// Listen opens the socket (joining the multicast group if asked) and
// returns a Receiver ready to Run.
func Listen(o RecvOptions) (*Receiver, error) {
	if o.MaxDatagram <= 0 {
		o.MaxDatagram = 2048
	}
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = 8 << 20
	}
	if o.MaxSenders <= 0 {
		o.MaxSenders = 64
	}
	if o.Idle <= 0 {
		o.Idle = 2 * time.Second
	}
	if o.Linger <= 0 {
		o.Linger = 200 * time.Millisecond
	}
	if o.Interval <= 0 {
		o.Interval = 500 * time.Millisecond
	}
	conn := o.Conn
	if conn == nil {
		var err error
		conn, err = listen(o)
		if err != nil {
			return nil, err
		}
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("udpio: %w", err)
	}
	if err := setRecvOptions(rc, o.ReadBuffer); err != nil {
		conn.Close()
		return nil, fmt.Errorf("udpio: socket options: %w", err)
	}
	bufSize := o.MaxDatagram + 1
	gro := !o.NoGRO && enableGRO(rc)
	if gro {
		bufSize = 1 << 16 // a coalesced run of datagrams
		if o.Batch <= 0 {
			o.Batch = 16
		}
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	r := &Receiver{
		opts:  o,
		conn:  conn,
		rd:    newMmsgReader(rc, o.Batch, bufSize),
		index: make(map[senderKey]int),
		gro:   gro,
	}
	r.addrs, _ = openAddrs() // without it, the limited broadcast alone is known
	r.readAddrs()
	if g, err := netip.ParseAddr(o.Group); err == nil && g.Is4() && g.IsMulticast() {
		r.group = g.As4()
	}
	r.res.Addr = conn.LocalAddr().String()
	return r, nil
}

// readAddrs reads the interfaces' addresses (best effort: on an error it
// keeps those it had). The limited broadcast address 255.255.255.255 is
// always known.
func (r *Receiver) readAddrs() {
	if r.addrs == nil {
		r.bcast = [][4]byte{{255, 255, 255, 255}}
		return
	}
	r.addrsSeq++
	bcast, local, err := readAddrs(r.addrs, r.addrsSeq, [][4]byte{{255, 255, 255, 255}}, nil)
	if err == nil || r.bcast == nil {
		r.bcast, r.local = bcast, local
	}
}

// destOf classifies a datagram's destination address.
func (r *Receiver) destOf(o *oobInfo) destKind {
	if !o.haveDst {
		return destUnknown
	}
	if o.dst[0]&0xf0 == 0xe0 { // 224.0.0.0/4
		if o.dst == r.group {
			return destGroup
		}
		return destOtherGroup
	}
	if k, known := r.kindOf(o.dst); known {
		return k
	}
	// An address none of the interfaces had when last read (at Listen, or
	// again since): one may have come since. Read them again, at most once
	// a second, so that a flood of such datagrams costs a clock reading
	// each.
	if now := time.Now(); now.Sub(r.addrsRead) >= time.Second {
		r.addrsRead = now
		r.readAddrs()
	}
	k, _ := r.kindOf(o.dst)
	return k
}

// kindOf says whether dst, not multicast, is a broadcast address, by the
// addresses as last read; known is false when dst is none of them (nor
// of loopback's 127.0.0.0/8).
func (r *Receiver) kindOf(dst [4]byte) (k destKind, known bool) {
	if slices.Contains(r.bcast, dst) {
		return destBroadcast, true
	}
	return destUnicast, dst[0] == 127 || slices.Contains(r.local, dst)
}

func listen(o RecvOptions) (*net.UDPConn, error) {
	addr := o.Addr
	if addr == "" {
		addr = ":0"
	}
	if o.Group == "" {
		la, err := net.ResolveUDPAddr("udp4", addr)
		if err != nil {
			return nil, fmt.Errorf("udpio: listen address %q: %w", addr, err)
		}
		c, err := net.ListenUDP("udp4", la)
		if err != nil {
			return nil, fmt.Errorf("udpio: listen on %s: %w", addr, err)
		}
		return c, nil
	}
	g := net.ParseIP(o.Group)
	if g == nil || g.To4() == nil || !g.IsMulticast() {
		return nil, fmt.Errorf("%w: %q", ErrNotMulticast, o.Group)
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("udpio: listen address %q: %w", addr, err)
	}
	// Bind the group address itself so only its datagrams arrive.
	la, err := net.ResolveUDPAddr("udp4", net.JoinHostPort(o.Group, port))
	if err != nil {
		return nil, fmt.Errorf("udpio: %w", err)
	}
	c, err := net.ListenUDP("udp4", la)
	if err != nil {
		return nil, fmt.Errorf("udpio: listen on %s: %w", la, err)
	}
	var ifi *net.Interface
	if o.Interface != "" {
		if ifi, err = net.InterfaceByName(o.Interface); err != nil {
			c.Close()
			return nil, fmt.Errorf("udpio: multicast interface: %w", err)
		}
	}
	if err := ipv4.NewPacketConn(c).JoinGroup(ifi, &net.UDPAddr{IP: g}); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w %s: %w", ErrJoin, g, err)
	}
	return c, nil
}

// Addr returns the local address of the socket.
func (r *Receiver) Addr() net.Addr { return r.conn.LocalAddr() }

// Close closes the socket; a running Run returns.
func (r *Receiver) Close() error {
	if r.addrs != nil {
		r.addrs.Close()
	}
	return r.conn.Close()
}

// Run reads and measures until ctx ends, Duration passes, Count distinct
// datagrams arrived, or (UntilEnd) every sender ended; it then closes the
// socket and returns the result. Ending by ctx is not an error.
func (r *Receiver) Run(ctx context.Context) (Result, error) {
	defer r.Close()
	o := r.opts
	start := time.Now()
	wake := context.AfterFunc(ctx, func() { _ = r.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer wake()
	var end, lingerEnd time.Time
	if o.Duration > 0 {
		end = start.Add(o.Duration)
	}
	nextProgress := start.Add(o.Interval)
	var received uint64
	var lastData time.Time // when the last datagram arrived
	for {
		if ctx.Err() != nil {
			break
		}
		now := time.Now()
		if (!end.IsZero() && !now.Before(end)) || (!lingerEnd.IsZero() && !now.Before(lingerEnd)) {
			break
		}
		if o.UntilEnd && !lastData.IsZero() && now.Sub(lastData) >= o.Idle {
			break // the senders went quiet without (all) their end markers
		}
		dl := nextProgress
		if o.Progress == nil {
			dl = now.Add(time.Second)
		}
		if o.UntilEnd && !lastData.IsZero() && lastData.Add(o.Idle).Before(dl) {
			dl = lastData.Add(o.Idle)
		}
		if !end.IsZero() && end.Before(dl) {
			dl = end
		}
		if !lingerEnd.IsZero() && lingerEnd.Before(dl) {
			dl = lingerEnd
		}
		_ = r.conn.SetReadDeadline(dl)
		if ctx.Err() != nil {
			break
		}
		n, err := r.rd.read()
		if err != nil {
			if isTimeout(err) {
				r.tick(start, &nextProgress)
				continue
			}
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return r.result(start), fmt.Errorf("udpio: receive: %w", err)
		}
		lastData = time.Now()
		fallback := lastData.UnixNano()
		for i := range n {
			received += r.handle(i, fallback)
		}
		r.tick(start, &nextProgress)
		if o.Count > 0 && received >= o.Count {
			break
		}
		if o.UntilEnd && lingerEnd.IsZero() && r.allEnded() {
			lingerEnd = time.Now().Add(o.Linger)
		}
	}
	return r.result(start), nil
}

func (r *Receiver) tick(start time.Time, next *time.Time) {
	if r.opts.Progress == nil || time.Now().Before(*next) {
		return
	}
	r.opts.Progress(r.result(start))
	*next = time.Now().Add(r.opts.Interval)
}

func (r *Receiver) allEnded() bool {
	if len(r.strs) == 0 {
		return false
	}
	for _, s := range r.strs {
		if !s.Ended() {
			return false
		}
	}
	return true
}

// handle measures buffer i of the last batch (one datagram, or with GRO a
// run of datagrams of groSize bytes but the last) and returns how many new
// data datagrams it held.
func (r *Receiver) handle(i int, fallbackNS int64) uint64 {
	data, trunc, oob, src := r.rd.datagram(i)
	info := parseOOB(oob)
	if info.haveDrops {
		// The counter is per socket, cumulative from its creation.
		r.drops = info.drops
	}
	ts, groSize := info.tsNS, info.groSize
	if ts == 0 {
		ts = fallbackNS
	}
	// A GRO run holds datagrams of one flow, to one destination.
	dest := r.destOf(&info)
	var from netip.AddrPort
	if src.v4 {
		from = netip.AddrPortFrom(netip.AddrFrom4([4]byte(src.ip[:4])), src.port)
	} else {
		from = netip.AddrPortFrom(netip.AddrFrom16(src.ip).Unmap(), src.port)
	}
	if trunc {
		r.res.Datagrams++
		r.res.Invalid.Truncated++
		return 0
	}
	var n uint64
	if groSize <= 0 || groSize >= len(data) {
		n = r.measure(data, from, ts)
	} else {
		for len(data) > 0 {
			seg := data[:min(groSize, len(data))]
			data = data[len(seg):]
			n += r.measure(seg, from, ts)
		}
	}
	r.res.Destinations.add(dest, n)
	return n
}

// measure handles one datagram and returns 1 when it was a new data
// datagram.
func (r *Receiver) measure(data []byte, from netip.AddrPort, ts int64) uint64 {
	r.res.Datagrams++
	if len(data) > r.opts.MaxDatagram {
		r.res.Invalid.Truncated++
		return 0
	}
	h, _, err := udpcast.DecodeHeader(data)
	switch {
	case errors.Is(err, udpcast.ErrShort):
		r.res.Invalid.Short++
		return 0
	case errors.Is(err, udpcast.ErrBadMagic):
		r.res.Invalid.BadMagic++
		return 0
	case err != nil:
		r.res.Invalid.BadVersion++
		return 0
	}
	if h.RunID == 0 {
		r.res.Invalid.ZeroRun++
		return 0
	}
	if r.opts.RunID != 0 && h.RunID != r.opts.RunID {
		r.res.Invalid.OtherRun++
		return 0
	}
	k := senderKey{from, h.RunID}
	idx, found := r.index[k]
	if !found {
		if len(r.strs) >= r.opts.MaxSenders {
			r.res.Invalid.TooManySenders++
			return 0
		}
		idx = len(r.strs)
		r.index[k] = idx
		r.strs = append(r.strs, new(stats.Stream))
		r.keys = append(r.keys, k)
	}
	out := r.strs[idx].Add(h, len(data), ts)
	switch out {
	case stats.Wild:
		r.res.Invalid.Wild++
	case stats.Stale:
		r.res.Invalid.Stale++
	case stats.BadEnd:
		r.res.Invalid.BadEnd++
	}
	if out == stats.EndMark || out == stats.Wild || out == stats.Stale || out == stats.BadEnd {
		return 0
	}
	if r.opts.OnDatagram != nil {
		r.opts.OnDatagram(Arrival{From: from, Header: h, Size: len(data), ArrivalNS: ts, Outcome: out})
	}
	if out == stats.Duplicate {
		return 0
	}
	return 1
}

func (r *Receiver) result(start time.Time) Result {
	res := r.res
	res.Elapsed = time.Since(start)
	res.KernelDrops = uint64(r.drops)
	res.Senders = make([]SenderResult, len(r.strs))
	for i, s := range r.strs {
		res.Senders[i] = SenderResult{From: r.keys[i].addr, RunID: r.keys[i].run, Summary: s.Summary(), Stream: s}
	}
	res.Total = stats.Merge(r.strs)
	res.Invalid.BadTime = res.Total.BadTime
	return res
}
