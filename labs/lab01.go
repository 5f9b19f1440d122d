package labs

import (
	"context"
	"fmt"
	"strconv"

	"github.com/wiredojo/wiredojo/capture"
)

func runHandshake(ctx context.Context, env *Env) error {
	return env.sandboxed().runAll(ctx, []command{cmd("", "chat", "serve", "--addr", env.Addr("127.0.0.1:7071"), "--store", "memory")})
}

type tcpSeg struct {
	l   capture.Layer
	src string // "ip:port"
}

// handshake is what one connection of the capture shows.
type handshake struct {
	clientISN, serverISN uint32
	teardown             int // segments from the first FIN to the end of the connection
}

func checkHandshake(ctx context.Context, env *Env) Result {
	pkts, err := readCapture(ctx, env, "handshake.pcap", "capture port 7071 into it while `lab run 1` runs and you connect (see `lab show 1`)")
	if err != nil {
		return Fail("handshake.pcap", err.Error())
	}
	port := uint16(atoiOr(portOf(env.Addr("127.0.0.1:7071")), 7071))
	streams := map[int][]tcpSeg{}
	var order []int
	for _, p := range pkts {
		l := p.Find(capture.ProtoTCP)
		if l == nil || (l.DstPort != port && l.SrcPort != port) {
			continue
		}
		if _, ok := streams[l.Stream]; !ok {
			order = append(order, l.Stream)
		}
		streams[l.Stream] = append(streams[l.Stream], tcpSeg{l: *l, src: fmt.Sprintf("%s:%d", ipOf(p), l.SrcPort)})
	}
	if len(streams) == 0 {
		return Fail("a connection to the lab's port", fmt.Sprintf("the capture has no TCP segment to or from port %d: start the capture, then connect while `lab run 1` runs", port))
	}
	var best Result
	var found []handshake
	for _, s := range order {
		r, h := judgeConnection(streams[s], port)
		if r.Passed {
			found = append(found, h)
		}
		if !r.Passed && (best.Items == nil || len(r.Items) > len(best.Items)) {
			best = r
		}
	}
	if len(found) == 0 {
		return best
	}
	var res Result
	res.Add("a complete connection: handshake and teardown", true, "")
	answers, err := readAnswers(env, "answers.txt", "write your client ISN, server ISN and teardown segments there (step 7 of `lab show 1`)")
	if err != nil {
		res.Add("your answers", false, err.Error())
		return res
	}
	// The answers must all describe one connection of the capture.
	var clients, servers, teardowns []string
	for _, h := range found {
		if answers["client isn"] == strconv.FormatUint(uint64(h.clientISN), 10) {
			clients = append(clients, answers["client isn"])
			servers = append(servers, strconv.FormatUint(uint64(h.serverISN), 10))
			teardowns = append(teardowns, strconv.Itoa(h.teardown))
		}
	}
	if clients == nil {
		h := found[0]
		clients = []string{strconv.FormatUint(uint64(h.clientISN), 10)}
		servers = []string{strconv.FormatUint(uint64(h.serverISN), 10)}
		teardowns = []string{strconv.Itoa(h.teardown)}
	}
	answerItem(&res, answers, "client isn", "the client's ISN", clients,
		"it is the raw seq of the SYN (`[S]`, client to port 7071), not the relative 0")
	answerItem(&res, answers, "server isn", "the server's ISN", servers,
		"it is the raw seq of the SYN-ACK (`[S.]`) of the same connection")
	answerItem(&res, answers, "teardown segments", "the segments of the teardown", teardowns,
		"count from the first segment with F in its flags to the last ACK of that connection; a FIN and an ACK in one segment ([F.]) count once")
	return res
}

// judgeConnection checks one TCP connection: the handshake with matching
// numbers, then a FIN from both sides.
func judgeConnection(segs []tcpSeg, port uint16) (Result, handshake) {
	var res Result
	var h handshake
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
		return res, h
	}
	res.Add("SYN-ACK from the server acknowledging the SYN", s2 != nil && s2.Ack == s1.Seq+1, "no SYN-ACK with ack = client ISN + 1")
	if s2 == nil {
		return res, h
	}
	res.Add("ACK from the client acknowledging the SYN-ACK", s3 != nil && s3.Ack == s2.Seq+1, "no ACK with ack = server ISN + 1")
	h.clientISN, h.serverISN = s1.Seq, s2.Seq
	finClient, finServer, first := false, false, -1
	for i, s := range segs {
		if s.l.Flags&fin != 0 {
			if first < 0 {
				first = i
			}
			if s.l.DstPort == port {
				finClient = true
			} else {
				finServer = true
			}
		}
	}
	if first >= 0 {
		h.teardown = len(segs) - first
	}
	res.Add("FIN from both sides (teardown)", finClient && finServer, "the capture does not hold a FIN from each side: stop the capture only after the client has disconnected")
	return res, h
}

func ipOf(p *capture.Packet) string {
	for _, l := range p.Layers {
		if l.Proto == capture.ProtoIPv4 || l.Proto == capture.ProtoIPv6 {
			return l.SrcIP.String()
		}
	}
	return "?"
}
