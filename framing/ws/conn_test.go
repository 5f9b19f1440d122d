package ws_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/framing/ws"
)

func TestEchoRoundTrip(t *testing.T) {
	t.Parallel()
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			t.Parallel()
			url := startEcho(t, ws.Upgrader{Compression: compress, Protocols: []string{"chat", "echo"}})
			c, err := ws.Dial(ctxT(t), url, &ws.DialOptions{Compression: compress, Protocols: []string{"echo", "x"}})
			if err != nil {
				t.Fatal(err)
			}
			if c.Subprotocol() != "echo" || c.Compressed() != compress {
				t.Fatalf("protocol %q compressed %v", c.Subprotocol(), c.Compressed())
			}
			for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 100000, 1 << 20} {
				for _, op := range []ws.OpCode{ws.OpText, ws.OpBinary} {
					msg := []byte(strings.Repeat("héllo wörld ", n/13+1)[:n])
					if op == ws.OpText {
						msg = bytes.ToValidUTF8(msg, []byte("?"))
					}
					if err := c.WriteMessage(op, msg); err != nil {
						t.Fatal(err)
					}
					gop, got, err := c.ReadMessage()
					if err != nil {
						t.Fatal(err)
					}
					if gop != op || !bytes.Equal(got, msg) {
						t.Fatalf("%d bytes %s: got %s %d bytes", n, op, gop, len(got))
					}
				}
			}
			if err := c.Close(ws.StatusNormalClosure, "bye"); err != nil {
				t.Fatal(err)
			}
			_, _, err = c.ReadMessage()
			var ce *ws.CloseError
			if !errors.As(err, &ce) || ce.Code != ws.StatusNormalClosure {
				t.Fatalf("after close: %v", err)
			}
		})
	}
}
