//go:build linux

package udpio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openAddrs opens a route netlink socket in this thread's network
// namespace (the one Listen runs in): its dumps give that namespace's
// addresses whichever thread reads them later.
func openAddrs() (*os.File, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("udpio: netlink: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("udpio: netlink: %w", err)
	}
	return os.NewFile(uintptr(fd), "netlink"), nil
}

// readAddrs dumps the IPv4 addresses of the namespace of f (from
// openAddrs) and returns bcast and local with, appended, the broadcast
// address of every subnet (127.255.255.255 on loopback, for one; /31 and
// /32 have none) and every address of the interfaces.
func readAddrs(f *os.File, seq uint32, bcast, local [][4]byte) ([][4]byte, [][4]byte, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return bcast, local, err
	}
	var rerr error
	err = rc.Control(func(fd uintptr) {
		req := make([]byte, unix.SizeofNlMsghdr+unix.SizeofIfAddrmsg)
		binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
		binary.NativeEndian.PutUint16(req[4:], unix.RTM_GETADDR)
		binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
		binary.NativeEndian.PutUint32(req[8:], seq)
		req[unix.SizeofNlMsghdr] = unix.AF_INET // ifaddrmsg.ifa_family
		if rerr = unix.Sendto(int(fd), req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); rerr != nil {
			return
		}
		buf := make([]byte, 1<<15)
		for {
			n, _, err := unix.Recvfrom(int(fd), buf, 0)
			if err != nil {
				rerr = err
				return
			}
			msgs, err := syscall.ParseNetlinkMessage(buf[:n])
			if err != nil {
				rerr = err
				return
			}
			for i := range msgs {
				m := &msgs[i]
				if m.Header.Seq != seq {
					continue // the end of an earlier dump
				}
				switch m.Header.Type {
				case unix.NLMSG_DONE:
					return
				case unix.NLMSG_ERROR:
					rerr = errors.New("netlink: RTM_GETADDR failed")
					return
				case unix.RTM_NEWADDR:
					bcast, local = addrOf(m, bcast, local)
				}
			}
		}
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return bcast, local, fmt.Errorf("udpio: read the interfaces' addresses: %w", err)
	}
	return bcast, local, nil
}

// addrOf appends the address of an RTM_NEWADDR message to local and the
// broadcast address of its subnet to bcast.
func addrOf(m *syscall.NetlinkMessage, bcast, local [][4]byte) ([][4]byte, [][4]byte) {
	if len(m.Data) < unix.SizeofIfAddrmsg || m.Data[0] != unix.AF_INET {
		return bcast, local
	}
	ones := int(m.Data[1]) // ifa_prefixlen
	attrs, err := syscall.ParseNetlinkRouteAttr(m)
	if err != nil {
		return bcast, local
	}
	var addr [4]byte
	found := false
	for _, a := range attrs {
		// IFA_LOCAL is the interface's own address; IFA_ADDRESS is it too
		// but for a point-to-point link, where it is the peer's.
		if (a.Attr.Type == unix.IFA_LOCAL || a.Attr.Type == unix.IFA_ADDRESS && !found) && len(a.Value) == 4 {
			copy(addr[:], a.Value)
			found = true
		}
	}
	if !found {
		return bcast, local
	}
	local = append(local, addr)
	if ones < 31 {
		var b [4]byte
		mask := ^uint32(0) >> ones
		binary.BigEndian.PutUint32(b[:], binary.BigEndian.Uint32(addr[:])|mask)
		bcast = append(bcast, b)
	}
	return bcast, local
}
