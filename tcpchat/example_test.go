package tcpchat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/wiredojo/wiredojo/tcpchat"
)

// A server with a namespace guarded by middleware, and a client that joins
// it and asks for an acknowledgement.
func Example() {
	srv := tcpchat.NewServer(tcpchat.Options{})
	chat := srv.Of("/chat")
	chat.Use(func(s *tcpchat.Socket, auth json.RawMessage) error {
		var a struct{ Name string }
		if json.Unmarshal(auth, &a) != nil || a.Name == "" {
			return errors.New("say your name")
		}
		return nil
	})
	chat.OnConnection(func(s *tcpchat.Socket) {
		s.Join("lobby")
		s.On("greet", func(e *tcpchat.Event) {
			var text string
			e.Bind(&text)
			e.Ack("hello, " + text)
		})
	})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := tcpchat.Dial(ctx, l.Addr().String(), tcpchat.ClientOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if _, err := c.Connect(ctx, "/chat", nil); err != nil {
		fmt.Println(err)
	}
	sock, err := c.Connect(ctx, "/chat", map[string]string{"name": "ann"})
	if err != nil {
		fmt.Println(err)
		return
	}
	reply, err := sock.EmitWithAck(ctx, "greet", "server")
	fmt.Println(string(reply), err)
	fmt.Println("lobby members:", chat.Adapter().Size("lobby"))
	// Output:
	// tcpchat: connect to namespace "/chat" refused: say your name
	// ["hello, server"] <nil>
	// lobby members: 1
}
