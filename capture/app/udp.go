package app

import (
	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/udpcast"
)

// UDP appends a wiredojo-udp layer to pkt when payload is a wiredojo-udp
// datagram, and reports whether it was one. start is the payload's offset in
// the packet (for the hex view).
func UDP(payload []byte, pkt *capture.Packet, start int) bool {
	if !udpcast.IsDatagram(payload) {
		return false
	}
	h, rest, err := udpcast.DecodeHeader(payload)
	if err != nil {
		return false
	}
	l := pkt.AddLayer(capture.ProtoUDPCast)
	l.Start, l.End = start, start+len(payload)
	l.Number = h.Seq
	l.TimeNanos = h.SentNS
	l.RunID = h.RunID
	l.Response = h.End()
	l.PayloadLen = len(rest)
	l.Len = len(payload)
	return true
}
