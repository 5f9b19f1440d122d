package tcpchat

import (
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// peekWebSocketPath reports whether the request whose first 5 bytes
// ("GET /") sniff read goes on with WebSocketPath's rest ("ws" and a
// space or a query), by looking at the socket's next bytes without taking
// them (MSG_PEEK) and without waiting: false sends the request through
// net/http, as before, when they have not arrived yet or the connection
// is not a plain socket.
func peekWebSocketPath(nc net.Conn) bool {
	rc := rawConnOf(nc)
	if rc == nil {
		return false
	}
	var b [3]byte
	n := 0
	if rc.Control(func(fd uintptr) {
		// recvfrom without an address: unix.Recvfrom allocates one (112
		// bytes) for every call.
		r, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
		if errno == 0 {
			n = int(r)
		}
	}) != nil {
		return false
	}
	return n == len(b) && string(b[:2]) == WebSocketPath[1:] && (b[2] == ' ' || b[2] == '?')
}
