package compare

import (
	"net"

	"github.com/wiredojo/wiredojo/udpcast/link"
)

// path opens the sockets of one comparison: receivers on side B, senders on
// side A.
type path interface {
	listenTCP() (net.Listener, error)
	dialTCP(addr string, d *net.Dialer) (net.Conn, error)
	listenUDP() (*net.UDPConn, error)
	senderUDP() (net.PacketConn, error)
}

// loopPath is loopback in this namespace.
type loopPath struct{}

func (loopPath) listenTCP() (net.Listener, error) { return net.Listen("tcp4", "127.0.0.1:0") }
func (loopPath) dialTCP(addr string, d *net.Dialer) (net.Conn, error) {
	return d.Dial("tcp4", addr)
}
func (loopPath) listenUDP() (*net.UDPConn, error) {
	return net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
}
func (loopPath) senderUDP() (net.PacketConn, error) { return net.ListenPacket("udp4", "127.0.0.1:0") }

// netnsPath is the impaired link: side B listens, side A sends.
type netnsPath struct{ l *link.Link }

func (p netnsPath) listenTCP() (ln net.Listener, err error) {
	err = p.l.Do(link.SideB, func() error {
		ln, err = net.Listen("tcp4", p.l.AddrB().String()+":0")
		return err
	})
	return ln, err
}

func (p netnsPath) dialTCP(addr string, d *net.Dialer) (c net.Conn, err error) {
	err = p.l.Do(link.SideA, func() error {
		c, err = d.Dial("tcp4", addr)
		return err
	})
	return c, err
}

func (p netnsPath) listenUDP() (c *net.UDPConn, err error) {
	err = p.l.Do(link.SideB, func() error {
		c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: p.l.AddrB().AsSlice()})
		return err
	})
	return c, err
}

func (p netnsPath) senderUDP() (c net.PacketConn, err error) {
	err = p.l.Do(link.SideA, func() error {
		c, err = net.ListenPacket("udp4", p.l.AddrA().String()+":0")
		return err
	})
	return c, err
}
