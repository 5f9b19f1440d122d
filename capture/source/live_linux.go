//go:build linux

package source

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// packetOutgoing is the kernel's PACKET_OUTGOING packet type.
const packetOutgoing = 4

// Live captures from a network interface through an AF_PACKET socket.
type Live struct {
	iface   string
	h       *pcapgo.EthernetHandle
	snaplen int
	stop    context.CancelFunc
	done    chan struct{}
	ctx     context.Context

	// The "any" pseudo-interface: a cooked socket on every interface;
	// packets get a Linux SLL2 header (what libpcap writes for -i any).
	anyFD int
	buf   []byte
}

// AnyInterface is the pseudo-interface that captures on every interface
// at once (packets with Linux SLL2 headers instead of their link headers).
const AnyInterface = "any"

// LiveOptions configure OpenLive.
type LiveOptions struct {
	// Snaplen is the most bytes kept per packet; 0 means the full packet
	// (256 KiB), never cut to the interface MTU.
	Snaplen int
	// Filter is a classic BPF program run in the kernel; nil keeps all.
	Filter []bpf.RawInstruction
}

// OpenLive starts capturing on iface. On a loopback interface the outgoing
// copy of each packet is dropped in the kernel, so each packet is seen once.
// Cancelling ctx ends the capture: Next returns io.EOF. Close releases the
// socket.
func OpenLive(ctx context.Context, iface string, opt LiveOptions) (*Live, error) {
	if iface == AnyInterface {
		return openAny(ctx, opt)
	}
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("capture: no interface %q (see `ip link`): %w", iface, err)
	}
	// pcapgo reports socket errors as text; probe first so a missing
	// privilege gets the error the user can act on.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("permission denied opening %s: %w", iface, ErrPermission)
		}
		return nil, fmt.Errorf("capture: opening %s: %w", iface, err)
	}
	unix.Close(fd)
	h, err := pcapgo.NewEthernetHandle(iface)
	if err != nil {
		return nil, fmt.Errorf("capture: opening %s: %w", iface, err)
	}
	snaplen := opt.Snaplen
	if snaplen <= 0 || snaplen > MaxSnaplen {
		snaplen = MaxSnaplen
	}
	if err := h.SetCaptureLength(snaplen); err != nil {
		h.Close()
		return nil, fmt.Errorf("capture: %s: %w", iface, err)
	}
	prog := opt.Filter
	if ifc.Flags&net.FlagLoopback != 0 {
		prog, err = dropOutgoing(prog, snaplen)
		if err != nil {
			h.Close()
			return nil, err
		}
	}
	if len(prog) > 0 {
		if err := h.SetBPF(prog); err != nil {
			h.Close()
			return nil, fmt.Errorf("capture: attaching the filter to %s: %w", iface, err)
		}
	}
	ctx, stop := context.WithCancel(ctx)
	l := &Live{iface: iface, h: h, snaplen: snaplen, stop: stop, done: make(chan struct{}), ctx: ctx}
	// The closer owns the end of the socket: it closes it when ctx ends,
	// which wakes a blocked Next.
	go func() {
		defer close(l.done)
		<-ctx.Done()
		l.h.Close()
	}()
	return l, nil
}

// dropOutgoing prefixes prog with "reject PACKET_OUTGOING".
func dropOutgoing(prog []bpf.RawInstruction, snaplen int) ([]bpf.RawInstruction, error) {
	pre := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: packetOutgoing, SkipTrue: 0, SkipFalse: 1},
		bpf.RetConstant{Val: 0},
	}
	if len(prog) == 0 {
		pre = append(pre, bpf.RetConstant{Val: uint32(snaplen)})
	}
	raw, err := bpf.Assemble(pre)
	if err != nil {
		return nil, fmt.Errorf("capture: loopback filter: %w", err)
	}
	return append(raw, prog...), nil
}

// openAny opens a cooked packet socket on every interface. The kernel
// filter (written for Ethernet) does not apply to it: filter with Match
// on the SLL2 packets instead.
func openAny(ctx context.Context, opt LiveOptions) (*Live, error) {
	if len(opt.Filter) > 0 {
		return nil, fmt.Errorf("capture: %w", ErrAnyKernelFilter)
	}
	proto := int(htons(unix.ETH_P_ALL))
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("permission denied opening %s: %w", AnyInterface, ErrPermission)
		}
		return nil, fmt.Errorf("capture: opening %s: %w", AnyInterface, err)
	}
	// Next wakes up this often to see whether the capture was stopped.
	tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("capture: %s: %w", AnyInterface, err)
	}
	snaplen := opt.Snaplen
	if snaplen <= 0 || snaplen > MaxSnaplen {
		snaplen = MaxSnaplen
	}
	ctx, stop := context.WithCancel(ctx)
	l := &Live{iface: AnyInterface, snaplen: snaplen, stop: stop, done: make(chan struct{}), ctx: ctx,
		anyFD: fd, buf: make([]byte, sll2Len+snaplen)}
	close(l.done) // no closer: Next returns within 100 ms of the end, Close closes the socket
	return l, nil
}

// sll2Len is the length of a Linux SLL2 header.
const sll2Len = 20

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// nextAny reads one packet from the cooked socket and puts an SLL2 header
// before it: protocol, reserved, interface index, ARPHRD type, packet
// type, address length, address.
func (l *Live) nextAny() ([]byte, Info, error) {
	for {
		if l.ctx.Err() != nil {
			return nil, Info{}, errEOF
		}
		n, from, err := unix.Recvfrom(l.anyFD, l.buf[sll2Len:], unix.MSG_TRUNC)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			if l.ctx.Err() != nil {
				return nil, Info{}, errEOF
			}
			return nil, Info{}, fmt.Errorf("capture: reading %s: %w", l.iface, err)
		}
		ts := time.Now().UTC()
		sa, ok := from.(*unix.SockaddrLinklayer)
		if !ok {
			continue
		}
		h := l.buf[:sll2Len]
		binary.NativeEndian.PutUint16(h[0:], sa.Protocol) // already in network order
		h[2], h[3] = 0, 0
		binary.BigEndian.PutUint32(h[4:], uint32(sa.Ifindex))
		binary.BigEndian.PutUint16(h[8:], sa.Hatype)
		h[10] = sa.Pkttype
		h[11] = sa.Halen
		copy(h[12:20], sa.Addr[:])
		capLen := min(n, len(l.buf)-sll2Len)
		return l.buf[:sll2Len+capLen], Info{Timestamp: ts, CapLen: sll2Len + capLen, WireLen: sll2Len + n, IfIndex: 0}, nil
	}
}

// Next returns the next packet, or io.EOF once the context is done.
func (l *Live) Next() ([]byte, Info, error) {
	if l.anyFD > 0 {
		return l.nextAny()
	}
	if l.ctx.Err() != nil {
		return nil, Info{}, errEOF
	}
	data, ci, err := l.h.ZeroCopyReadPacketData()
	if err != nil {
		if l.ctx.Err() != nil {
			return nil, Info{}, errEOF
		}
		return nil, Info{}, fmt.Errorf("capture: reading %s: %w", l.iface, err)
	}
	return data, Info{Timestamp: ci.Timestamp.UTC(), CapLen: ci.CaptureLength, WireLen: ci.Length, IfIndex: ci.InterfaceIndex}, nil
}

// LinkType is Ethernet: the packet socket gives Ethernet headers, a zeroed
// one on loopback; Linux SLL2 on the "any" pseudo-interface.
func (l *Live) LinkType(int) layers.LinkType {
	if l.anyFD > 0 {
		return layers.LinkTypeLinuxSLL2
	}
	return layers.LinkTypeEthernet
}

// Snaplen is the capture length in use.
func (l *Live) Snaplen() int { return l.snaplen }

// Close stops the capture and waits for the socket to be closed.
func (l *Live) Close() error {
	l.stop()
	<-l.done
	if l.anyFD > 0 {
		unix.Close(l.anyFD)
		l.anyFD = -1
	}
	return nil
}
