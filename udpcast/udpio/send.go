package udpio

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/wiredojo/wiredojo/udpcast"
	"github.com/wiredojo/wiredojo/udpcast/impair"
)

// MaxDatagram is the largest UDP payload over IPv4.
const MaxDatagram = 65507

// DefaultBatch is the number of datagrams per sendmmsg/recvmmsg call.
const DefaultBatch = 64

// SendOptions configures one sending run. To (or Conn) is required, and one
// of Count, Duration or a context that ends.
type SendOptions struct {
	// To is the destination host:port: a unicast address, a broadcast
	// address (255.255.255.255 or a subnet's, with Broadcast set) or an
	// IPv4 multicast group.
	To string
	// Broadcast sets SO_BROADCAST, which the kernel requires for sending
	// to a broadcast address.
	Broadcast bool
	// Interface names the interface multicast leaves by ("" = routing
	// table's choice).
	Interface string
	// TTL is the multicast TTL (0 = 1, the kernel's default: this subnet).
	TTL int
	// NoMulticastLoopback stops the kernel from delivering our multicast to
	// receivers on this host (they get it by default).
	NoMulticastLoopback bool
	// Conn, when set, is used instead of opening a socket (for instance one
	// opened in another network namespace). Send does not close it.
	Conn net.PacketConn

	Count    uint64        // data datagrams to send (0 = no limit)
	Duration time.Duration // stop after this long (0 = no limit)
	Size     int           // bytes per datagram, header included (HeaderLen..MaxDatagram)
	// Rate is datagrams per second, paced smoothly from the start time
	// (datagram i leaves at start + i/Rate); 0 sends as fast as possible.
	Rate float64
	// NoBatch sends one datagram per system call instead of sendmmsg
	// batches.
	NoBatch bool
	Batch   int // datagrams per batch (0 = DefaultBatch)
	// NoGSO turns off UDP generic segmentation offload. With GSO (the
	// default for unimpaired unicast where the kernel has it) one buffer
	// of up to 64 same-sized datagrams is written at once and the kernel
	// splits it.
	NoGSO bool

	// Impair runs every data datagram through this pipeline before the
	// socket. End markers bypass it.
	Impair impair.Config
	// RunID identifies the run (0 = random).
	RunID uint64
	// EndMarkers is how many end-of-run datagrams to send (0 = 3; -1 = none).
	EndMarkers int

	// Progress, when set, is called about every ProgressEvery (default
	// 100ms) with the number of data datagrams sent so far.
	Progress      func(sent uint64)
	ProgressEvery time.Duration
}

// SendResult reports a finished run.
type SendResult struct {
	RunID     uint64 // the run id the datagrams carry
	Sent      uint64 // data datagrams generated (sequence numbers 0..Sent-1)
	Datagrams uint64 // data datagrams written to the socket (after impairment)
	Bytes     uint64 // bytes written to the socket (data datagrams)
	Errors    uint64 // data datagrams the kernel refused (ENOBUFS, ECONNREFUSED...); Datagrams + Errors = datagrams offered
	// Unreachable counts the part of Errors refused because an ICMP
	// port-unreachable came back for an earlier datagram (ECONNREFUSED on
	// a connected socket): nobody listens at the destination. UDP does not
	// care, so the run goes on.
	Unreachable uint64
	// PortUnreachable reports that an ICMP port-unreachable came back at
	// any time of the run (end markers included, whose refusals are not
	// counted in Errors).
	PortUnreachable bool
	Elapsed         time.Duration // from the first datagram to the end marker
	Impaired        bool          // whether a pipeline ran
	GSO             bool          // whether UDP GSO carried the datagrams
	Impair          impair.Stats  // per-stage counters of the pipeline
	To              string        // resolved destination
}

// PPS returns data datagrams sent per second.
func (r SendResult) PPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Datagrams) / r.Elapsed.Seconds()
}

// NewRunID returns a random non-zero run id.
func NewRunID() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:])
		if v := binary.BigEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

type sender struct {
	opts    SendOptions
	conn    net.PacketConn
	pc      *ipv4.PacketConn
	dst     net.Addr // nil when the socket is connected
	msgs    []ipv4.Message
	res     SendResult
	timer   *time.Timer
	lastErr error
	gso     int // UDP_SEGMENT size in force, 0 when off
	rc      syscall.RawConn
}

// Send runs one sending run and returns its result. It blocks until the run
// is over: Count datagrams sent, Duration elapsed or ctx done (then it stops
// generating, lets the pipeline drain for at most a second and sends the end
// markers). Errors are about setting up; datagrams the kernel refuses are
// counted in SendResult.Errors.
func Send(ctx context.Context, o SendOptions) (SendResult, error) {
	if o.Size == 0 {
		o.Size = 512
	}
	if o.Size < udpcast.HeaderLen || o.Size > MaxDatagram {
		return SendResult{}, fmt.Errorf("%w: %d bytes; a datagram holds %d (the header) to %d bytes", ErrSize, o.Size, udpcast.HeaderLen, MaxDatagram)
	}
	if err := o.Impair.Validate(); err != nil {
		return SendResult{}, err
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.NoBatch {
		o.Batch = 1
	}
	if o.RunID == 0 {
		o.RunID = NewRunID()
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 100 * time.Millisecond
	}
	s := &sender{opts: o}
	s.res.RunID = o.RunID
	if err := s.open(); err != nil {
		return SendResult{}, err
	}
	if o.Conn == nil {
		defer s.conn.Close()
	}
	stop := context.AfterFunc(ctx, func() { _ = s.conn.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	s.timer = time.NewTimer(time.Hour)
	defer s.timer.Stop()
	s.msgs = make([]ipv4.Message, o.Batch)
	for i := range s.msgs {
		s.msgs[i].Buffers = make([][]byte, 1)
		s.msgs[i].Addr = s.dst
	}
	s.run(ctx)
	if s.res.Datagrams == 0 && s.res.Errors > 0 && s.lastErr != nil {
		if errors.Is(s.lastErr, syscall.EACCES) {
			return s.res, fmt.Errorf("udpio: send to %s: %w: %w", s.res.To, ErrBroadcastOff, s.lastErr)
		}
		return s.res, fmt.Errorf("udpio: send to %s: every datagram was refused: %w", s.res.To, s.lastErr)
	}
	return s.res, nil
}

func (s *sender) open() error {
	o := s.opts
	if o.Conn != nil {
		s.conn = o.Conn
		if uc, ok := o.Conn.(*net.UDPConn); !ok || uc.RemoteAddr() == nil {
			a, err := net.ResolveUDPAddr("udp4", o.To)
			if err != nil || o.To == "" {
				return fmt.Errorf("%w: %q", ErrNoDestination, o.To)
			}
			s.dst = a
		}
		s.res.To = o.To
		s.pc = ipv4.NewPacketConn(s.conn)
		if uc, ok := o.Conn.(*net.UDPConn); ok {
			s.rc = mustRaw(uc)
		}
		return nil
	}
	if o.To == "" {
		return ErrNoDestination
	}
	dst, err := net.ResolveUDPAddr("udp4", o.To)
	if err != nil {
		return fmt.Errorf("udpio: destination %q: %w (write host:port, e.g. 127.0.0.1:9000)", o.To, err)
	}
	if dst.Port == 0 {
		return fmt.Errorf("udpio: destination %q has no port", o.To)
	}
	s.res.To = dst.String()
	bcast := o.Broadcast || dst.IP.Equal(net.IPv4bcast)
	if dst.IP.IsMulticast() {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{})
		if err != nil {
			return fmt.Errorf("udpio: open socket: %w", err)
		}
		s.conn, s.dst = c, dst
		s.pc = ipv4.NewPacketConn(c)
		if o.Interface != "" {
			ifi, err := net.InterfaceByName(o.Interface)
			if err != nil {
				c.Close()
				return fmt.Errorf("udpio: multicast interface: %w", err)
			}
			if err := s.pc.SetMulticastInterface(ifi); err != nil {
				c.Close()
				return fmt.Errorf("udpio: multicast interface %s: %w", o.Interface, err)
			}
		}
		ttl := o.TTL
		if ttl <= 0 {
			ttl = 1
		}
		if err := s.pc.SetMulticastTTL(ttl); err != nil {
			c.Close()
			return fmt.Errorf("udpio: multicast TTL: %w", err)
		}
		if err := s.pc.SetMulticastLoopback(!o.NoMulticastLoopback); err != nil {
			c.Close()
			return fmt.Errorf("udpio: multicast loopback: %w", err)
		}
		_ = setSendOptions(mustRaw(c), false, 4<<20)
		return nil
	}
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return setSendOptions(rc, bcast, 4<<20)
	}}
	c, err := d.Dial("udp4", dst.String())
	if err != nil {
		if errors.Is(err, syscall.EACCES) {
			return fmt.Errorf("udpio: send to %s: %w: %w", dst, ErrBroadcastOff, err)
		}
		return fmt.Errorf("udpio: open socket to %s: %w", dst, err)
	}
	s.conn = c.(*net.UDPConn)
	s.pc = ipv4.NewPacketConn(s.conn)
	s.rc = mustRaw(s.conn.(*net.UDPConn))
	return nil
}

func mustRaw(c *net.UDPConn) syscall.RawConn {
	rc, _ := c.SyscallConn()
	return rc
}

// write sends msgs, one sendmmsg per batch (or one write per datagram with
// NoBatch), counting what the kernel refused.
func (s *sender) write(msgs []ipv4.Message) {
	for len(msgs) > 0 {
		var n int
		var err error
		if s.opts.NoBatch {
			if s.dst != nil {
				_, err = s.conn.WriteTo(msgs[0].Buffers[0], s.dst)
			} else {
				_, err = s.conn.(*net.UDPConn).Write(msgs[0].Buffers[0])
			}
			if err == nil {
				n = 1
			}
		} else {
			n, err = s.pc.WriteBatch(msgs, 0)
		}
		n = max(n, 0) // sendmmsg reports -1 when the first message failed
		for _, m := range msgs[:n] {
			s.res.Datagrams += s.segments(len(m.Buffers[0]))
			s.res.Bytes += uint64(len(m.Buffers[0]))
		}
		msgs = msgs[n:]
		if err != nil && s.gso > 0 && len(msgs) > 0 && gsoRefused(err) {
			// The path cannot segment for us: go back to one datagram
			// per message and resend what was refused that way.
			s.disableGSO(msgs)
			return
		}
		if err != nil {
			if isTimeout(err) {
				// ctx ended while the socket was full: drop the rest.
				s.res.Errors += uint64(len(msgs))
				s.lastErr = err
				return
			}
			// The kernel refused the first remaining datagram
			// (ENOBUFS, ECONNREFUSED after an ICMP error...): count it,
			// skip it, carry on.
			s.lastErr = err
			if len(msgs) > 0 {
				k := s.segments(len(msgs[0].Buffers[0]))
				s.res.Errors += k
				if errors.Is(err, syscall.ECONNREFUSED) {
					s.res.Unreachable += k
					s.res.PortUnreachable = true
				}
				msgs = msgs[1:]
			}
		}
	}
}

// segments returns how many datagrams a buffer of n bytes carries.
func (s *sender) segments(n int) uint64 {
	if s.gso <= 0 || n <= s.gso {
		return 1
	}
	return uint64((n + s.gso - 1) / s.gso)
}

func gsoRefused(err error) bool {
	return errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EOPNOTSUPP)
}

// disableGSO turns segmentation off and sends the refused buffers one
// datagram at a time.
func (s *sender) disableGSO(msgs []ipv4.Message) {
	size := s.gso
	s.gso = 0
	s.res.GSO = false
	setGSO(s.rc, 0)
	var one [1]ipv4.Message
	one[0].Buffers = make([][]byte, 1)
	one[0].Addr = s.dst
	for _, m := range msgs {
		b := m.Buffers[0]
		for len(b) > 0 {
			seg := b[:min(size, len(b))]
			b = b[len(seg):]
			one[0].Buffers[0] = seg
			s.write(one[:])
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// sleepUntil waits until t (on the clock of start) or ctx's end.
func (s *sender) sleepUntil(ctx context.Context, start time.Time, t time.Duration) {
	d := t - time.Since(start)
	if d <= 0 {
		return
	}
	s.timer.Reset(d)
	select {
	case <-s.timer.C:
	case <-ctx.Done():
		if !s.timer.Stop() {
			<-s.timer.C
		}
	}
}

func (s *sender) run(ctx context.Context) {
	o := s.opts
	var pipe *impair.Pipeline
	if o.Impair.Enabled() {
		pipe = impair.New(o.Impair)
		s.res.Impaired = true
	}
	// GSO: unimpaired unicast on a connected socket, several datagrams
	// per buffer.
	segs := 1
	if pipe == nil && !o.NoBatch && !o.NoGSO && s.dst == nil && s.rc != nil {
		if n := min(64, 65000/o.Size); n >= 2 && setGSO(s.rc, o.Size) {
			s.gso, segs = o.Size, n
			s.res.GSO = true
		}
	}
	nbuf := o.Batch
	if segs > 1 {
		nbuf = min(o.Batch, 8)
	}
	// Prepared datagrams: header rewritten per send, payload a fixed
	// pattern.
	bufs := make([][]byte, nbuf)
	for i := range bufs {
		bufs[i] = make([]byte, o.Size*segs)
		for j := range bufs[i] {
			if j%o.Size >= udpcast.HeaderLen {
				bufs[i][j] = byte(j % o.Size)
			}
		}
	}
	capacity := nbuf * segs
	h := udpcast.Header{RunID: o.RunID}
	start := time.Now()
	nextProgress := o.ProgressEvery
	var interval time.Duration
	if o.Rate > 0 {
		interval = time.Duration(float64(time.Second) / o.Rate)
	}
	generating := true
	for {
		now := time.Since(start)
		if generating && (ctx.Err() != nil ||
			(o.Count > 0 && s.res.Sent >= o.Count) ||
			(o.Duration > 0 && now >= o.Duration)) {
			generating = false
			if pipe != nil {
				pipe.Flush(int64(now))
			}
		}
		if !generating && (pipe == nil || pipe.Len() == 0) {
			break
		}
		if !generating && ctx.Err() != nil && now > o.Impair.Delay+o.Impair.Jitter+time.Second {
			break // do not wait for ever on a cancelled run
		}
		// How many datagrams are due now.
		k := 0
		if generating {
			due := uint64(capacity)
			if o.Rate > 0 {
				want := uint64(now.Seconds()*o.Rate) + 1
				due = 0
				if want > s.res.Sent {
					due = min(want-s.res.Sent, uint64(capacity))
				}
			}
			if o.Count > 0 {
				due = min(due, o.Count-s.res.Sent)
			}
			k = int(due)
		}
		if pipe == nil {
			nowNS := time.Now().UnixNano()
			m := 0
			for left := k; left > 0; m++ {
				n := min(left, segs)
				b := bufs[m][:n*o.Size]
				for off := 0; off < len(b); off += o.Size {
					h.Seq, h.SentNS = s.res.Sent, nowNS
					h.Put(b[off:])
					s.res.Sent++
				}
				s.msgs[m].Buffers[0] = b
				left -= n
			}
			s.write(s.msgs[:m])
		} else {
			nowNS := time.Now().UnixNano()
			for range k {
				h.Seq, h.SentNS = s.res.Sent, nowNS
				h.Put(bufs[0])
				pipe.Push(int64(now), bufs[0])
				s.res.Sent++
			}
			s.drain(pipe, int64(time.Since(start)))
		}
		if o.Progress != nil && time.Since(start) >= nextProgress {
			o.Progress(s.res.Sent)
			nextProgress = time.Since(start) + o.ProgressEvery
		}
		// Sleep until the next datagram is due, or the pipeline's next.
		next := time.Duration(-1)
		if generating && o.Rate > 0 {
			next = time.Duration(float64(s.res.Sent) * float64(interval))
		}
		if pipe != nil {
			if d, ok := pipe.NextDue(); ok && (next < 0 || time.Duration(d) < next) {
				next = time.Duration(d)
			}
		}
		if next > 0 {
			s.sleepUntil(ctx, start, next)
		}
	}
	if pipe != nil {
		s.res.Impair = pipe.Stats()
	}
	if o.Progress != nil {
		o.Progress(s.res.Sent)
	}
	s.sendEnd(ctx)
	s.res.Elapsed = time.Since(start)
}

// drain writes every datagram the pipeline has due by now, in batches.
func (s *sender) drain(pipe *impair.Pipeline, now int64) {
	for {
		k := 0
		for k < len(s.msgs) {
			b, ok := pipe.Pop(now)
			if !ok {
				break
			}
			s.msgs[k].Buffers[0] = b
			k++
		}
		if k == 0 {
			return
		}
		s.write(s.msgs[:k])
		for j := range k {
			pipe.Release(s.msgs[j].Buffers[0])
		}
	}
}

func pow10(i int) int64 {
	p := int64(1)
	for range min(i, 3) {
		p *= 10
	}
	return p
}

// sendEnd sends the end markers, 1, 10 and 100 ms apart, past the pipeline.
func (s *sender) sendEnd(ctx context.Context) {
	n := s.opts.EndMarkers
	if n == 0 {
		n = 3
	}
	if n < 0 {
		return
	}
	if ctx.Err() != nil {
		// The write deadline was set to stop a blocked send; lift it for
		// the markers.
		_ = s.conn.SetWriteDeadline(time.Time{})
	}
	var b [udpcast.HeaderLen]byte
	// The markers are not data: what they cost is not counted.
	dg, e, errs, unreach := s.res.Datagrams, s.res.Bytes, s.res.Errors, s.res.Unreachable
	for i := range n {
		udpcast.Header{RunID: s.opts.RunID, Seq: s.res.Sent, SentNS: time.Now().UnixNano(), Flags: udpcast.FlagEnd}.Put(b[:])
		s.msgs[0].Buffers[0] = b[:]
		s.write(s.msgs[:1])
		if i < n-1 {
			// Growing gaps (1, 10, 100 ms...): a receiver whose socket
			// overflowed has drained it by the later markers.
			time.Sleep(time.Millisecond * time.Duration(pow10(i)))
		}
	}
	s.res.Datagrams, s.res.Bytes, s.res.Errors, s.res.Unreachable = dg, e, errs, unreach
	if s.rc != nil && s.dst == nil {
		// An ICMP error that came back for the last datagrams waits on
		// the socket: collect it.
		_ = s.rc.Control(func(fd uintptr) {
			if v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR); err == nil && syscall.Errno(v) == syscall.ECONNREFUSED {
				s.res.PortUnreachable = true
			}
		})
	}
}
