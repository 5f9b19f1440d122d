//go:build linux

package udpio

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setRecvOptions turns on kernel receive timestamps and drop counters and
// enlarges the receive buffer (best effort, as root past rmem_max). It also
// asks for each datagram's destination address (IP_PKTINFO), best effort
// too: an IPv6 socket has no IPv4 option (its datagrams' destinations then
// count as unknown).
func setRecvOptions(rc syscall.RawConn, rcvbuf int) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		if rcvbuf > 0 {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
				_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
			}
		}
		if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); e != nil {
			serr = e
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// setSendOptions enables broadcast when asked and enlarges the send buffer.
func setSendOptions(rc syscall.RawConn, broadcast bool, sndbuf int) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		if sndbuf > 0 {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sndbuf) != nil {
				_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, sndbuf)
			}
		}
		// Go turns SO_BROADCAST on for every UDP socket; we leave it on
		// only when asked, so sending to a broadcast address is a choice,
		// as the kernel's socket API intends.
		v := 0
		if broadcast {
			v = 1
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, v)
	})
	if err != nil {
		return err
	}
	return serr
}

// oobSpace is the control-message room per datagram: a timespec, a drop
// counter, a GRO segment size and an in_pktinfo, with headers and
// alignment.
var oobSpace = unix.CmsgSpace(16) + unix.CmsgSpace(4) + unix.CmsgSpace(4) + unix.CmsgSpace(unix.SizeofInet4Pktinfo)

// oobInfo is what parseOOB found in one datagram's control messages.
type oobInfo struct {
	tsNS      int64  // kernel receive time, Unix ns (0 if absent)
	drops     uint32 // the socket's cumulative drop counter
	haveDrops bool
	groSize   int     // GRO segment size (0 if not coalesced)
	dst       [4]byte // the IPv4 header's destination address (IP_PKTINFO)
	haveDst   bool
}

// enableGRO asks the kernel to coalesce datagrams of one flow into one
// buffer (UDP_GRO); it reports whether the kernel agreed.
func enableGRO(rc syscall.RawConn) bool {
	ok := false
	_ = rc.Control(func(fd uintptr) {
		ok = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_GRO, 1) == nil
	})
	return ok
}

// setGSO sets the socket's UDP segment size (UDP_SEGMENT): a write of n
// bytes leaves as datagrams of size bytes, segmented by the kernel (or the
// device). 0 turns it off. It reports whether the kernel agreed.
func setGSO(rc syscall.RawConn, size int) bool {
	ok := false
	_ = rc.Control(func(fd uintptr) {
		ok = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_SEGMENT, size) == nil
	})
	return ok
}

// parseOOB reads the receive timestamp, the socket's cumulative drop
// counter, the GRO segment size and the destination address from control
// messages, without allocating.
func parseOOB(b []byte) (o oobInfo) {
	const hdr = unix.SizeofCmsghdr
	for len(b) >= hdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		l := int(h.Len)
		if l < hdr || l > len(b) {
			return
		}
		data := b[unix.CmsgLen(0):l]
		switch {
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= 16:
			sec := int64(binary.NativeEndian.Uint64(data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
			o.tsNS = sec*1e9 + nsec
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && len(data) >= 4:
			o.drops, o.haveDrops = binary.NativeEndian.Uint32(data[0:4]), true
		case h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && len(data) >= 4:
			o.groSize = int(binary.NativeEndian.Uint32(data[0:4]))
		case h.Level == unix.IPPROTO_IP && h.Type == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			// struct in_pktinfo: ifindex, spec_dst (the local address
			// that would answer), addr (the header's destination).
			o.dst, o.haveDst = [4]byte(data[8:12]), true
		}
		next := unix.CmsgSpace(l - unix.CmsgLen(0))
		if next > len(b) {
			return
		}
		b = b[next:]
	}
	return
}

// mmsgReader reads batches of datagrams with recvmmsg(2) into buffers it
// owns, with their source addresses and control messages, allocating
// nothing per call.
type mmsgReader struct {
	rc    syscall.RawConn
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6
	bufs  [][]byte
	oobs  [][]byte
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

func newMmsgReader(rc syscall.RawConn, batch, size int) *mmsgReader {
	r := &mmsgReader{
		rc:    rc,
		hdrs:  make([]unix.Mmsghdr, batch),
		iovs:  make([]unix.Iovec, batch),
		names: make([]unix.RawSockaddrInet6, batch),
		bufs:  make([][]byte, batch),
		oobs:  make([][]byte, batch),
	}
	for i := range batch {
		r.bufs[i] = make([]byte, size)
		r.oobs[i] = make([]byte, oobSpace)
	}
	r.fn = r.recv
	return r
}

func (r *mmsgReader) reset() {
	for i := range r.hdrs {
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(len(r.bufs[i]))
		h := &r.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Namelen = unix.SizeofSockaddrInet6
		h.Iov = &r.iovs[i]
		h.Iovlen = 1
		h.Control = &r.oobs[i][0]
		h.SetControllen(len(r.oobs[i]))
		h.Flags = 0
		r.hdrs[i].Len = 0
	}
}

func (r *mmsgReader) recv(fd uintptr) bool {
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(len(r.hdrs)), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	r.n, r.errno = int(n), e
	return true
}

// read blocks (honouring the conn's read deadline) until at least one
// datagram is available and returns how many were read.
func (r *mmsgReader) read() (int, error) {
	r.reset()
	r.n, r.errno = 0, 0
	if err := r.rc.Read(r.fn); err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, r.errno
	}
	return r.n, nil
}

// datagram returns message i: payload, truncated flag, control bytes and
// source address bytes.
func (r *mmsgReader) datagram(i int) (data []byte, truncated bool, oob []byte, src addrBytes) {
	h := &r.hdrs[i]
	data = r.bufs[i][:h.Len]
	truncated = h.Hdr.Flags&unix.MSG_TRUNC != 0
	oob = r.oobs[i][:h.Hdr.Controllen]
	nm := &r.names[i]
	switch nm.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(nm))
		src.v4 = true
		copy(src.ip[:4], sa.Addr[:])
		src.port = binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	case unix.AF_INET6:
		copy(src.ip[:], nm.Addr[:])
		src.port = binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&nm.Port))[:])
	}
	return
}

type addrBytes struct {
	ip   [16]byte
	v4   bool
	port uint16
}
