// Package udpio owns wiredojo's UDP sender and receiver: sockets for
// unicast, broadcast and multicast (golang.org/x/net/ipv4), batch I/O
// (sendmmsg through ipv4.PacketConn.WriteBatch, recvmmsg), smooth pacing,
// the impairment pipeline of udpcast/impair before the socket, kernel
// receive timestamps and kernel drop counts (SO_RXQ_OVFL).
//
// It does not define the datagram format (package udpcast) nor the
// statistics (udpcast/stats); it feeds one to the other.
//
// Send runs in the calling goroutine and returns when the run is over. A
// Receiver is opened with Listen and run with Run in one goroutine; Run
// returns when its context ends, after Duration, after Count datagrams or
// once every sender has ended (UntilEnd). Neither starts goroutines.
//
// Example:
//
//	r, err := udpio.Listen(udpio.RecvOptions{Addr: "127.0.0.1:0", UntilEnd: true})
//	...
//	go func() { res, err = r.Run(ctx) }()
//	sent, err := udpio.Send(ctx, udpio.SendOptions{To: r.Addr().String(), Count: 1000, Size: 512,
//		Impair: impair.Config{Loss: 0.05, Seed: 1}})
package udpio
