package app

import (
	"strconv"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/wiredojo/wiredojo/capture"
)

// DNS appends a DNS layer for msg, one whole DNS message (a UDP payload, or
// what follows the 2-byte length on TCP), to pkt and reports whether msg
// parsed as one. The layer holds the header and first question; its
// Payload is msg itself, from which DNSRecords lists the records.
func DNS(msg []byte, pkt *capture.Packet, start, end int) bool {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return false
	}
	q, qerr := p.Question()
	if qerr != nil && qerr != dnsmessage.ErrSectionDone {
		return false
	}
	l := pkt.AddLayer(capture.ProtoDNS)
	l.Start, l.End = start, end
	l.ID = h.ID
	l.Response = h.Response
	l.Code = uint8(h.RCode)
	l.Payload = append(l.Payload[:0], msg...)
	if qerr == nil {
		l.Name = dnsName(&q.Name)
		l.Kind = DNSType(uint16(q.Type))
	}
	if p.SkipAllQuestions() == nil {
		for {
			if _, err := p.AnswerHeader(); err != nil {
				break
			}
			l.Answers++
			if p.SkipAnswer() != nil {
				break
			}
		}
	}
	return true
}

// dnsName is a name without its final dot ("" for the root), as tshark
// writes it.
func dnsName(n *dnsmessage.Name) string {
	b := n.Data[:n.Length]
	if len(b) > 1 && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	if len(b) == 1 && b[0] == '.' {
		return "<Root>"
	}
	return string(b)
}

var dnsTypes = map[uint16]string{1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT",
	28: "AAAA", 33: "SRV", 35: "NAPTR", 41: "OPT", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 64: "SVCB",
	65: "HTTPS", 99: "SPF", 255: "ANY", 257: "CAA"}

// DNSType names a DNS record type ("A", "AAAA", ...; "TYPE" and the number
// for the others, as RFC 3597 writes them).
func DNSType(t uint16) string {
	if s, ok := dnsTypes[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// DNSRcodeName names a DNS response code as tcpdump prints it ("NXDomain",
// "ServFail"...).
func DNSRcodeName(rc uint8) string {
	switch rc {
	case 0:
		return "NoError"
	case 1:
		return "FormErr"
	case 2:
		return "ServFail"
	case 3:
		return "NXDomain"
	case 4:
		return "NotImp"
	case 5:
		return "Refused"
	case 6:
		return "YXDomain"
	case 7:
		return "YXRRSet"
	case 8:
		return "NXRRSet"
	case 9:
		return "NotAuth"
	case 10:
		return "NotZone"
	}
	return "Resp" + strconv.Itoa(int(rc))
}

// DNSRecord is one resource record of a DNS message: its section, owner
// name, type, TTL and data in presentation form (an address, a name, "10
// mail.example." for MX, the quoted strings of TXT, the seven fields of
// SOA).
type DNSRecord struct {
	Section string // "answer", "authority" or "additional"
	Name    string
	Type    string
	TTL     uint32
	Data    string
}

// DNSRecords lists the records of the DNS message msg (a DNS layer's
// Payload), in order; it stops at the first it cannot read.
func DNSRecords(msg []byte) []DNSRecord {
	var p dnsmessage.Parser
	if _, err := p.Start(msg); err != nil {
		return nil
	}
	if p.SkipAllQuestions() != nil {
		return nil
	}
	var out []DNSRecord
	for _, sec := range []string{"answer", "authority", "additional"} {
		for {
			var h dnsmessage.Resource
			var err error
			switch sec {
			case "answer":
				h, err = p.Answer()
			case "authority":
				h, err = p.Authority()
			default:
				h, err = p.Additional()
			}
			if err != nil {
				if err != dnsmessage.ErrSectionDone {
					return out
				}
				break
			}
			if h.Header.Type == dnsmessage.TypeOPT {
				continue
			}
			out = append(out, DNSRecord{Section: sec, Name: dnsName(&h.Header.Name), Type: DNSType(uint16(h.Header.Type)),
				TTL: h.Header.TTL, Data: dnsData(h.Body)})
		}
	}
	return out
}

func dnsData(b dnsmessage.ResourceBody) string {
	switch r := b.(type) {
	case *dnsmessage.AResource:
		return capture.AddrFrom(r.A[:]).String()
	case *dnsmessage.AAAAResource:
		return capture.AddrFrom(r.AAAA[:]).String()
	case *dnsmessage.CNAMEResource:
		return dnsName(&r.CNAME)
	case *dnsmessage.NSResource:
		return dnsName(&r.NS)
	case *dnsmessage.PTRResource:
		return dnsName(&r.PTR)
	case *dnsmessage.MXResource:
		return strconv.Itoa(int(r.Pref)) + " " + dnsName(&r.MX)
	case *dnsmessage.TXTResource:
		s := ""
		for i, t := range r.TXT {
			if i > 0 {
				s += " "
			}
			s += strconv.Quote(t)
		}
		return s
	case *dnsmessage.SOAResource:
		return dnsName(&r.NS) + " " + dnsName(&r.MBox) + " " + strconv.FormatUint(uint64(r.Serial), 10) + " " +
			strconv.FormatUint(uint64(r.Refresh), 10) + " " + strconv.FormatUint(uint64(r.Retry), 10) + " " +
			strconv.FormatUint(uint64(r.Expire), 10) + " " + strconv.FormatUint(uint64(r.MinTTL), 10)
	}
	return ""
}
