package client_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/wiredojo/wiredojo/socketio"
	"github.com/wiredojo/wiredojo/socketio/client"
	"github.com/wiredojo/wiredojo/socketio/engine"
)

// A session with an Engine.IO echo server: the client's CONNECT comes
// back as it was sent.
func ExampleDial() {
	srv := engine.NewServer(engine.Options{}, func(s *engine.Session) {
		for {
			p, err := s.Read()
			if err != nil {
				return
			}
			s.Send(p)
		}
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "socketio://"+strings.TrimPrefix(hs.URL, "http://")+"/chat", client.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Write(client.Message{Packet: socketio.Packet{Type: socketio.Connect, Namespace: "/chat", Data: []byte(`{"token":"t"}`)}})
	m, err := c.Read()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Packet.Type, m.Packet.Namespace, string(m.Packet.Data))
	// Output: CONNECT /chat {"token":"t"}
}
