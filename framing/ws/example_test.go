package ws_test

import (
	"context"
	"fmt"
	"net"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/framing/ws/wsecho"
)

// A client talks to an echo server built on Upgrader.Upgrade.
func ExampleDial() {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &wsecho.Server{Upgrader: ws.Upgrader{Protocols: []string{"chat"}}}
	go srv.Serve(l)
	defer srv.Close()

	c, err := ws.Dial(context.Background(), "ws://"+l.Addr().String()+"/", &ws.DialOptions{Protocols: []string{"chat"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	c.WriteMessage(ws.OpText, []byte("hello"))
	op, msg, _ := c.ReadMessage()
	fmt.Println(c.Subprotocol(), op, string(msg))
	c.Close(ws.StatusNormalClosure, "bye")
	_, _, err = c.ReadMessage()
	fmt.Println(err)
	// Output:
	// chat text hello
	// ws: closed by the peer with status 1000 (normal closure): "bye"
}

// Split decodes frames from captured bytes without a connection.
func ExampleSplit() {
	b := ws.AppendFrame(nil, ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}}, []byte("hi"))
	h, payload, rest, ok, _ := ws.Split(b)
	ws.Mask(h.Mask, 0, payload) // unmask in place
	fmt.Println(ok, h.OpCode, h.Fin, h.Masked, h.Length, string(payload), len(rest))
	// Output: true text true true 2 hi 0
}
