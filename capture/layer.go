package capture

// Proto names a protocol the decoder knows. Its String is the "proto" name of
// the capture JSON (docs/ARCHITECTURE.md).
type Proto uint8

// The protocols of the layer model.
const (
	ProtoUnknown Proto = iota
	ProtoEthernet
	ProtoSLL
	ProtoLoopback
	ProtoARP
	ProtoIPv4
	ProtoIPv6
	ProtoICMPv4
	ProtoICMPv6
	ProtoTCP
	ProtoUDP
	ProtoHTTP
	ProtoWebSocket
	ProtoTLS
	ProtoDNS
	ProtoFrame // wiredojo length-prefixed frame
	ProtoEvent // wiredojo event packet (tcpchat/wire)
	ProtoUDPCast
	ProtoData     // undecoded payload bytes
	ProtoEngineIO // Engine.IO v4 packet (socketio/engineio)
	ProtoSocketIO // Socket.IO v5 packet (socketio)
	numProtos
)

var protoNames = [numProtos]string{
	ProtoUnknown:   "Unknown",
	ProtoEthernet:  "Ethernet",
	ProtoSLL:       "SLL",
	ProtoLoopback:  "Loopback",
	ProtoARP:       "ARP",
	ProtoIPv4:      "IPv4",
	ProtoIPv6:      "IPv6",
	ProtoICMPv4:    "ICMPv4",
	ProtoICMPv6:    "ICMPv6",
	ProtoTCP:       "TCP",
	ProtoUDP:       "UDP",
	ProtoHTTP:      "HTTP",
	ProtoWebSocket: "WebSocket",
	ProtoTLS:       "TLS",
	ProtoDNS:       "DNS",
	ProtoFrame:     "wiredojo-frame",
	ProtoEvent:     "wiredojo-event",
	ProtoUDPCast:   "wiredojo-udp",
	ProtoData:      "Data",
	ProtoEngineIO:  "engine.io",
	ProtoSocketIO:  "socket.io",
}

// String returns the protocol's "proto" name in the capture JSON.
func (p Proto) String() string {
	if p < numProtos {
		return protoNames[p]
	}
	return "Unknown"
}

// TCPIPLayer is a layer of the four-layer TCP/IP model (RFC 1122).
type TCPIPLayer uint8

// The TCP/IP model's layers, bottom up.
const (
	TCPIPLink TCPIPLayer = iota + 1
	TCPIPInternet
	TCPIPTransport
	TCPIPApplication
)

// String returns the layer's name: link, internet, transport or application.
func (t TCPIPLayer) String() string {
	switch t {
	case TCPIPLink:
		return "link"
	case TCPIPInternet:
		return "internet"
	case TCPIPTransport:
		return "transport"
	case TCPIPApplication:
		return "application"
	}
	return "unknown"
}

// OSIName returns the name of OSI layer n (1–7), "" outside that range.
func OSIName(n int) string {
	switch n {
	case 1:
		return "physical"
	case 2:
		return "data link"
	case 3:
		return "network"
	case 4:
		return "transport"
	case 5:
		return "session"
	case 6:
		return "presentation"
	case 7:
		return "application"
	}
	return ""
}

// Placement is where a protocol sits on both models. Disputed is a short
// explanation when textbooks place it differently; empty otherwise.
type Placement struct {
	OSI      int
	TCPIP    TCPIPLayer
	Disputed string
}

var placements = [numProtos]Placement{
	ProtoUnknown:  {OSI: 7, TCPIP: TCPIPApplication},
	ProtoEthernet: {OSI: 2, TCPIP: TCPIPLink},
	ProtoSLL:      {OSI: 2, TCPIP: TCPIPLink, Disputed: "a pseudo-header written by Linux capture, not bytes on the wire"},
	ProtoLoopback: {OSI: 2, TCPIP: TCPIPLink, Disputed: "a pseudo-header of the loopback device, not bytes on a wire"},
	ProtoARP: {OSI: 2, TCPIP: TCPIPLink,
		Disputed: "ARP resolves layer-3 addresses but travels directly in layer-2 frames: placed on 2 here, often called 2.5, some texts say 3"},
	ProtoIPv4:   {OSI: 3, TCPIP: TCPIPInternet},
	ProtoIPv6:   {OSI: 3, TCPIP: TCPIPInternet},
	ProtoICMPv4: {OSI: 3, TCPIP: TCPIPInternet, Disputed: "carried inside IP like a transport, but part of the network layer"},
	ProtoICMPv6: {OSI: 3, TCPIP: TCPIPInternet, Disputed: "carried inside IP like a transport, but part of the network layer"},
	ProtoTCP:    {OSI: 4, TCPIP: TCPIPTransport},
	ProtoUDP:    {OSI: 4, TCPIP: TCPIPTransport},
	ProtoHTTP:   {OSI: 7, TCPIP: TCPIPApplication},
	ProtoWebSocket: {OSI: 7, TCPIP: TCPIPApplication,
		Disputed: "framing over a TCP stream after an HTTP upgrade; some texts place it at 5"},
	ProtoTLS: {OSI: 6, TCPIP: TCPIPApplication,
		Disputed: "encryption is OSI 6 in most texts, sessions are 5, and TCP/IP puts TLS in application; placed on 6 here"},
	ProtoDNS:     {OSI: 7, TCPIP: TCPIPApplication},
	ProtoFrame:   {OSI: 5, TCPIP: TCPIPApplication, Disputed: "message boundaries on a byte stream: OSI 5 here, some say 6"},
	ProtoEvent:   {OSI: 7, TCPIP: TCPIPApplication},
	ProtoUDPCast: {OSI: 7, TCPIP: TCPIPApplication},
	ProtoData:    {OSI: 7, TCPIP: TCPIPApplication},
	ProtoEngineIO: {OSI: 5, TCPIP: TCPIPApplication,
		Disputed: "a session over HTTP polling or WebSocket (handshake, heartbeats, transport upgrade): OSI 5 here, some say 7 like the HTTP it rides on"},
	ProtoSocketIO: {OSI: 7, TCPIP: TCPIPApplication},
}

// Place returns where p sits on the OSI and TCP/IP models.
func Place(p Proto) Placement {
	if p < numProtos {
		return placements[p]
	}
	return placements[ProtoUnknown]
}

// TCP flag bits as they appear in the header's flags byte (plus NS unused).
const (
	FlagFIN uint8 = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// FlagNames lists the TCP flags in header bit order, for FlagFIN<<i.
var FlagNames = [8]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}

// Layer is one decoded protocol layer of a packet. It is a flat value so the
// decoder can reuse a packet's layers without allocating; which fields are
// meaningful depends on Proto (see the field comments and the capture JSON
// in docs/ARCHITECTURE.md). Start and End are the layer's byte range in Packet.Data (header
// through the end of what it carries in this packet) for the hex view; an
// application PDU reassembled from earlier packets covers only its bytes in
// this packet.
type Layer struct {
	Proto Proto
	// The fields are grouped by size, not by protocol, so that the struct
	// has no padding: the decoder clears a Layer for every layer it adds.

	HWLen            uint8 // Ethernet, SLL: bytes of SrcHW/DstHW in use
	SLLv2            bool  // SLL: version 2 header
	TTL              uint8 // IPv4 ttl, IPv6 hop_limit
	NextHeader       uint8 // IPv4 protocol, IPv6 next header
	MoreFrags        bool  // IP: more fragments follow
	DontFrag         bool  // IPv4: don't fragment
	HasRel           bool  // TCP: RelSeq and RelAck are set
	Start, End       int
	SrcHW, DstHW     [8]byte // link: Ethernet and SLL addresses (HWLen bytes)
	PktType          uint16  // SLL: packet type
	Protocol         uint16  // SLL: protocol (EtherType)
	IfIndex          int32   // SLL: interface index (v2 only)
	Family           uint32  // Loopback: address family
	Op               uint16  // ARP: operation (1 request, 2 reply)
	ID               uint16  // IPv4 identification, DNS id
	FragOffset       uint16  // IPv4 fragment offset in bytes
	SrcPort, DstPort uint16
	Window           uint16 // TCP: raw header value

	// IP (and ARP) addresses.
	SrcIP, DstIP Addr
	Len          int // IPv4 total length, IPv6 payload length, UDP length, frame length

	// Transport.
	Seq, Ack       uint32 // raw
	RelSeq, RelAck uint32 // relative to the stream's first sequence numbers
	WindowSize     uint32 // calculated window: Window shifted by the scale the SYNs agreed on
	Flags          uint8
	WinScale       int8  // shift applied to Window; -1 unknown (no SYN seen), -2 no scaling
	Type, Code     uint8 // ICMP
	PayloadLen     int   // TCP/UDP/WebSocket payload length (TCP: from the IP length, even when cut)
	Stream         int   // TCP stream index (0-based, like tshark's tcp.stream)
	// TCP options exactly as on the wire; see TCPOptions to walk them. It
	// aliases the packet's bytes (or the reassembled datagram's) like
	// Packet.Data, rather than holding a copy that every layer would clear.
	Opts []byte

	// WebSocket (the close code is Status, its reason Reason).
	Fin        bool
	Masked     bool
	Compressed bool // RSV1 of a permessage-deflate message's first frame
	Opcode     uint8
	MaskKey    [4]byte
	Message    []byte // WebSocket: the whole message (joined, inflated) on its last frame
	Payload    []byte // unmasked WebSocket payload, event arguments, HTTP start line, DNS message...

	// ICMP errors: what the quoted datagram was sent to (DstIP, NextHeader,
	// DstPort when it quotes UDP or TCP, HasQuote); Number is the echo
	// sequence, the MTU of "need to frag"/"packet too big" or the pointer
	// of a parameter problem. ICMPv6 neighbour discovery: target in DstIP.
	HasQuote bool

	// TLS: record content type; handshake type or -1.
	ContentType   uint8
	HandshakeType int16
	Version       uint16

	Response bool // DNS response
	// Engine.IO: a binary message (Payload holds its bytes).
	Binary bool

	// HTTP, DNS, wiredojo: text fields.
	Method, URI string
	Status      int
	Reason      string
	Name        string // DNS question name, wiredojo event name
	Namespace   string // wiredojo namespace
	Kind        string // wiredojo packet kind, DNS query type
	Answers     int    // DNS answer count (the records: DNSAnswers on Payload, the whole message; Code is the rcode)
	Number      uint64 // wiredojo-udp sequence, wiredojo event id
	TimeNanos   int64  // wiredojo-udp send timestamp (Unix ns)
	RunID       uint64 // wiredojo-udp run id

	// Engine.IO (Kind is the packet type, Payload its data, Binary) and
	// Socket.IO (Kind, Namespace, Name the event, Payload the JSON data,
	// Number the ack id when Response).
	Attachments int // Socket.IO: the binary attachments a BINARY_EVENT/ACK announces
	// Socket.IO: on the packet of a BINARY_EVENT/ACK's last attachment, the
	// whole packet once more with its attachments joined (Payload has each
	// placeholder replaced by {"$binary":"<base64>"}).
	Joined bool
}

// Reset clears l for reuse, keeping the capacity of its Payload and Message.
func (l *Layer) Reset() {
	p, m := l.Payload[:0], l.Message[:0]
	// Zeroing and then setting the two non-zero fields is cheaper than
	// copying a template Layer over l.
	*l = Layer{}
	l.HandshakeType, l.WinScale = -1, -1
	l.Payload, l.Message = p, m
}
