package tcpchat_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
)

// A framed-TCP client and a WebSocket client in one room of one server:
// the same port serves both (and the browser page at GET /).
func ExampleDial_webSocket() {
	srv := tcpchat.NewServer(tcpchat.Options{})
	builtin.Install(srv.Of("/chat"))
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Close()
	addr := l.Addr().String()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make(chan string, 1)
	for _, who := range []struct{ name, url string }{
		{"tia", addr},                   // framed TCP: HOST:PORT
		{"wes", "ws://" + addr + "/ws"}, // WebSocket: a ws:// (or wss://) URL
	} {
		c, err := tcpchat.Dial(ctx, who.url, tcpchat.ClientOptions{})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer c.Close()
		sock, err := c.Connect(ctx, "/chat", map[string]string{"name": who.name})
		if err != nil {
			fmt.Println(err)
			return
		}
		sock.On("message", func(e *tcpchat.ClientEvent) { got <- string(e.Args) })
		sock.EmitWithAck(ctx, "join", "lobby")
		if who.name == "wes" { // the WebSocket client speaks to the framed one
			reply, err := sock.EmitWithAck(ctx, "message", "hello over WebSocket")
			fmt.Println(string(reply), err)
		}
	}
	fmt.Println(<-got)
	// Output:
	// [{"delivered":1}] <nil>
	// [{"from":"wes","room":"lobby","text":"hello over WebSocket"}]
}
