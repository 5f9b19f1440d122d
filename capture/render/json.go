package render

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/capture/app"
)

// AppendJSON appends pkt as one line of the capture JSON of docs/ARCHITECTURE.md
// (field names and rules exactly as listed there), newline included.
// Among them: "truncated" (the snapshot length cut an IP
// datagram); TCP "window_size" (calculated), "window_scale" (once both SYNs
// agreed on one) and "options" (see appendOptionsJSON); IPv6 "frag_id",
// "frag_offset", "more_fragments" on fragments; ICMP "id"/"seq" (echo),
// "mtu", "target" (neighbour discovery) and "orig_dst", "orig_proto",
// "orig_dst_port" (what an error quotes); DNS "rcode", "rcode_name" and
// "records" (section, name, type, ttl, data) on responses; WebSocket
// "mask", "compressed", "close_code", "close_reason" and "message" (the
// whole text message, joined and inflated, on its last frame).
func AppendJSON(b []byte, pkt *capture.Packet) []byte {
	b = append(b, `{"no":`...)
	b = appendInt(b, int64(pkt.No))
	b = append(b, `,"ts":"`...)
	b = appendRFC3339(b, pkt.Timestamp)
	b = append(b, `","wire_len":`...)
	b = appendInt(b, int64(pkt.WireLen))
	b = append(b, `,"cap_len":`...)
	b = appendInt(b, int64(pkt.CapLen))
	b = append(b, `,"layers":[`...)
	for i := range pkt.Layers {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLayerJSON(b, &pkt.Layers[i])
	}
	b = append(b, ']')
	if len(pkt.Notes) > 0 {
		b = append(b, `,"notes":[`...)
		for i, n := range pkt.Notes {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, n.String()...)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	if pkt.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	if pkt.Err != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, pkt.Err)
	}
	return append(b, "}\n"...)
}

// appendRFC3339 writes t in UTC with microseconds, or nanoseconds when the
// timestamp has them.
func appendRFC3339(b []byte, t time.Time) []byte {
	sec, ns := t.Unix(), uint64(t.Nanosecond())
	if sec < 0 || sec >= 253402300800 { // before 1970 or after 9999
		layout := "2006-01-02T15:04:05.000000Z"
		if ns%1000 != 0 {
			layout = "2006-01-02T15:04:05.000000000Z"
		}
		return t.UTC().AppendFormat(b, layout)
	}
	// The civil date from the days since 1970 (H. Hinnant's
	// days_from_civil inverted), without time.Time's general calendar;
	// unsigned, so the divisions by constants need no sign fixes.
	days, sod := uint(sec)/86400, uint(sec)%86400
	h, mi, s := sod/3600, sod/60%60, sod%60
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	mo := mp + 3
	if mo > 12 {
		mo -= 12
	}
	y := yoe + era*400
	if mo <= 2 {
		y++
	}
	c, yy := y/100%100, y%100
	b = append(b, pairs[2*c], pairs[2*c+1], pairs[2*yy], pairs[2*yy+1], '-',
		pairs[2*mo], pairs[2*mo+1], '-', pairs[2*d], pairs[2*d+1], 'T',
		pairs[2*h], pairs[2*h+1], ':', pairs[2*mi], pairs[2*mi+1], ':', pairs[2*s], pairs[2*s+1], '.')
	if ns%1000 == 0 {
		b = appendDigits(b, ns/1000, 6)
	} else {
		b = appendDigits(b, ns, 9)
	}
	return append(b, 'Z')
}

// key appends k, a member's name with its punctuation: `,"name":`.
func key(b []byte, k string) []byte { return append(b, k...) }

func kInt(b []byte, k string, v int64) []byte    { return appendInt(key(b, k), v) }
func kUint(b []byte, k string, v uint64) []byte  { return appendUint(key(b, k), v) }
func kBool(b []byte, k string, v bool) []byte    { return strconv.AppendBool(key(b, k), v) }
func kStr(b []byte, k, v string) []byte          { return appendString(key(b, k), v) }
func kBytes(b []byte, k string, v []byte) []byte { return appendString(key(b, k), v) }

func kAddr(b []byte, k string, a capture.Addr) []byte {
	b = append(key(b, k), '"')
	if a.IsValid() {
		b = appendAddr(b, a)
	}
	return append(b, '"')
}

func kMAC(b []byte, k string, hw []byte) []byte {
	b = append(key(b, k), '"')
	b = appendMAC(b, hw)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendMAC appends hw as colon-separated hex pairs; an Ethernet address
// in one append.
func appendMAC(b []byte, hw []byte) []byte {
	if len(hw) == 6 {
		return append(b, hexDigits[hw[0]>>4], hexDigits[hw[0]&15], ':',
			hexDigits[hw[1]>>4], hexDigits[hw[1]&15], ':',
			hexDigits[hw[2]>>4], hexDigits[hw[2]&15], ':',
			hexDigits[hw[3]>>4], hexDigits[hw[3]&15], ':',
			hexDigits[hw[4]>>4], hexDigits[hw[4]&15], ':',
			hexDigits[hw[5]>>4], hexDigits[hw[5]&15])
	}
	for i, c := range hw {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
// Runs of bytes that need no escaping are copied at once.
func appendString[S string | []byte](b []byte, s S) []byte {
	b = append(b, '"')
	run := 0 // start of the bytes not yet copied
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' && c != 0x7f {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := decodeRune(s[i:])
			if r != utf8.RuneError || n > 1 {
				i += n // valid UTF-8 is copied as it is
				continue
			}
		}
		b = append(b, s[run:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < utf8.RuneSelf {
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			} else {
				b = append(b, `\ufffd`...)
			}
		}
		i++
		run = i
	}
	b = append(b, s[run:]...)
	return append(b, '"')
}

// decodeRune is utf8.DecodeRune for a string or a byte slice.
func decodeRune[S string | []byte](s S) (rune, int) {
	var p [utf8.UTFMax]byte
	return utf8.DecodeRune(p[:copy(p[:], s)])
}

// layerHeads holds the start of each protocol's layer object, osi, tcpip
// and proto, for one append per layer.
var layerHeads = table256(func(b []byte, i int) []byte {
	p := capture.Proto(i)
	pl := capture.Place(p)
	b = append(b, `{"osi":`...)
	b = strconv.AppendInt(b, int64(pl.OSI), 10)
	b = append(b, `,"tcpip":"`...)
	b = append(b, pl.TCPIP.String()...)
	b = append(b, `","proto":"`...)
	b = append(b, p.String()...)
	return append(b, '"')
})

// tcpFlagsJSON holds the "flags" array of every flags byte.
var tcpFlagsJSON = table256(func(b []byte, v int) []byte {
	b = append(b, '[')
	first := true
	for i, name := range capture.FlagNames {
		if v&(1<<i) != 0 {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, '"')
			b = append(b, name...)
			b = append(b, '"')
		}
	}
	return append(b, ']')
})

// table256 returns the 256 strings that appendEntry appends to b for 0 to
// 255, sharing one backing string: a package's tables built at start
// cost a few allocations, not one or more per entry.
func table256(appendEntry func(b []byte, i int) []byte) (t [256]string) {
	var b []byte
	var ends [256]int
	for i := range t {
		b = appendEntry(b, i)
		ends[i] = len(b)
	}
	all, start := string(b), 0
	for i := range t {
		t[i], start = all[start:ends[i]], ends[i]
	}
	return t
}

func appendLayerJSON(b []byte, l *capture.Layer) []byte {
	p := capture.Place(l.Proto)
	b = append(b, layerHeads[l.Proto]...)
	switch l.Proto {
	case capture.ProtoEthernet:
		b = kMAC(b, `,"src":`, l.SrcHW[:6])
		b = kMAC(b, `,"dst":`, l.DstHW[:6])
	case capture.ProtoSLL:
		b = kUint(b, `,"pkttype":`, uint64(l.PktType))
		b = kUint(b, `,"protocol":`, uint64(l.Protocol))
		if l.SLLv2 {
			b = kInt(b, `,"ifindex":`, int64(l.IfIndex))
		}
		if l.HWLen > 0 {
			b = kMAC(b, `,"src":`, l.SrcHW[:l.HWLen])
		}
	case capture.ProtoLoopback:
		b = kUint(b, `,"family":`, uint64(l.Family))
	case capture.ProtoARP:
		b = kUint(b, `,"op":`, uint64(l.Op))
		b = kAddr(b, `,"src":`, l.SrcIP)
		b = kAddr(b, `,"dst":`, l.DstIP)
	case capture.ProtoIPv4:
		b = kAddr(b, `,"src":`, l.SrcIP)
		b = kAddr(b, `,"dst":`, l.DstIP)
		b = kUint(b, `,"ttl":`, uint64(l.TTL))
		b = kUint(b, `,"id":`, uint64(l.ID))
		b = kUint(b, `,"frag_offset":`, uint64(l.FragOffset))
		b = kBool(b, `,"more_fragments":`, l.MoreFrags)
		b = kInt(b, `,"len":`, int64(l.Len))
	case capture.ProtoIPv6:
		b = kAddr(b, `,"src":`, l.SrcIP)
		b = kAddr(b, `,"dst":`, l.DstIP)
		b = kUint(b, `,"hop_limit":`, uint64(l.TTL))
		b = kUint(b, `,"next_header":`, uint64(l.NextHeader))
		b = kInt(b, `,"payload_len":`, int64(l.Len))
		if l.NextHeader == 44 {
			b = kUint(b, `,"frag_id":`, l.Number)
			b = kUint(b, `,"frag_offset":`, uint64(l.FragOffset))
			b = kBool(b, `,"more_fragments":`, l.MoreFrags)
		}
	case capture.ProtoICMPv4, capture.ProtoICMPv6:
		b = kUint(b, `,"type":`, uint64(l.Type))
		b = kUint(b, `,"code":`, uint64(l.Code))
		switch {
		case l.Proto == capture.ProtoICMPv4 && (l.Type == 0 || l.Type == 8), l.Proto == capture.ProtoICMPv6 && (l.Type == 128 || l.Type == 129):
			b = kUint(b, `,"id":`, uint64(l.ID))
			b = kUint(b, `,"seq":`, l.Number)
		case l.Proto == capture.ProtoICMPv4 && l.Type == 3 && l.Code == 4, l.Proto == capture.ProtoICMPv6 && l.Type == 2:
			b = kUint(b, `,"mtu":`, l.Number&0xffffffff)
		case l.Proto == capture.ProtoICMPv6 && l.Type >= 135 && l.Type <= 137 && l.DstIP.IsValid():
			b = kAddr(b, `,"target":`, l.DstIP)
		}
		if l.HasQuote {
			b = kAddr(b, `,"orig_dst":`, l.DstIP)
			b = kUint(b, `,"orig_proto":`, uint64(l.NextHeader))
			if l.NextHeader == 6 || l.NextHeader == 17 {
				b = kUint(b, `,"orig_dst_port":`, uint64(l.DstPort))
			}
		}
	case capture.ProtoTCP:
		b = kUint(b, `,"src_port":`, uint64(l.SrcPort))
		b = kUint(b, `,"dst_port":`, uint64(l.DstPort))
		b = kUint(b, `,"seq":`, uint64(l.Seq))
		b = kUint(b, `,"ack":`, uint64(l.Ack))
		b = append(key(b, `,"flags":`), tcpFlagsJSON[l.Flags]...)
		b = kUint(b, `,"window":`, uint64(l.Window))
		b = kUint(b, `,"window_size":`, uint64(l.WindowSize))
		if l.WinScale >= 0 {
			b = kInt(b, `,"window_scale":`, int64(l.WinScale))
		}
		b = kInt(b, `,"payload_len":`, int64(l.PayloadLen))
		if len(l.Opts) > 0 {
			b = appendOptionsJSON(key(b, `,"options":`), l.Opts)
		}
	case capture.ProtoUDP:
		b = kUint(b, `,"src_port":`, uint64(l.SrcPort))
		b = kUint(b, `,"dst_port":`, uint64(l.DstPort))
		b = kInt(b, `,"len":`, int64(l.Len))
		b = kInt(b, `,"payload_len":`, int64(l.PayloadLen))
	case capture.ProtoHTTP:
		if l.Method != "" {
			b = kStr(b, `,"method":`, l.Method)
			b = kStr(b, `,"uri":`, l.URI)
		} else {
			b = kInt(b, `,"status":`, int64(l.Status))
		}
	case capture.ProtoWebSocket:
		b = kBool(b, `,"fin":`, l.Fin)
		b = kStr(b, `,"opcode":`, opcodeName(l.Opcode))
		b = kBool(b, `,"masked":`, l.Masked)
		if l.Masked {
			b = append(key(b, `,"mask":`), '"')
			b = appendMAC(b, l.MaskKey[:])
			b = append(b, '"')
		}
		if l.Compressed {
			b = kBool(b, `,"compressed":`, true)
		}
		b = kInt(b, `,"payload_len":`, int64(l.PayloadLen))
		if l.Opcode == 8 && len(l.Payload) >= 2 {
			b = kInt(b, `,"close_code":`, int64(l.Status))
			b = kStr(b, `,"close_reason":`, l.Reason)
		}
		if len(l.Message) > 0 {
			b = kBytes(b, `,"message":`, l.Message)
		} else if l.Opcode == 1 && l.Fin && !l.Compressed {
			b = kBytes(b, `,"message":`, l.Payload)
		}
	case capture.ProtoTLS:
		b = kUint(b, `,"content_type":`, uint64(l.ContentType))
		if l.HandshakeType >= 0 {
			b = kInt(b, `,"handshake_type":`, int64(l.HandshakeType))
		}
	case capture.ProtoDNS:
		b = kUint(b, `,"id":`, uint64(l.ID))
		b = kBool(b, `,"response":`, l.Response)
		if l.Name != "" {
			b = kStr(b, `,"name":`, l.Name)
			b = kStr(b, `,"qtype":`, l.Kind)
		}
		b = kInt(b, `,"answers":`, int64(l.Answers))
		if l.Response {
			b = kUint(b, `,"rcode":`, uint64(l.Code))
			b = kStr(b, `,"rcode_name":`, app.DNSRcodeName(l.Code))
			b = append(key(b, `,"records":`), '[')
			for i, r := range app.DNSRecords(l.Payload) {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"section":`...)
				b = appendString(b, r.Section)
				b = kStr(b, `,"name":`, r.Name)
				b = kStr(b, `,"type":`, r.Type)
				b = kUint(b, `,"ttl":`, uint64(r.TTL))
				b = kStr(b, `,"data":`, r.Data)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
	case capture.ProtoFrame:
		b = kInt(b, `,"len":`, int64(l.Len))
	case capture.ProtoEvent:
		b = kStr(b, `,"type":`, l.Kind)
		if l.Namespace != "" {
			b = kStr(b, `,"namespace":`, l.Namespace)
		}
		if l.Name != "" {
			b = kStr(b, `,"event":`, l.Name)
		}
		if len(l.Payload) > 0 {
			b = key(b, `,"args":`)
			// tcpchat/wire only accepts arguments that are valid JSON; a
			// layer built by hand is checked.
			if (l.Payload[0] == '[' || l.Payload[0] == '{') && (l.Kind != "" || json.Valid(l.Payload)) {
				b = append(b, l.Payload...)
			} else {
				b = appendString(b, l.Payload)
			}
		}
		if l.Response {
			b = kUint(b, `,"ack_id":`, l.Number)
		}
	case capture.ProtoEngineIO:
		b = kStr(b, `,"type":`, l.Kind)
		if l.Binary {
			b = kBool(b, `,"binary":`, true)
			b = kInt(b, `,"len":`, int64(l.PayloadLen))
		} else if len(l.Payload) > 0 {
			b = kBytes(b, `,"data":`, l.Payload)
		}
	case capture.ProtoSocketIO:
		b = kStr(b, `,"type":`, l.Kind)
		b = kStr(b, `,"namespace":`, l.Namespace)
		if l.Name != "" {
			b = kStr(b, `,"event":`, l.Name)
		}
		if len(l.Payload) > 0 {
			b = key(b, `,"data":`)
			// socketio.Decode only accepts JSON data; a layer built by hand
			// is checked.
			if l.Kind != "" || json.Valid(l.Payload) {
				b = append(b, l.Payload...)
			} else {
				b = appendString(b, l.Payload)
			}
		}
		if l.Response {
			b = kUint(b, `,"ack_id":`, l.Number)
		}
		if l.Attachments > 0 {
			b = kInt(b, `,"attachments":`, int64(l.Attachments))
		}
		if l.Joined {
			b = kBool(b, `,"joined":`, true)
		}
	case capture.ProtoUDPCast:
		b = kUint(b, `,"run_id":`, l.RunID)
		b = kUint(b, `,"seq":`, l.Number)
		b = append(key(b, `,"ts":`), '"')
		b = appendRFC3339(b, time.Unix(0, l.TimeNanos))
		b = append(b, '"')
		b = kBool(b, `,"end":`, l.Response)
	}
	if p.Disputed != "" && (l.Proto == capture.ProtoARP || l.Proto == capture.ProtoTLS || l.Proto == capture.ProtoEngineIO) {
		b = kStr(b, `,"disputed":`, p.Disputed)
	}
	return append(b, '}')
}

// appendOptionsJSON writes TCP options as an array of objects, in order:
// {"kind":2,"name":"mss","value":1460}, {"kind":8,"name":"TS","val":1,"ecr":0},
// {"kind":5,"name":"sack","blocks":[[le,re]...]} (raw sequence numbers),
// {"kind":34,"name":"tfo","cookie":"hex"} (no cookie: a cookie request).
func appendOptionsJSON(b []byte, opts []byte) []byte {
	b = append(b, '[')
	for i := 0; len(opts) > 0; i++ {
		kind, data, rest, ok := capture.NextTCPOption(opts)
		if !ok {
			break
		}
		opts = rest
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"kind":`...)
		b = appendUint(b, uint64(kind))
		name := tcpOptNames[kind]
		switch kind {
		case capture.TCPOptEOL:
			name = "eol"
		case capture.TCPOptNOP:
			name = "nop"
		case capture.TCPOptSACKPerm:
			name = "sackOK"
		}
		if name != "" {
			b = kStr(b, `,"name":`, name)
		}
		switch {
		case kind == capture.TCPOptMSS && len(data) == 2:
			b = kUint(b, `,"value":`, uint64(data[0])<<8|uint64(data[1]))
		case kind == capture.TCPOptWScale && len(data) == 1:
			b = kUint(b, `,"value":`, uint64(data[0]))
		case kind == capture.TCPOptTimestamp && len(data) == 8:
			b = kUint(b, `,"val":`, uint64(be32(data)))
			b = kUint(b, `,"ecr":`, uint64(be32(data[4:])))
		case kind == capture.TCPOptSACK && len(data)%8 == 0:
			b = append(key(b, `,"blocks":`), '[')
			for j := 0; j < len(data); j += 8 {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, '[')
				b = appendUint(b, uint64(be32(data[j:])))
				b = append(b, ',')
				b = appendUint(b, uint64(be32(data[j+4:])))
				b = append(b, ']')
			}
			b = append(b, ']')
		case kind == capture.TCPOptFastOpen:
			if len(data) > 0 {
				b = append(key(b, `,"cookie":`), '"')
				b = appendHex(b, data)
				b = append(b, '"')
			}
		case len(data) > 0:
			b = append(key(b, `,"data":`), '"')
			b = appendHex(b, data)
			b = append(b, '"')
		}
		b = append(b, '}')
		if kind == capture.TCPOptEOL {
			break
		}
	}
	return append(b, ']')
}

var opcodeNames = [16]string{0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}

func opcodeName(op uint8) string {
	if n := opcodeNames[op&15]; n != "" {
		return n
	}
	return "reserved-0x" + string(hexDigits[op&15])
}
