package capture

// TCP option kinds (IANA) the views name.
const (
	TCPOptEOL       = 0
	TCPOptNOP       = 1
	TCPOptMSS       = 2
	TCPOptWScale    = 3
	TCPOptSACKPerm  = 4
	TCPOptSACK      = 5
	TCPOptTimestamp = 8
	TCPOptMD5       = 19
	TCPOptUserTO    = 28
	TCPOptAO        = 29
	TCPOptMPTCP     = 30
	TCPOptFastOpen  = 34
)

// NextTCPOption splits the first option off b, a TCP header's option bytes:
// its kind and data (without kind and length). ok is false when b is empty
// or the option is malformed (a length that runs past b or is below 2);
// EOL and NOP have no data.
func NextTCPOption(b []byte) (kind uint8, data, rest []byte, ok bool) {
	if len(b) == 0 {
		return 0, nil, nil, false
	}
	kind = b[0]
	if kind == TCPOptEOL || kind == TCPOptNOP {
		return kind, nil, b[1:], true
	}
	if len(b) < 2 || b[1] < 2 || int(b[1]) > len(b) {
		return kind, nil, nil, false
	}
	return kind, b[2:b[1]], b[b[1]:], true
}

// WindowScaleOption returns the shift of the window scale option in the
// option bytes b.
func WindowScaleOption(b []byte) (int, bool) {
	for {
		kind, data, rest, ok := NextTCPOption(b)
		if !ok || kind == TCPOptEOL {
			return 0, false
		}
		if kind == TCPOptWScale && len(data) == 1 {
			return int(data[0]), true
		}
		b = rest
	}
}
