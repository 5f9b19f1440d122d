package engine_test

// The official node socket.io-client against a tiny Socket.IO echo server
// built on this package and the socketio codec, on each transport.

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/socketio"
	"github.com/wiredojo/wiredojo/socketio/engine"
	"github.com/wiredojo/wiredojo/socketio/engineio"
)

// sioEcho serves the events sio-client.js sends: "echo" answers its ack
// with its arguments (binary attachments too), "ask" asks the client a
// question with an ack and emits the answer, "tell" emits "heard",
// "silence" answers nothing. Namespaces "/" and "/custom"; auth
// {"token":"bad"} is refused.
func sioEcho(s *engine.Session) {
	send := func(p socketio.Packet, attachments ...[]byte) {
		ps := []engineio.Packet{{Type: engineio.Message, Data: p.AppendTo(nil)}}
		for _, a := range attachments {
			ps = append(ps, engineio.Packet{Type: engineio.Message, Binary: true, Data: a})
		}
		s.Send(ps...)
	}
	var pending socketio.Packet // a binary packet waiting for its attachments
	var attachments [][]byte
	var nextID uint64
	for {
		m, err := s.Read()
		if err != nil {
			return
		}
		if m.Binary {
			if pending.Attachments == len(attachments) {
				return // an attachment nobody announced
			}
			attachments = append(attachments, m.Data)
			if len(attachments) < pending.Attachments {
				continue
			}
		} else {
			if pending.Attachments > len(attachments) {
				return
			}
			if pending, err = socketio.Decode(m.Data); err != nil {
				return
			}
			pending.Data = append([]byte(nil), pending.Data...)
			attachments = nil
			if pending.Attachments > 0 {
				continue
			}
		}
		p := pending
		pending = socketio.Packet{}
		switch p.Type {
		case socketio.Connect:
			var auth struct{ Token string }
			json.Unmarshal(p.Data, &auth)
			switch {
			case p.Namespace != "/" && p.Namespace != "/custom":
				send(socketio.Packet{Type: socketio.ConnectError, Namespace: p.Namespace, Data: []byte(`{"message":"Invalid namespace"}`)})
			case auth.Token == "bad":
				send(socketio.Packet{Type: socketio.ConnectError, Namespace: p.Namespace, Data: []byte(`{"message":"refused by the middleware"}`)})
			default:
				send(socketio.Packet{Type: socketio.Connect, Namespace: p.Namespace, Data: []byte(`{"sid":"` + s.ID() + p.Namespace + `"}`)})
			}
		case socketio.Event, socketio.BinaryEvent:
			var args []json.RawMessage
			json.Unmarshal(p.Data, &args)
			name, _ := socketio.EventName(p.Data)
			rest, _ := json.Marshal(args[1:])
			switch name {
			case "echo":
				t := socketio.Ack
				if p.Type == socketio.BinaryEvent {
					t = socketio.BinaryAck
				}
				send(socketio.Packet{Type: t, Namespace: p.Namespace, Attachments: len(attachments), ID: p.ID, HasID: true, Data: rest}, attachments...)
			case "ask":
				nextID++
				send(socketio.Packet{Type: socketio.Event, Namespace: p.Namespace, ID: nextID, HasID: true, Data: []byte(`["question",` + string(args[1]) + `]`)})
			case "tell":
				send(socketio.Packet{Type: socketio.Event, Namespace: p.Namespace, Data: []byte(`["heard",` + string(args[1]) + `]`)})
			}
		case socketio.Ack:
			send(socketio.Packet{Type: socketio.Event, Namespace: p.Namespace, Data: []byte(`["answer",` + string(p.Data[1:]))})
		}
	}
}

func TestSocketIOClient(t *testing.T) {
	t.Parallel()
	dir := testdep.NodeDir(t, "socket.io-client")
	srv := engine.NewServer(engine.Options{}, sioEcho)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	for _, mode := range []string{"polling", "websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "node", filepath.Join(dir, "sio-client.js"), hs.URL, mode).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "OK" {
				t.Fatalf("node socket.io-client (%s): %v\n%s", mode, err, out)
			}
		})
	}
}

func TestPythonSocketIOClient(t *testing.T) {
	t.Parallel()
	py := testdep.DebianPython(t, "socketio", pythonPackages)
	srv := engine.NewServer(engine.Options{}, sioEcho)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
	})
	script, err := filepath.Abs("../../testdata/python/sio_client.py")
	if err != nil {
		t.Fatal(err)
	}
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, py, "-I", script, hs.URL, transport).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "OK" {
				t.Fatalf("python-socketio (%s): %v\n%s", transport, err, out)
			}
		})
	}
}

// pythonPackages are the Debian packages of the python-socketio client.
const pythonPackages = "python3-socketio python3-websocket python3-requests"
