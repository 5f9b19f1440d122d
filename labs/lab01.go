package labs

import (
	"context"
	"fmt"

	"github.com/wiredojo/wiredojo/capture"
)

func runHandshake(ctx context.Context, env *Env) error {
	addr := env.Addr("127.0.0.1:7071")
	cmds := []command{cmd("", "chat", "serve", "--addr", addr, "--store", "memory")}
	if c, why := liveCapture(env, portOf(addr), "handshake.pcap"); c != nil {
		cmds = append(cmds, *c)
	} else {
		fmt.Fprintln(env.Out, why)
	}
	return env.runAll(ctx, cmds)
}

type tcpSeg struct {
	l   capture.Layer
	src string // "ip:port"
}

func checkHandshake(ctx context.Context, env *Env) Result {
	pkts, err := readCapture(ctx, env, "handshake.pcap", "run `wiredojo lab run 1` (as root) and connect while it runs")
	if err != nil {
		return Fail("handshake.pcap", err.Error())
	}
	port := uint16(atoiOr(portOf(env.Addr("127.0.0.1:7071")), 7071))
	streams := map[int][]tcpSeg{}
	for _, p := range pkts {
		l := p.Find(capture.ProtoTCP)
		if l == nil || (l.DstPort != port && l.SrcPort != port) {
			continue
		}
		ip := ipOf(p)
		streams[l.Stream] = append(streams[l.Stream], tcpSeg{l: *l, src: fmt.Sprintf("%s:%d", ip, l.SrcPort)})
	}
	if len(streams) == 0 {
		return Fail("a connection to the lab's port", fmt.Sprintf("the capture has no TCP segment to or from port %d: connect while `lab run 1` runs", port))
	}
	best := Result{}
	for _, segs := range streams {
		r := judgeConnection(segs, port)
		if r.Passed {
			return r
		}
		if len(r.Items) > len(best.Items) || best.Items == nil {
			best = r
		}
	}
	return best
}

// judgeConnection checks one TCP connection: the handshake with matching
// numbers, then a FIN from both sides.
func judgeConnection(segs []tcpSeg, port uint16) Result {
	var res Result
	const syn, ack, fin = capture.FlagSYN, capture.FlagACK, capture.FlagFIN
	var s1, s2, s3 *capture.Layer
	for i := range segs {
		l := &segs[i].l
		switch {
		case s1 == nil && l.Flags&(syn|ack) == syn && l.DstPort == port:
			s1 = l
		case s1 != nil && s2 == nil && l.Flags&(syn|ack) == syn|ack && l.SrcPort == port:
			s2 = l
		case s2 != nil && s3 == nil && l.Flags&(syn|ack) == ack && l.DstPort == port:
			s3 = l
		}
	}
	res.Add("SYN from the client", s1 != nil, "no SYN to the server's port: was the capture running before you connected?")
	if s1 == nil {
		return res
	}
	res.Add("SYN-ACK from the server acknowledging the SYN", s2 != nil && s2.Ack == s1.Seq+1, "no SYN-ACK with ack = client ISN + 1")
	if s2 == nil {
		return res
	}
	res.Add("ACK from the client acknowledging the SYN-ACK", s3 != nil && s3.Ack == s2.Seq+1, "no ACK with ack = server ISN + 1")
	finClient, finServer := false, false
	for _, s := range segs {
		if s.l.Flags&fin != 0 {
			if s.l.DstPort == port {
				finClient = true
			} else {
				finServer = true
			}
		}
	}
	res.Add("FIN from both sides (teardown)", finClient && finServer, "the capture does not hold a FIN from each side: stop `lab run 1` only after the client has disconnected")
	return res
}

func ipOf(p *capture.Packet) string {
	for _, l := range p.Layers {
		if l.Proto == capture.ProtoIPv4 || l.Proto == capture.ProtoIPv6 {
			return l.SrcIP.String()
		}
	}
	return "?"
}
