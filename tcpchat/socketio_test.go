package tcpchat_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/sio"
)

// nodeSocketIO starts node's socket.io 4.8 server
// (testdata/node/sio-server.js, which lists its handlers and args) and
// returns its HOST:PORT; it ends with the test.
func nodeSocketIO(t *testing.T, args ...string) string {
	t.Helper()
	dir := testdep.NodeDir(t, "socket.io")
	p := testkit.StartProc(t, exec.Command("node", append([]string{filepath.Join(dir, "sio-server.js")}, args...)...), chattest.Timeout)
	for line := range p.Lines {
		if port, ok := strings.CutPrefix(line, "PORT "); ok {
			return "127.0.0.1:" + port
		}
	}
	t.Fatal("node's socket.io server ended before it listened")
	return ""
}

// ackWithin emits with an ack wanted and fails the test without one.
func ackWithin(t *testing.T, s *tcpchat.ClientSocket, event string, args ...any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	got, err := s.EmitWithAck(ctx, event, args...)
	if err != nil {
		t.Fatalf("emit %s with ack: %v", event, err)
	}
	return string(got)
}

// nextNamed returns the next event called name, skipping others.
func nextNamed(t *testing.T, events <-chan chattest.Received, name string) chattest.Received {
	t.Helper()
	for {
		if ev := chattest.Next(t, events); ev.Name == name {
			return ev
		}
	}
}

func TestSocketIOClientNodeServer(t *testing.T) {
	addr := nodeSocketIO(t)
	for _, url := range []string{"socketio://" + addr, "http://" + addr + "/socket.io/?transport=websocket", "socketio://" + addr + "?transport=polling"} {
		name, _, _ := strings.Cut(url, ":")
		if _, q, ok := strings.Cut(url, "?"); ok {
			name += "?" + q
		}
		t.Run(name, func(t *testing.T) {
			states := make(chan bool, 16)
			c := chattest.Dial(t, url, tcpchat.ClientOptions{Token: "tok", BackoffMin: 10 * time.Millisecond,
				OnState: func(up bool, _ error) { states <- up }})
			chattest.Recv(t, "the first connected state", states)
			connects := make(chan string, 4)
			s := chattest.Connect(t, c, "/", map[string]string{"name": "go"}, func(s *tcpchat.ClientSocket) {
				s.OnConnect(func(s *tcpchat.ClientSocket) { connects <- s.ID() })
			})
			events := chattest.Record(s)
			first := chattest.Recv(t, "the socket id", connects)

			// The token travels in the CONNECT's auth.
			if got := ackWithin(t, s, "whoami"); got != `[{"token":"tok","name":"go"}]` {
				t.Errorf("whoami = %s", got)
			}
			// Acks and events both ways, binary attachments both ways.
			if got := ackWithin(t, s, "echo", "hi", 7, map[string]any{"a": []int{1}}); got != `["hi",7,{"a":[1]}]` {
				t.Errorf("echo ack = %s", got)
			}
			if got := ackWithin(t, s, "echo", json.RawMessage(`{"$binary":"AQID"}`), "x"); got != `[{"$binary":"AQID"},"x"]` {
				t.Errorf("binary echo ack = %s", got)
			}
			if err := s.Emit("echo", json.RawMessage(`{"$binary":""}`), json.RawMessage(`[{"$binary":"/w=="}]`)); err != nil {
				t.Fatal(err)
			}
			if ev := chattest.Next(t, events); ev.Name != "echo" || ev.Args != `[{"$binary":""},[{"$binary":"/w=="}]]` {
				t.Errorf("binary echo event = %+v", ev)
			}
			// The server's ack request, answered and not.
			s.On("question", func(e *tcpchat.ClientEvent) {
				var x string
				e.Bind(&x)
				if x == "answer me" {
					e.Ack("yes", json.RawMessage(`{"$binary":"AA=="}`))
				}
			})
			s.Emit("ask", "answer me", 10000)
			// (node passes the ack's first argument to its callback)
			if ev := nextNamed(t, events, "answer"); ev.Args != `["yes"]` {
				t.Errorf("answer = %+v", ev)
			}
			s.Emit("ask", "stay silent", 200)
			if ev := nextNamed(t, events, "answer"); ev.Args != `["timeout"]` {
				t.Errorf("answer = %+v", ev)
			}
			// An ack that never comes ends with the caller's timeout.
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			_, err := s.EmitWithAck(ctx, "slow")
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("slow: %v, want the deadline", err)
			}
			// The middleware's refusal is a ConnectError with its message.
			ctx, cancel = context.WithTimeout(context.Background(), chattest.Timeout)
			_, err = c.Connect(ctx, "/chat", map[string]string{"name": "intruder"})
			cancel()
			var ce *tcpchat.ConnectError
			if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "intruders are refused") {
				t.Errorf("intruder: %v", err)
			}
			// A second namespace on the same session, and a room.
			chat := chattest.Connect(t, c, "/chat", map[string]string{"name": "go"}, nil)
			chatEvents := chattest.Record(chat)
			ackWithin(t, chat, "join", "r1")
			other := chattest.Dial(t, url, tcpchat.ClientOptions{})
			o := chattest.Connect(t, other, "/chat", nil, nil)
			o.Emit("to-room", "r1", "hello room")
			if ev := chattest.Next(t, chatEvents); ev.Name != "message" || ev.Args != `["hello room"]` {
				t.Errorf("room message = %+v", ev)
			}
			// The server drops the session: the client reconnects and
			// joins its namespaces again.
			s.Emit("drop")
			if up := chattest.Recv(t, "the lost state", states); up {
				t.Fatal("connected again before the loss")
			}
			if !chattest.Recv(t, "the connected state", states) {
				t.Fatal("no reconnection")
			}
			if id := chattest.Recv(t, "the socket id after the reconnection", connects); id == first || id == "" {
				t.Errorf("socket id after reconnecting = %q (was %q)", id, first)
			}
			if got := ackWithin(t, s, "echo", "again"); got != `["again"]` {
				t.Errorf("echo after reconnecting = %s", got)
			}
		})
	}
}

// TestSocketIOClientRecoveryNodeServer checks the Go client's connection
// state recovery against node's server with recovery on: after the server
// drops the connection, the client's CONNECT carries the pid and the last
// offset, and the socket comes back with its id and its room, and gets the
// room's message sent while it was away (live or replayed: it could get it
// only back in the room).
func TestSocketIOClientRecoveryNodeServer(t *testing.T) {
	addr := nodeSocketIO(t, "--recovery")
	for name, url := range map[string]string{"upgrade": "socketio://" + addr, "polling": "socketio://" + addr + "?transport=polling"} {
		t.Run(name, func(t *testing.T) {
			states := make(chan bool, 16)
			c := chattest.Dial(t, url, tcpchat.ClientOptions{BackoffMin: 10 * time.Millisecond,
				OnState: func(up bool, _ error) { states <- up }})
			chattest.Recv(t, "the first connected state", states)
			connects := make(chan string, 4)
			s := chattest.Connect(t, c, "/chat", nil, func(s *tcpchat.ClientSocket) {
				s.OnConnect(func(s *tcpchat.ClientSocket) { connects <- s.ID() })
			})
			events := chattest.Record(s)
			first := chattest.Recv(t, "the socket id", connects)
			if got := ackWithin(t, s, "recovered"); got != `[false]` {
				t.Errorf("recovered on the first connection = %s", got)
			}
			ackWithin(t, s, "join", "r1")
			other := chattest.Dial(t, "socketio://"+addr, tcpchat.ClientOptions{})
			o := chattest.Connect(t, other, "/chat", nil, nil)
			o.Emit("to-room", "r1", "before")
			// A broadcast carries its offset as its last argument.
			if ev := nextNamed(t, events, "message"); !strings.HasPrefix(ev.Args, `["before","`) {
				t.Errorf("room message = %+v, want the offset after the text", ev)
			}
			s.Emit("drop-then", "r1", "while away", 200)
			if chattest.Recv(t, "the lost state", states) {
				t.Fatal("connected again before the loss")
			}
			if !chattest.Recv(t, "the connected state", states) {
				t.Fatal("no reconnection")
			}
			if id := chattest.Recv(t, "the socket id after the reconnection", connects); id != first {
				t.Errorf("socket id after recovery = %q, want %q", id, first)
			}
			if ev := nextNamed(t, events, "message"); !strings.HasPrefix(ev.Args, `["while away","`) {
				t.Errorf("message sent while away = %+v", ev)
			}
			if got := ackWithin(t, s, "recovered"); got != `[true]` {
				t.Errorf("recovered after the reconnection = %s", got)
			}
		})
	}
}

func TestSocketIOClientRefusesDurableID(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
	defer cancel()
	_, err := tcpchat.Dial(ctx, "socketio://127.0.0.1:1", tcpchat.ClientOptions{ClientID: "c1"})
	if !errors.Is(err, tcpchat.ErrNotOverSocketIO) {
		t.Fatalf("Dial with a client id = %v, want ErrNotOverSocketIO", err)
	}
}

// TestSocketIOClientOwnServer runs the Go client against the chat server's
// own /socket.io/: the built-ins on "/chat" shared with a framed-TCP client.
func TestSocketIOClientOwnServer(t *testing.T) {
	srv := tcpchat.NewServer(tcpchat.Options{Token: "tok"})
	chat := srv.Of("/chat")
	chat.Use(func(s *tcpchat.Socket, auth json.RawMessage) error {
		var a struct{ Name string }
		json.Unmarshal(auth, &a)
		if a.Name == "intruder" {
			return errors.New("intruders are refused")
		}
		return nil
	})
	asked := make(chan string, 1)
	chat.On("ask", func(e *tcpchat.Event) {
		s := e.Socket
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
			defer cancel()
			ans, err := s.EmitWithAck(ctx, "question", "?")
			if err != nil {
				asked <- err.Error()
				return
			}
			asked <- string(ans)
		}()
	})
	chat.On("drop", func(e *tcpchat.Event) { e.Socket.Disconnect(true) })
	builtin.Install(chat)
	h := sio.New(srv, sio.Options{})
	srv.HandleHTTP(sio.Path, h)
	t.Cleanup(func() { h.Close() })
	addr := chattest.NewServer(t, srv)
	// Polling then the upgrade, and polling only.
	for _, query := range []string{"", "?transport=polling"} {
		t.Run("query="+query, func(t *testing.T) {

			states := make(chan bool, 16)
			c := chattest.Dial(t, "socketio://"+addr+"/chat"+query, tcpchat.ClientOptions{Token: "tok", BackoffMin: 10 * time.Millisecond,
				OnState: func(up bool, _ error) { states <- up }})
			chattest.Recv(t, "the first connected state", states)
			s := chattest.Connect(t, c, "/chat", map[string]string{"name": "sio"}, func(s *tcpchat.ClientSocket) {
				s.On("question", func(e *tcpchat.ClientEvent) { e.Ack("42", json.RawMessage(`{"$binary":"Kg=="}`)) })
			})
			events := chattest.Record(s)
			framed := chattest.Dial(t, addr, tcpchat.ClientOptions{Token: "tok"})
			f := chattest.Connect(t, framed, "/chat", nil, nil)
			fEvents := chattest.Record(f)
			ackWithin(t, s, builtin.EventJoin, "r")
			ackWithin(t, f, builtin.EventJoin, "r")

			// A room shared with a framed-TCP client, both ways.
			s.Emit(builtin.EventMessage, "from sio")
			if ev := chattest.Next(t, fEvents); ev.Name != builtin.EventMessage || !strings.Contains(ev.Args, "from sio") {
				t.Errorf("framed client got %+v", ev)
			}
			f.Emit(builtin.EventMessage, "from tcp")
			if ev := nextNamed(t, events, builtin.EventMessage); !strings.Contains(ev.Args, `"from tcp"`) {
				t.Errorf("socket.io client got %+v", ev)
			}
			if got := ackWithin(t, s, builtin.EventEcho, json.RawMessage(`{"$binary":"AQID"}`)); got != `[{"$binary":"AQID"}]` {
				t.Errorf("echo = %s", got)
			}
			// The server's ack request, answered with a binary.
			s.Emit("ask")
			if got := chattest.Recv(t, "the answer to the question", asked); got != `["42",{"$binary":"Kg=="}]` {
				t.Errorf("answer = %s", got)
			}
			// The token is checked: a client without it is refused.
			bad, err := tcpchat.Dial(context.Background(), "socketio://"+addr+query, tcpchat.ClientOptions{NoReconnect: true})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), chattest.Timeout)
			_, err = bad.Connect(ctx, "/chat", nil)
			cancel()
			bad.Close()
			var ce *tcpchat.ConnectError
			if !errors.As(err, &ce) {
				t.Errorf("without the token: %v, want a ConnectError", err)
			}
			// The server ends the connection: the client comes back.
			s.Emit("drop")
			if chattest.Recv(t, "the lost state", states) {
				t.Fatal("connected again before the loss")
			}
			if !chattest.Recv(t, "the connected state", states) {
				t.Fatal("no reconnection")
			}
			chattest.Eventually(t, "the namespace joined again", s.Connected)
			if got := ackWithin(t, s, builtin.EventEcho, "back"); got != `["back"]` {
				t.Errorf("echo after reconnecting = %s", got)
			}
		})
	}
}
