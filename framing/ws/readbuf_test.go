package ws

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// burstConn is a net.Conn whose reads return what its test put in, as
// much as the caller's buffer takes (a socket with a burst waiting).
type burstConn struct {
	net.Conn // unused; a call to anything else panics
	in       bytes.Buffer
}

func (b *burstConn) Read(p []byte) (int, error) {
	if b.in.Len() == 0 {
		return 0, io.EOF
	}
	return b.in.Read(p)
}

func (b *burstConn) Write(p []byte) (int, error) { return len(p), nil }

// TestReadBufferGrowsForBursts checks the size of the read buffer a
// pooled server Conn borrows: the small one, a large one after a read
// that filled the small one, and the small one again after a burst that
// a small one holds.
func TestReadBufferGrowsForBursts(t *testing.T) {
	bc := &burstConn{}
	c := newConn(bc, nil, true, true, "", false, deflateParams{}, 0)
	payload := bytes.Repeat([]byte{'x'}, 100)
	h := Header{Fin: true, OpCode: OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}}
	burst := func(step string, n, wantSize int) {
		t.Helper()
		for range n {
			bc.in.Write(AppendFrame(nil, h, payload))
		}
		for i := range n {
			op, p, err := c.ReadMessage()
			if err != nil || op != OpText || !bytes.Equal(p, payload) {
				t.Fatalf("%s: message %d: %s %q %v", step, i, op, p, err)
			}
			if i == 0 && c.br.Size() != wantSize {
				t.Fatalf("%s: read with a buffer of %d bytes, want %d", step, c.br.Size(), wantSize)
			}
		}
		if c.br != nil {
			t.Fatalf("%s: the Conn kept its read buffer after the last message (%d bytes buffered)", step, c.br.Buffered())
		}
	}
	burst("first burst, 10.6 KB", 100, readBufSize)
	burst("after a full read", 10, largeReadBufSize)
	burst("after a read of 1 KB", 10, readBufSize)
	burst("a small burst again", 10, readBufSize)
}
