package sio

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/socketio"
	"github.com/wiredojo/wiredojo/socketio/client"
)

// connectAs opens a Socket.IO session (polling only, or upgraded to a
// WebSocket) and connects to /chat with auth; it returns the answer
// (CONNECT or CONNECT_ERROR) and the session, closed when the test ends.
func connectAs(t *testing.T, addr, query, auth string) (socketio.Packet, *client.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := client.Dial(ctx, "socketio://"+addr+"/chat"+query, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Write(client.Message{Packet: socketio.Packet{Type: socketio.Connect, Namespace: "/chat", Data: []byte(auth)}}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	for {
		m, err := c.Read()
		if err != nil {
			t.Fatalf("connect to /chat with %s: %v", auth, err)
		}
		if m.Packet.Namespace == "/chat" && (m.Packet.Type == socketio.Connect || m.Packet.Type == socketio.ConnectError) {
			return m.Packet, c
		}
	}
}

// Issue 13 point 3 over Socket.IO: the connect answer of a durable client
// id's first session carries its resume token (auth.resumeToken gives it
// back); a session that claims the id without it, or with another, gets
// CONNECT_ERROR saying why, one with it is accepted. On either transport.
func TestResumeTokenOverSocketIO(t *testing.T) {
	_, _, _, addr := chatWithSocketIO(t)
	for _, tc := range []struct{ transport, query string }{{"polling", "?transport=polling"}, {"websocket", ""}} {
		t.Run(tc.transport, func(t *testing.T) {
			id := "ann-" + tc.transport
			p, _ := connectAs(t, addr, tc.query, `{"token":"tok","clientId":"`+id+`"}`)
			var answer struct {
				SID         string `json:"sid"`
				ResumeToken string `json:"resumeToken"`
			}
			if p.Type != socketio.Connect || json.Unmarshal(p.Data, &answer) != nil || answer.SID == "" || answer.ResumeToken == "" {
				t.Fatalf("the first connect of %s was answered %s %s, want CONNECT with a sid and a resumeToken", id, p.Type, p.Data)
			}
			for _, wrong := range []string{``, `,"resumeToken":"not-it"`} {
				p, _ := connectAs(t, addr, tc.query, `{"token":"tok","clientId":"`+id+`"`+wrong+`}`)
				if p.Type != socketio.ConnectError || !strings.Contains(string(p.Data), `belongs to another client: give its resume token`) {
					t.Errorf("a session claiming %s with auth ...%s} was answered %s %s, want CONNECT_ERROR naming the resume token", id, wrong, p.Type, p.Data)
				}
			}
			p, _ = connectAs(t, addr, tc.query, `{"token":"tok","clientId":"`+id+`","resumeToken":"`+answer.ResumeToken+`"}`)
			if p.Type != socketio.Connect {
				t.Errorf("a session with %s's resume token was answered %s %s, want CONNECT", id, p.Type, p.Data)
			}
		})
	}
}
