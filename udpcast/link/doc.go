// Package link owns wiredojo's impaired link between two network
// namespaces: it creates namespaces "<name>-a" and "<name>-b", gives each a
// TUN device (10.77.0.1 in a, 10.77.0.2 in b by default, point to point),
// and relays every IP packet between the two devices through the
// udpcast/impair pipeline — one pipeline per direction — so real kernel TCP
// and UDP cross a lossy, delayed link without netem. TCP in both namespaces
// is pinned to cubic, and the TUN devices carry no offloads (no vnet header:
// the kernel segments and checksums in software before the relay sees a
// packet), so comparisons are fair. A wiredojo-udp data datagram's fate
// is a function of the seed and its sequence number alone
// (impair.Pipeline.PushKeyed), so the same seed drops the same datagrams run
// after run whatever else crosses the link; other packets (TCP, ICMP) draw
// from the pipeline's own sequence.
//
// It needs root (or CAP_NET_ADMIN; as root of a user namespace, inside
// internal/sandbox, is enough) and the iproute2 `ip` command; without them
// Up returns ErrPrivilege or ErrNoIP with what to do. It does not
// measure anything: programs on each side do (iperf3, udpio, compare).
//
// A Link's relay runs in two goroutines owned by the Link; Close stops them
// and removes both namespaces (the TUN devices go with them). Programs can
// run on a side with `ip netns exec <name>-a ...`; Go code can open sockets
// there with Link.Do.
//
// Example:
//
//	l, err := link.Up(ctx, link.Config{Name: "wd", AtoB: impair.Config{Loss: 0.05, Seed: 1}})
//	...
//	defer l.Close()
//	err = l.Do(link.SideB, func() error { ln, err = net.Listen("tcp", l.AddrB().String()+":5201"); return err })
package link
