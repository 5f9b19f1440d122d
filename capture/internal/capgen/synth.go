package main

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
	"github.com/wiredojo/wiredojo/udpcast"
)

// synth writes a pcap of N packets of chat traffic for benchmarks: many
// connections at once, half framed TCP and half WebSocket, each client
// event answered by the server and acknowledged, plus wiredojo-udp
// datagrams. The traffic is built, not captured, so any N is quick.
func synth(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: capgen synth N FILE")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	w, err := createPcap(args[1], 65535, false)
	if err != nil {
		return err
	}
	defer w.close()
	ts := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	written := 0
	emit := func(ls ...gopacket.SerializableLayer) error {
		ts = ts.Add(20 * time.Microsecond)
		written++
		return w.frame(ts, ls...)
	}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	type conn struct {
		cport      uint16
		cseq, sseq uint32
		ws         bool
	}
	const conns = 64
	cs := make([]conn, conns)
	srv := net.IPv4(127, 0, 0, 1).To4()
	cli := net.IPv4(127, 0, 0, 2).To4()
	seg := func(c *conn, fromClient bool, flags string, payload []byte) error {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cli, DstIP: srv, Flags: layers.IPv4DontFragment}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(c.cport), DstPort: 7070, Seq: c.cseq, Ack: c.sseq, Window: 512}
		if !fromClient {
			ip.SrcIP, ip.DstIP = srv, cli
			tcp.SrcPort, tcp.DstPort = 7070, layers.TCPPort(c.cport)
			tcp.Seq, tcp.Ack = c.sseq, c.cseq
		}
		setFlags(tcp, flags)
		tcp.SetNetworkLayerForChecksum(ip)
		if err := emit(eth, ip, tcp, gopacket.Payload(payload)); err != nil {
			return err
		}
		adv := uint32(len(payload))
		if tcp.SYN {
			adv++
		}
		if fromClient {
			c.cseq += adv
		} else {
			c.sseq += adv
		}
		return nil
	}
	for i := range cs {
		c := &cs[i]
		c.cport, c.cseq, c.sseq, c.ws = uint16(40000+i), uint32(i)*1000003, uint32(i)*7919, i%2 == 1
		if err := seg(c, true, "S", nil); err != nil {
			return err
		}
		if err := seg(c, false, "SA", nil); err != nil {
			return err
		}
		if err := seg(c, true, "A", nil); err != nil {
			return err
		}
		if c.ws {
			req := "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:7070\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
			resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
			if err := seg(c, true, "PA", []byte(req)); err != nil {
				return err
			}
			if err := seg(c, false, "PA", []byte(resp)); err != nil {
				return err
			}
		} else if err := seg(c, true, "PA", wire.Preamble); err != nil {
			return err
		}
	}
	args2 := json.RawMessage(`[{"from":"ana","text":"hello room, how is everyone today?"}]`)
	udpSeq := uint64(0)
	for i := 0; written < n; i++ {
		c := &cs[i%conns]
		ev := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: args2, HasAck: true, AckID: uint32(i)}
		ack := wire.Packet{Type: wire.TypeAck, Namespace: "/chat", AckID: uint32(i), Args: json.RawMessage(`["ok"]`)}
		var up, down []byte
		if c.ws {
			up = ws.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpBinary, Masked: true, Mask: [4]byte{1, 2, 3, byte(i)}}, ev.AppendTo(nil))
			down = ws.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpBinary}, ack.AppendTo(nil))
		} else {
			up = framing.AppendFrame(nil, ev.AppendTo(nil))
			down = framing.AppendFrame(nil, ack.AppendTo(nil))
		}
		if err := seg(c, true, "PA", up); err != nil {
			return err
		}
		if err := seg(c, false, "PA", down); err != nil {
			return err
		}
		if err := seg(c, true, "A", nil); err != nil {
			return err
		}
		if i%8 == 0 {
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: cli, DstIP: srv}
			u := &layers.UDP{SrcPort: 50000, DstPort: 9999}
			u.SetNetworkLayerForChecksum(ip)
			d := udpcast.Header{RunID: 7, Seq: udpSeq, SentNS: ts.UnixNano()}.AppendTo(nil)
			udpSeq++
			if err := emit(eth, ip, u, gopacket.Payload(append(d, make([]byte, 100)...))); err != nil {
				return err
			}
		}
	}
	return w.close()
}
