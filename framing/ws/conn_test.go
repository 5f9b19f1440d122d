package ws_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

// TestPreparedMessage broadcasts one prepared message to plain and
// compressing clients, and checks a client connection falls back.
func TestPreparedMessage(t *testing.T) {
	t.Parallel()
	if _, err := ws.NewPreparedMessage(ws.OpPing, nil); err == nil {
		t.Fatal("prepared ping accepted")
	}
	msg := []byte(strings.Repeat("broadcast ", 50))
	pm, err := ws.NewPreparedMessage(ws.OpText, msg)
	if err != nil {
		t.Fatal(err)
	}
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			t.Parallel()
			sent := make(chan error, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := (&ws.Upgrader{Compression: true}).UpgradeHTTP(w, r)
				if err != nil {
					sent <- err
					return
				}
				defer c.CloseNow()
				for i := 0; i < 3; i++ {
					if err := c.WritePrepared(pm); err != nil {
						sent <- err
						return
					}
				}
				sent <- nil
				c.ReadMessage() // until the client closes
			}))
			defer srv.Close()
			c, err := ws.Dial(ctxT(t), "ws://"+srv.Listener.Addr().String()+"/", &ws.DialOptions{Compression: compress})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			var rsv1 []bool
			var mu sync.Mutex
			c.SetFrameObserver(func(sentByUs bool, h ws.Header, _ []byte) {
				if !sentByUs && h.OpCode == ws.OpText {
					mu.Lock()
					rsv1 = append(rsv1, h.Rsv1)
					mu.Unlock()
				}
			})
			for i := 0; i < 3; i++ {
				op, got, err := c.ReadMessage()
				if err != nil || op != ws.OpText || !bytes.Equal(got, msg) {
					t.Fatalf("message %d: %s %d bytes %v", i, op, len(got), err)
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			if len(rsv1) != 3 || rsv1[0] != compress {
				t.Fatalf("RSV1 of the frames: %v, want compressed=%v", rsv1, compress)
			}
			mu.Unlock()
			// A client connection sends it masked, through WriteMessage.
			if err := c.WritePrepared(pm); err != nil {
				t.Fatal(err)
			}
			c.Close(ws.StatusNormalClosure, "")
		})
	}
}
