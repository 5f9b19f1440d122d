// Package impair owns wiredojo's own "netem": a seeded impairment pipeline
// that decides, packet by packet, what a lossy network would do — loss
// (Bernoulli or Gilbert–Elliott), duplication, reordering, delay with
// jitter, a rate limit and a queue limit, in that order, as Linux netem
// applies them — with a counter per stage.
//
// It moves no packets itself: the caller pushes packets with the current
// time and pops those that are due. udpio's sender runs it before its
// socket, and udpcast/link runs it between two TUN devices, so UDP at the
// socket and real kernel TCP/UDP on the link see the same model. The same
// seed and the same sequence of pushes always give the same decisions, so a
// run can be repeated and injected loss checked against measured loss.
//
// A Pipeline is not safe for concurrent use; it starts no goroutines.
//
// Example:
//
//	p := impair.New(impair.Config{Loss: 0.05, Delay: 10 * time.Millisecond, Seed: 1})
//	p.Push(now, pkt)
//	for {
//		b, ok := p.Pop(now)
//		if !ok {
//			break
//		}
//		send(b)
//		p.Release(b)
//	}
//	next, ok := p.NextDue() // when to call Pop again
package impair
