package capture

import "time"

// Packet is one captured packet: capture metadata, its bytes and the layers
// decoded from it, outermost first. Notes carries expert notes (TCP
// retransmission, duplicate ACK, ...). The decoder reuses a Packet: Data and
// the slices alias buffers that the next Decode overwrites.
type Packet struct {
	No        int // 1-based number in the capture
	Timestamp time.Time
	WireLen   int
	CapLen    int
	IfIndex   int // interface the packet came from (pcapng interface id)
	Data      []byte
	Layers    []Layer
	Notes     []Note
	Err       string // decoding stopped early: what was wrong ("" when none)
	// Truncated: the snapshot length cut the packet inside a layer that
	// says it is longer (tshark's "Packet size limited during capture");
	// the layers decode what was captured.
	Truncated bool
}

// Note is an expert note on a packet, like Wireshark's expert info.
type Note uint8

// The expert notes.
const (
	NoteRetransmission Note = iota + 1
	NoteDupAck
	NoteOutOfOrder
	NoteZeroWindow
	NoteReset
	NoteLostSegment
	NoteKeepAlive
)

// String returns the note as Wireshark words it, in lower case.
func (n Note) String() string {
	switch n {
	case NoteRetransmission:
		return "retransmission"
	case NoteDupAck:
		return "duplicate ACK"
	case NoteOutOfOrder:
		return "out-of-order"
	case NoteZeroWindow:
		return "zero window"
	case NoteReset:
		return "reset"
	case NoteLostSegment:
		return "previous segment not captured"
	case NoteKeepAlive:
		return "keep-alive"
	}
	return "note"
}

// Reset prepares p for the next packet, keeping capacity.
func (p *Packet) Reset() {
	p.Layers = p.Layers[:0]
	p.Notes = p.Notes[:0]
	p.Err = ""
	p.Truncated = false
}

// AddLayer appends a cleared layer of the given protocol and returns it. The
// pointer is valid until the next AddLayer.
func (p *Packet) AddLayer(proto Proto) *Layer {
	if len(p.Layers) < cap(p.Layers) {
		p.Layers = p.Layers[:len(p.Layers)+1]
	} else {
		p.Layers = append(p.Layers, Layer{})
	}
	l := &p.Layers[len(p.Layers)-1]
	l.Reset()
	l.Proto = proto
	return l
}

// Find returns the first layer of the given protocol, or nil.
func (p *Packet) Find(proto Proto) *Layer {
	for i := range p.Layers {
		if p.Layers[i].Proto == proto {
			return &p.Layers[i]
		}
	}
	return nil
}

// Clone returns a deep copy of p that stays valid after the decoder moves on.
func (p *Packet) Clone() *Packet {
	c := *p
	c.Data = append([]byte(nil), p.Data...)
	c.Layers = make([]Layer, len(p.Layers))
	copy(c.Layers, p.Layers)
	for i := range c.Layers {
		if c.Layers[i].Payload != nil {
			c.Layers[i].Payload = append([]byte(nil), c.Layers[i].Payload...)
		}
		if c.Layers[i].Message != nil {
			c.Layers[i].Message = append([]byte(nil), c.Layers[i].Message...)
		}
		if c.Layers[i].Opts != nil {
			c.Layers[i].Opts = append([]byte(nil), c.Layers[i].Opts...)
		}
	}
	c.Notes = append([]Note(nil), p.Notes...)
	return &c
}
