package ws_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

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

// A net/http handler upgrades its request and answers each message in
// upper case; Dial is the client.
func ExampleUpgrader_UpgradeHTTP() {
	up := &ws.Upgrader{}
	mux := http.NewServeMux()
	mux.HandleFunc("/shout", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.UpgradeHTTP(w, r)
		if err != nil {
			return // UpgradeHTTP has answered the request with the reason
		}
		defer c.Close(ws.StatusNormalClosure, "")
		for {
			op, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			c.WriteMessage(op, bytes.ToUpper(msg))
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c, err := ws.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/shout", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ws.StatusNormalClosure, "")
	c.WriteMessage(ws.OpText, []byte("hello"))
	_, msg, _ := c.ReadMessage()
	fmt.Println(string(msg))
	// Output:
	// HELLO
}
