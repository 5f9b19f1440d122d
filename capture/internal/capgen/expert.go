package main

import (
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// expert writes a small capture of a framed chat connection that goes
// wrong in every way TCP analysis names: a lost segment, an out-of-order
// one, a retransmission, duplicate ACKs, a zero window and a reset. Built,
// not captured: this machine has no netem to make the kernel misbehave.
func expert(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: capgen expert FILE")
	}
	w, err := createPcap(args[0], 65535, true)
	if err != nil {
		return err
	}
	defer w.close()
	ts := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	cli, srv := net.IPv4(10, 0, 0, 1).To4(), net.IPv4(10, 0, 0, 2).To4()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	id := uint16(1)
	pkt := func(after time.Duration, fromClient bool, seq, ack uint32, flags string, win uint16, payload []byte) error {
		ts = ts.Add(after)
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cli, DstIP: srv, Id: id, Flags: layers.IPv4DontFragment}
		id++
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 7070, Seq: seq, Ack: ack, Window: win}
		e := *eth
		if !fromClient {
			ip.SrcIP, ip.DstIP = srv, cli
			tcp.SrcPort, tcp.DstPort = 7070, 40000
			e.SrcMAC, e.DstMAC = eth.DstMAC, eth.SrcMAC
		}
		setFlags(tcp, flags)
		tcp.SetNetworkLayerForChecksum(ip)
		return w.frame(ts, &e, ip, tcp, gopacket.Payload(payload))
	}
	ev := func(text string) []byte {
		p := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: json.RawMessage(`["` + text + `"]`)}
		return framing.AppendFrame(nil, p.AppendTo(nil))
	}
	first := append(append([]byte(nil), wire.Preamble...), ev("first")...)
	second := ev("second, sent in two pieces that arrive in the wrong order")
	c, s := uint32(1000), uint32(5000)
	half := 20
	c1 := c + 1 + uint32(len(first))
	c2 := c1 + uint32(len(second))
	ms := time.Millisecond
	steps := []func() error{
		func() error { return pkt(0, true, c, 0, "S", 64240, nil) },
		func() error { return pkt(ms, false, s, c+1, "SA", 65160, nil) },
		func() error { return pkt(ms, true, c+1, s+1, "A", 502, nil) },
		func() error { return pkt(ms, true, c+1, s+1, "PA", 502, first) },
		func() error { return pkt(ms, false, s+1, c1, "A", 509, nil) },
		// the tail of the second event first: a hole
		func() error { return pkt(ms, true, c1+uint32(half), s+1, "PA", 502, second[half:]) },
		// its head right after: out of order, it completes the event
		func() error { return pkt(ms/2, true, c1, s+1, "PA", 502, second[:half]) },
		func() error { return pkt(ms, false, s+1, c2, "A", 509, nil) },
		// the head again much later: a retransmission
		func() error { return pkt(300*ms, true, c1, s+1, "PA", 502, second[:half]) },
		// the server says it again: duplicate ACKs
		func() error { return pkt(ms, false, s+1, c2, "A", 509, nil) },
		func() error { return pkt(ms, false, s+1, c2, "A", 509, nil) },
		// then it has no room left
		func() error { return pkt(ms, false, s+1, c2, "A", 0, nil) },
		func() error { return pkt(ms, true, c2, s+1, "R", 0, nil) },
	}
	for _, st := range steps {
		if err := st(); err != nil {
			return err
		}
	}
	return w.close()
}
