package sio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/socketio/engine"
	"github.com/wiredojo/wiredojo/socketio/engineio"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// wait bounds every wait of these tests.
const wait = 20 * time.Second

// chatWithSocketIO starts a chat server with the Socket.IO transport: "/"
// has "slow" (never acks) and "ask" (asks the client "question" with an
// ack, emits "answer" with the answer or "timeout"; 300 ms for "silent"),
// "/chat" the built-ins and a middleware refusing the name "intruder".
// Connection state recovery is on (a memory store), the token is "tok".
func chatWithSocketIO(t *testing.T) (srv *tcpchat.Server, sio *Server, st store.Store, addr string) {
	t.Helper()
	st = store.NewMemory(store.Options{})
	srv = tcpchat.NewServer(tcpchat.Options{Token: "tok", Store: st, RecoveryStore: st})
	var asks sync.WaitGroup
	t.Cleanup(asks.Wait)
	main := srv.Of("/")
	main.On("slow", func(*tcpchat.Event) {})
	main.On("ask", func(e *tcpchat.Event) {
		s, arg := e.Socket, append(json.RawMessage(nil), e.Arg(0)...)
		asks.Add(1)
		go func() {
			defer asks.Done()
			// An answer may take long on a loaded machine; silence is
			// waited for briefly.
			timeout := wait
			if string(arg) == `"silent"` {
				timeout = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			var x any
			json.Unmarshal(arg, &x)
			ans, err := s.EmitWithAck(ctx, "question", x)
			if err != nil {
				s.Emit("answer", "timeout")
				return
			}
			s.EmitRaw("answer", ans)
		}()
	})
	chat := srv.Of("/chat")
	chat.Use(func(s *tcpchat.Socket, auth json.RawMessage) error {
		var a struct{ Name string }
		json.Unmarshal(auth, &a)
		if a.Name == "intruder" {
			return errors.New("intruders are refused")
		}
		return nil
	})
	builtin.Install(chat)
	sio = New(srv, Options{Recovery: true})
	srv.HandleHTTP(Path, sio)
	t.Cleanup(func() { sio.Close() })
	addr = chattest.NewServer(t, srv)
	return srv, sio, st, addr
}

// scenario runs a client program that prints "STEP <name> [data]" lines
// and reads a line from stdin where the test must act; it returns a
// function that waits for a step (and returns its data) and one that
// writes a line to the program.
func scenario(t *testing.T, name string, args ...string) (next func(step string) string, say func(string)) {
	t.Helper()
	p := testkit.StartProc(t, exec.Command(name, args...), 0)
	lines := p.Lines
	var log []string
	next = func(step string) string {
		t.Helper()
		timeout := time.After(wait)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("%s ended before step %q:\n%s", name, step, strings.Join(log, "\n"))
				}
				log = append(log, l)
				if step == "OK" && l == "OK" {
					return ""
				}
				if rest, ok := strings.CutPrefix(l, "STEP "+step); ok {
					return strings.TrimSpace(rest)
				}
				if strings.HasPrefix(l, "FAIL") || l == "OK" {
					t.Fatalf("waiting for step %q, %s said:\n%s", step, name, strings.Join(log, "\n"))
				}
			case <-timeout:
				t.Fatalf("%s did not reach step %q in %v:\n%s", name, step, wait, strings.Join(log, "\n"))
			}
		}
	}
	say = func(l string) { p.Say(l) }
	return next, say
}

// lobbyMember is a framed-TCP client of /chat named "tcp" in room lobby.
func lobbyMember(t *testing.T, addr string) (*tcpchat.ClientSocket, <-chan chattest.Received) {
	t.Helper()
	tcp := chattest.Dial(t, addr, tcpchat.ClientOptions{Token: "tok"})
	var rec <-chan chattest.Received
	sock := chattest.Connect(t, tcp, "/chat", map[string]string{"name": "tcp"}, func(s *tcpchat.ClientSocket) { rec = chattest.Record(s) })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := sock.EmitWithAck(ctx, builtin.EventJoin, "lobby"); err != nil {
		t.Fatal(err)
	}
	return sock, rec
}

// TestSocketIOClient runs the official socket.io-client through the whole
// scenario of sio-chat.js on each transport, with a framed-TCP member of
// the same room.
func TestSocketIOClient(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"polling", "websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srv, sio, st, addr := chatWithSocketIO(t)
			sock, rec := lobbyMember(t, addr)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			dir := testdep.NodeDir(t, "socket.io-client")
			next, say := scenario(t, "node", filepath.Join(dir, "sio-chat.js"), "http://"+addr, mode)
			next("connected")
			next("refusals")
			next("echo")
			next("acks")
			next("joined")
			if _, err := sock.EmitWithAck(ctx, builtin.EventMessage, "hello from tcp"); err != nil {
				t.Fatal(err)
			}
			say("said")
			next("said")
			hears(t, rec, "sio", "hello from sio")
			say("heard")

			sid := next("engine")
			s := sio.eng.Session(sid)
			if s == nil {
				t.Fatalf("no Engine.IO session %q", sid)
			}
			s.Close()
			next("dropped")
			// The chat connection must be gone (its session saved) before
			// the message it is to miss.
			chattest.Eventually(t, "the dropped session's chat connection to go (1 left)", func() bool {
				return srv.Connections() <= 1
			})
			if _, err := sock.EmitWithAck(ctx, builtin.EventMessage, "while you were away"); err != nil {
				t.Fatal(err)
			}
			say("reconnect")
			next("recovered")
			hears(t, rec, "sio", "back again")

			next("durable-ready")
			req := builtin.DurableRequest{To: []string{"sio-durable"}, Event: "note", Args: json.RawMessage(`["kept"]`)}
			if ack, err := sock.EmitWithAck(ctx, builtin.EventDurable, req); err != nil || strings.Contains(string(ack), "error") {
				t.Fatalf("durable emit: %s %v", ack, err)
			}
			next("durable-acked")
			chattest.Eventually(t, "the Socket.IO ack to empty the durable queue", func() bool {
				left, err := st.Pending(ctx, "sio-durable", 0, 10, nil)
				if err != nil {
					t.Fatal(err)
				}
				return len(left) == 0
			})
			say("durable-done")
			next("OK")
		})
	}
}

func hears(t *testing.T, rec <-chan chattest.Received, who, text string) {
	t.Helper()
	r := chattest.Next(t, rec)
	var args []builtin.ChatMessage
	if r.Name != builtin.EventMessage || json.Unmarshal([]byte(r.Args), &args) != nil || len(args) != 1 || args[0].From != who || args[0].Text != text {
		t.Fatalf("got %s %s, want a message %q from %s", r.Name, r.Args, text, who)
	}
}

// TestPythonSocketIOClient runs Debian's python3-socketio client against
// the chat: built-ins, binary, a room shared with a framed-TCP client.
func TestPythonSocketIOClient(t *testing.T) {
	t.Parallel()
	py := testdep.DebianPython(t, "socketio", "python3-socketio python3-websocket python3-requests")
	script, err := filepath.Abs("../../testdata/python/sio_chat.py")
	if err != nil {
		t.Fatal(err)
	}
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			_, _, _, addr := chatWithSocketIO(t)
			sock, rec := lobbyMember(t, addr)
			next, say := scenario(t, py, "-I", script, "http://"+addr, transport)
			next("joined")
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if _, err := sock.EmitWithAck(ctx, builtin.EventMessage, "hello from tcp"); err != nil {
				t.Fatal(err)
			}
			say("said")
			next("said")
			hears(t, rec, "py", "hello from python")
			say("heard")
			next("OK")
		})
	}
}

// heartbeatChat starts a chat server with namespace "/" only, the chat's
// ping interval and timeout both chat, and the Socket.IO transport with
// the engine's ping interval and timeout.
func heartbeatChat(t *testing.T, chat, interval, timeout time.Duration) (*tcpchat.Server, string) {
	srv := tcpchat.NewServer(tcpchat.Options{PingInterval: chat, PingTimeout: chat})
	srv.Of("/")
	s := New(srv, Options{Engine: engine.Options{PingInterval: interval, PingTimeout: timeout}})
	srv.HandleHTTP(Path, s)
	t.Cleanup(func() { s.Close() })
	return srv, chattest.NewServer(t, srv)
}

// openEngine opens an Engine.IO session over WebSocket to addr's
// Socket.IO transport and reads its open packet; the connection has a read
// deadline of wait and is closed when the test ends.
func openEngine(t *testing.T, ctx context.Context, addr string) *ws.Conn {
	t.Helper()
	c, err := ws.Dial(ctx, "ws://"+addr+Path+"?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	c.SetReadDeadline(time.Now().Add(wait))
	if _, open, err := c.ReadMessage(); err != nil || len(open) == 0 || open[0] != '0' {
		t.Fatalf("open packet: %q %v", open, err)
	}
	return c
}

// connectEngine is openEngine followed by a Socket.IO CONNECT to "/"
// (without auth).
func connectEngine(t *testing.T, ctx context.Context, addr string) *ws.Conn {
	t.Helper()
	c := openEngine(t, ctx, addr)
	if err := c.WriteMessage(ws.OpText, []byte("40")); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHeartbeatByEnginePongs checks that a Socket.IO client that only
// answers the Engine.IO pings stays connected past the chat's heartbeat
// deadline (its pongs are read as chat pongs), and that one that does not
// answer them is cut.
func TestHeartbeatByEnginePongs(t *testing.T) {
	srv, addr := heartbeatChat(t, time.Second, 100*time.Millisecond, 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	// The client answers every ping (each 100 ms) for 6 s (the chat's
	// deadline is 2 s) and must still be connected. Its reads never time
	// out (a WebSocket read that times out ends the connection): the
	// pings end each one.
	c := connectEngine(t, ctx, addr)
	end := time.Now().Add(6 * time.Second)
	pongs := 0
	for time.Now().Before(end) {
		c.SetReadDeadline(time.Now().Add(wait))
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("after %d pongs: %v", pongs, err)
		}
		if string(msg) == "2" {
			pongs++
			c.WriteMessage(ws.OpText, []byte("3"))
		}
	}
	if srv.Connections() != 1 {
		t.Fatalf("%d chat connections after %d pongs, want 1", srv.Connections(), pongs)
	}
	c.CloseNow()
	chattest.Eventually(t, "the first client to be gone", func() bool { return srv.Connections() == 0 })
	// A client that answers nothing is cut by the chat's deadline.
	c = connectEngine(t, ctx, addr)
	c.SetReadDeadline(time.Now().Add(wait))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			break
		}
	}
	chattest.Eventually(t, "the silent client to be cut", func() bool { return srv.Connections() == 0 })
}

// TestPongBeforeConnect checks that a client that answers Engine.IO pings
// before it sends its Socket.IO CONNECT (pings sooner than its CONNECT, as
// the socket.io protocol test suite's server sends them) is connected: its
// pongs are the engine's heartbeat, not a chat packet before the handshake.
func TestPongBeforeConnect(t *testing.T) {
	srv, addr := heartbeatChat(t, time.Minute, 50*time.Millisecond, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c := openEngine(t, ctx, addr)
	for pongs := 0; pongs < 2; {
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for the engine's ping %d before CONNECT: %v", pongs+1, err)
		}
		if string(msg) == "2" {
			pongs++
			if err := c.WriteMessage(ws.OpText, []byte("3")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.WriteMessage(ws.OpText, []byte("40")); err != nil {
		t.Fatal(err)
	}
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for the answer to CONNECT after two pongs: %v", err)
		}
		if strings.HasPrefix(string(msg), "40{") {
			break
		}
		if string(msg) == "2" {
			c.WriteMessage(ws.OpText, []byte("3"))
			continue
		}
		t.Fatalf("after two pongs and CONNECT: %q, want the connect answer 40{...}", msg)
	}
	chattest.Eventually(t, "the chat connection", func() bool { return srv.Connections() == 1 })
}

// TestParkedSessionEndsWithEngine checks that an idle session, parked on
// the chat server's poller, leaves the chat server as soon as the engine
// ends it (here the client's ping timeout), long before the chat's own
// heartbeat deadline would notice.
func TestParkedSessionEndsWithEngine(t *testing.T) {
	srv, addr := heartbeatChat(t, time.Minute, 200*time.Millisecond, 200*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c := connectEngine(t, ctx, addr)
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("before the CONNECT answer: %v", err)
		}
		if strings.HasPrefix(string(msg), "40") {
			break
		}
	}
	chattest.Eventually(t, "one chat connection", func() bool { return srv.Connections() == 1 })
	// The client answers no ping: the engine ends the session after
	// 400 ms; the chat's deadline is two minutes away.
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			break
		}
	}
	chattest.Eventually(t, "the chat connection to end with the session", func() bool { return srv.Connections() == 0 })
}

// serverReaders counts the goroutines reading a chat server connection.
func serverReaders() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Count(buf[:n], []byte("tcpchat.(*conn).loop("))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestUpgradedSessionParks checks that a session that connects while
// polling (as the reference client does: CONNECT in a POST, then the
// upgrade) parks on the chat server's poller once it reads the WebSocket,
// and still works after.
func TestUpgradedSessionParks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the chat server parks connections on Linux only")
	}
	_, _, _, addr := chatWithSocketIO(t)
	base := "http://" + addr + Path + "?EIO=4&transport=polling"
	get := func(url string) string {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	open := get(base)
	var hs engineio.Handshake
	if p, err := engineio.DecodeText([]byte(open)); err != nil {
		t.Fatalf("open %q: %v", open, err)
	} else if hs, err = engineio.ParseHandshake(p); err != nil {
		t.Fatal(err)
	}
	url := base + "&sid=" + hs.SID
	resp, err := http.Post(url, "text/plain", strings.NewReader(`40/chat,{"token":"tok"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := get(url); !strings.HasPrefix(got, "40/chat,") {
		t.Fatalf("poll after CONNECT: %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := ws.Dial(ctx, "ws://"+addr+Path+"?EIO=4&transport=websocket&sid="+hs.SID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadDeadline(time.Now().Add(wait))
	c.WriteMessage(ws.OpText, []byte("2probe"))
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "3probe" {
		t.Fatalf("probe answer %q %v", msg, err)
	}
	c.WriteMessage(ws.OpText, []byte("5"))
	// The chat server reads the WebSocket after its next packet.
	echo := func(n int) {
		t.Helper()
		c.WriteMessage(ws.OpText, []byte(fmt.Sprintf(`42/chat,%d["echo",%d]`, n, n)))
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if string(msg) == fmt.Sprintf(`43/chat,%d[%d]`, n, n) {
				return
			}
			if string(msg) == "2" {
				c.WriteMessage(ws.OpText, []byte("3"))
			}
		}
	}
	echo(1)
	chattest.Eventually(t, "no goroutine reading the upgraded session", func() bool { return serverReaders() == 0 })
	echo(2)
	chattest.Eventually(t, "the session to park again", func() bool { return serverReaders() == 0 })
}

// TestGoClientRecovers checks the Go client's connection state recovery
// against this server: dropped, it comes back with the pid its CONNECT
// answer gave, gets its room back and the room's message it missed.
func TestGoClientRecovers(t *testing.T) {
	t.Parallel()
	for _, query := range []string{"", "?transport=polling"} {
		t.Run("query="+query, func(t *testing.T) {
			t.Parallel()
			srv, sio, _, addr := chatWithSocketIO(t)
			sock, _ := lobbyMember(t, addr)
			states := make(chan bool, 16)
			// The reconnection waits long enough for the test to see the
			// dropped connection gone.
			c := chattest.Dial(t, "socketio://"+addr+query, tcpchat.ClientOptions{Token: "tok", BackoffMin: 500 * time.Millisecond, BackoffMax: 500 * time.Millisecond,
				OnState: func(up bool, _ error) { states <- up }})
			chattest.Recv(t, "the first connected state", states)
			s := chattest.Connect(t, c, "/chat", map[string]string{"name": "go"}, nil)
			events := chattest.Record(s)
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if _, err := s.EmitWithAck(ctx, builtin.EventJoin, "lobby"); err != nil {
				t.Fatal(err)
			}
			es := sio.eng.Session(c.SessionID())
			if es == nil {
				t.Fatalf("no Engine.IO session %q", c.SessionID())
			}
			es.Close()
			if chattest.Recv(t, "the lost state", states) {
				t.Fatal("connected again before the loss")
			}
			chattest.Eventually(t, "the dropped session's chat connection to go (1 left)", func() bool {
				return srv.Connections() <= 1
			})
			if _, err := sock.EmitWithAck(ctx, builtin.EventMessage, "while you were away"); err != nil {
				t.Fatal(err)
			}
			if !chattest.Recv(t, "the connected state", states) {
				t.Fatal("no reconnection")
			}
			hears(t, events, "tcp", "while you were away")
		})
	}
}

// TestMalformedEventEnds checks that an EVENT or ACK whose JSON is not
// valid ends the connection although the transport leaves that JSON to
// the chat server (socketio.DecodeRouting): in the arguments, in the
// event's name (a control character, a bad number), after the array; and
// that a valid event before it is answered.
func TestMalformedEventEnds(t *testing.T) {
	srv, _, _, addr := chatWithSocketIO(t)
	for _, bad := range []string{
		`42/chat,["echo",{]`,
		`42/chat,["echo" 1]`,
		`42/chat,["echo",1] x`,
		"42/chat,[\"ec\x01ho\",1]",
		`42/chat,[1e,1]`,
		`43/chat,5[}`,
		`42/chat,["echo",1]]`,
		`42/chat,["echo",1}`,
		`43/chat,5[1}`,
	} {
		t.Run(bad, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			c, err := ws.Dial(ctx, "ws://"+addr+Path+"?EIO=4&transport=websocket", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			c.SetReadDeadline(time.Now().Add(wait))
			next := func() string {
				t.Helper()
				for {
					_, msg, err := c.ReadMessage()
					if err != nil {
						t.Fatalf("read: %v", err)
					}
					if string(msg) != "2" {
						return string(msg)
					}
					c.WriteMessage(ws.OpText, []byte("3"))
				}
			}
			if open := next(); !strings.HasPrefix(open, "0") {
				t.Fatalf("open packet %q", open)
			}
			c.WriteMessage(ws.OpText, []byte(`40/chat,{"token":"tok"}`))
			if got := next(); !strings.HasPrefix(got, "40/chat,") {
				t.Fatalf("CONNECT answer %q", got)
			}
			c.WriteMessage(ws.OpText, []byte(`42/chat,1["echo","ok"]`))
			if got := next(); got != `43/chat,1["ok"]` {
				t.Fatalf("echo answer %q", got)
			}
			c.WriteMessage(ws.OpText, []byte(bad))
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					break // the connection ended
				}
				if strings.HasPrefix(string(msg), "4") && string(msg) != "41/chat," {
					t.Fatalf("after %q: %q", bad, msg)
				}
			}
			chattest.Eventually(t, "the chat connection to end", func() bool { return srv.Connections() == 0 })
		})
	}
}
