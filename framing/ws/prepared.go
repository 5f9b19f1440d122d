package ws

import (
	"fmt"
	"sync"
)

// PreparedMessage is a message encoded once and sent to many connections,
// as a broadcast does: server connections send its ready frame bytes
// without copying, masking or compressing again. Safe for concurrent use.
type PreparedMessage struct {
	op      OpCode
	payload []byte
	frame   []byte // the unmasked, uncompressed frame

	once     sync.Once
	deflated []byte // the unmasked frame compressed with BestSpeed, lazily
}

// NewPreparedMessage encodes p as a message of type op (OpText or
// OpBinary). p must not change afterwards.
func NewPreparedMessage(op OpCode, p []byte) (*PreparedMessage, error) {
	if op != OpText && op != OpBinary {
		return nil, fmt.Errorf("ws: a prepared message is OpText or OpBinary, not %s", op)
	}
	frame := AppendFrame(make([]byte, 0, MaxHeaderLen+len(p)), Header{Fin: true, OpCode: op}, p)
	return &PreparedMessage{op: op, payload: p, frame: frame}, nil
}

// deflatedFrame returns the compressed frame, built on first use.
func (pm *PreparedMessage) deflatedFrame() []byte {
	pm.once.Do(func() {
		z := compress(nil, pm.payload, false)
		pm.deflated = AppendFrame(make([]byte, 0, MaxHeaderLen+len(z)), Header{Fin: true, Rsv1: true, OpCode: pm.op}, z)
	})
	return pm.deflated
}

// WritePrepared sends a prepared message. A server connection writes the
// shared frame bytes as they are (compressed when permessage-deflate was
// negotiated with a full window and the message is long enough); a client
// connection, whose frames must be masked with a fresh key, falls back to
// WriteMessage.
func (c *Conn) WritePrepared(pm *PreparedMessage) error {
	if !c.server {
		return c.WriteMessage(pm.op, pm.payload)
	}
	c.wmu.Lock()
	defer c.unlockW()
	if c.closeSent {
		return ErrClosed
	}
	if c.writeErr != nil {
		return c.writeErr.err
	}
	if err := c.flushRestLocked(); err != nil {
		return err
	}
	frame := pm.frame
	if c.deflate && !c.noCompress && !c.dp.huffmanOnly && len(pm.payload) >= compressMin {
		frame = pm.deflatedFrame()
	}
	if observe := c.observer(); observe != nil {
		h, n, _ := ParseHeader(frame)
		observe(true, h, frame[n:])
	}
	if _, err := c.nc.Write(frame); err != nil {
		return c.writeFailedLocked(err)
	}
	return nil
}
