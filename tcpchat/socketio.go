package tcpchat

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/wiredojo/wiredojo/socketio"
	"github.com/wiredojo/wiredojo/socketio/client"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// The client's Socket.IO transport: Dial with a socketio://, http:// or
// https:// URL opens an Engine.IO session (package socketio/client) and
// this Transport translates the event protocol's packets to Socket.IO
// packets and back, the mirror of what package tcpchat/sio does on the
// server side. The handshake has no Socket.IO packet: the welcome is made
// here, and the access token travels in each namespace's CONNECT auth as
// "token" (where the chat server's Socket.IO side reads it), with the
// namespace's "pid" and "offset" after a reconnection (sioRecovery).

// ErrNotOverSocketIO is matched by the error of Dial when ClientOptions
// ask for what a Socket.IO server cannot give: a durable client id (and
// so durable queues).
var ErrNotOverSocketIO = errors.New("tcpchat: not available over Socket.IO")

// IsSocketIOURL reports whether addr is a socketio://, http:// or https://
// URL, which Dial reaches as a Socket.IO client.
func IsSocketIOURL(addr string) bool { return client.IsURL(addr) }

// dialSocketIO opens the Socket.IO transport to a URL; rec is the
// client's connection state recovery, shared by its transports.
func dialSocketIO(ctx context.Context, url string, cfg *tls.Config, maxMessage int, rec *sioRecovery) (Transport, error) {
	c, err := client.Dial(ctx, url, client.Options{TLSConfig: cfg, MaxMessage: maxMessage})
	if err != nil {
		return nil, err
	}
	return &sioTransport{c: c, rec: rec}, nil
}

// sioRecovery is a client's Socket.IO connection state recovery, kept
// across its reconnections as the reference client keeps it: per
// namespace, the pid of the server's last CONNECT answer (a server that
// recovers sessions sends one) and the offset of the last event received
// since (its last argument when that is a string: a recovering node server
// appends it to each broadcast). A CONNECT to a namespace with a pid
// carries both in its auth, so that the server may give the socket back
// its id and rooms and send what it missed. Only namespaces the client
// asked for (ask) are kept: a server's CONNECT packets for others, however
// many, add nothing.
type sioRecovery struct {
	mu sync.Mutex
	ns map[string]sioResume // guarded by mu; the namespaces asked
}

type sioResume struct{ pid, offset string }

// ask records that a CONNECT to ns is being sent, and returns what it
// carries back.
func (r *sioRecovery) ask(ns string) sioResume {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ns == nil {
		r.ns = make(map[string]sioResume)
	}
	res, ok := r.ns[ns]
	if !ok {
		r.ns[ns] = res
	}
	return res
}

// connected records a CONNECT answer's pid for ns, if the client asked
// for ns ("" forgets the pid); the offset is kept when the pid is the same
// (the session was recovered).
func (r *sioRecovery) connected(ns, pid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.ns[ns]; ok && old.pid != pid {
		r.ns[ns] = sioResume{pid: pid}
	}
}

// received records the offset an event to ns carries, if ns has a pid.
func (r *sioRecovery) received(ns string, args []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, ok := r.ns[ns]
	if !ok || res.pid == "" {
		return
	}
	if off, ok := lastStringArg(args); ok && off != res.offset {
		res.offset = off
		r.ns[ns] = res
	}
}

// lastStringArg returns the last element of a JSON array when it is a
// string.
func lastStringArg(args []byte) (string, bool) {
	end := len(args) - 1
	for end >= 0 && args[end] != ']' {
		end--
	}
	i := end - 1
	for i >= 0 && (args[i] == ' ' || args[i] == '\t' || args[i] == '\n' || args[i] == '\r') {
		i--
	}
	if i < 1 || args[i] != '"' {
		return "", false
	}
	quote := i
	// The opening quote: the first one before quote not escaped (an even
	// number of backslashes before it).
	for i--; i >= 0; i-- {
		if args[i] != '"' {
			continue
		}
		n := 0
		for j := i - 1; j >= 0 && args[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			break
		}
	}
	if i < 1 {
		return "", false
	}
	j := i - 1
	for j >= 0 && (args[j] == ' ' || args[j] == '\t' || args[j] == '\n' || args[j] == '\r') {
		j--
	}
	if j < 0 || (args[j] != ',' && args[j] != '[') {
		return "", false
	}
	var s string
	if json.Unmarshal(args[i:quote+1], &s) != nil {
		return "", false
	}
	return s, true
}

// sioTransport is the Transport over a Socket.IO session. Its reader's and
// writer's fields belong to the goroutines the Transport contract names;
// mu guards the rest.
type sioTransport struct {
	c   *client.Conn
	rec *sioRecovery // nil: no recovery

	// reader's
	buf  []byte
	args []byte

	// writer's
	token string
	out   []client.Message
	text  []byte

	mu      sync.Mutex
	welcome bool // a handshake was sent: the reader owes the welcome
}

func (t *sioTransport) ReadPacket() ([]byte, error) {
	t.mu.Lock()
	welcome := t.welcome
	t.welcome = false
	t.mu.Unlock()
	if welcome {
		// No heartbeat of the chat's own: the Engine.IO session has its
		// pings, answered and timed by the client.Conn.
		w := wire.Packet{Type: wire.TypeWelcome, Version: wire.Version, SessionID: t.c.Handshake().SID, MaxFrame: uint32(max(t.c.Handshake().MaxPayload, 0))}
		t.buf = w.AppendTo(t.buf[:0])
		return t.buf, nil
	}
	for {
		m, err := t.c.Read()
		if err != nil {
			return nil, err
		}
		p, ok, err := t.translate(m)
		if err != nil {
			return nil, err
		}
		if ok {
			t.buf = p.AppendTo(t.buf[:0])
			return t.buf, nil
		}
	}
}

// translate turns a Socket.IO packet from the server into an event
// protocol packet (ok false: none).
func (t *sioTransport) translate(m client.Message) (wire.Packet, bool, error) {
	sp := m.Packet
	ns := sp.Namespace
	data := sp.Data
	if sp.Type.IsBinary() {
		var err error
		if data, err = wire.InlineAttachments(data, m.Attachments); err != nil {
			return wire.Packet{}, false, fmt.Errorf("%w: %w", client.ErrProtocol, err)
		}
	}
	if sp.HasID && sp.ID > 1<<32-1 {
		return wire.Packet{}, false, fmt.Errorf("%w: ack id %d beyond 32 bits", client.ErrProtocol, sp.ID)
	}
	switch sp.Type {
	case socketio.Connect:
		var ok struct {
			SID string `json:"sid"`
			PID string `json:"pid"`
		}
		json.Unmarshal(data, &ok) // an object: checked by Decode
		if t.rec != nil {
			t.rec.connected(ns, ok.PID)
		}
		return wire.Packet{Type: wire.TypeConnect, Namespace: ns, SocketID: ok.SID}, true, nil
	case socketio.ConnectError:
		var reason struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(data, &reason); err != nil {
			json.Unmarshal(data, &reason.Message) // a string
		}
		return wire.Packet{Type: wire.TypeConnectError, Namespace: ns, Reason: reason.Message}, true, nil
	case socketio.Disconnect:
		return wire.Packet{Type: wire.TypeDisconnect, Namespace: ns, Reason: "server namespace disconnect"}, true, nil
	case socketio.Event, socketio.BinaryEvent:
		name, args, ok := t.splitEvent(data)
		if !ok {
			return wire.Packet{}, false, fmt.Errorf("%w: event payload %.40s", client.ErrProtocol, data)
		}
		if t.rec != nil {
			t.rec.received(ns, args)
		}
		return wire.Packet{Type: wire.TypeEvent, Namespace: ns, Event: name, Args: args, HasAck: sp.HasID, AckID: uint32(sp.ID)}, true, nil
	case socketio.Ack, socketio.BinaryAck:
		return wire.Packet{Type: wire.TypeAck, Namespace: ns, AckID: uint32(sp.ID), Args: data}, true, nil
	}
	return wire.Packet{}, false, nil
}

// splitEvent returns the name of an EVENT payload (a string, or a
// number's text) and the array of the other arguments, in t.args.
func (t *sioTransport) splitEvent(data []byte) (string, []byte, bool) {
	name, ok := socketio.EventName(data)
	rest := data
	if ok {
		// Skip the name: the first '"' not escaped after the opening one.
		i := bytes.IndexByte(data, '"') + 1
		for i < len(data) && data[i] != '"' {
			if data[i] == '\\' {
				i++
			}
			i++
		}
		rest = data[min(i+1, len(data)):]
	} else {
		var all []json.RawMessage
		if json.Unmarshal(data, &all) != nil || len(all) == 0 {
			return "", nil, false
		}
		name = string(all[0]) // a number
		i := bytes.Index(data, all[0]) + len(all[0])
		rest = data[i:]
	}
	rest = rest[skipSpace(rest):]
	t.args = append(t.args[:0], '[')
	switch {
	case len(rest) > 0 && rest[0] == ',':
		t.args = append(t.args, rest[1:]...)
	case len(rest) > 0 && rest[0] == ']':
		t.args = append(t.args, ']')
	default:
		return "", nil, false
	}
	return name, t.args, true
}

func skipSpace(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// WritePackets translates the client's packets into Socket.IO packets and
// sends them.
func (t *sioTransport) WritePackets(payloads [][]byte) error {
	t.out = t.out[:0]
	t.text = t.text[:0]
	var v wire.View
	for _, b := range payloads {
		if err := wire.Parse(b, &v); err != nil {
			return err
		}
		if err := t.write(&v); err != nil {
			return err
		}
	}
	err := t.c.Write(t.out...)
	clear(t.out)
	return err
}

func (t *sioTransport) add(p socketio.Packet, data []byte) {
	if len(data) > 0 {
		var atts [][]byte
		if data, atts = wire.ExtractAttachments(data); len(atts) > 0 {
			p.Attachments = len(atts)
			p.Type += socketio.BinaryEvent - socketio.Event // EVENT, ACK to BINARY_EVENT, BINARY_ACK
		}
		p.Data = data
		t.out = append(t.out, client.Message{Packet: p, Attachments: atts})
		return
	}
	t.out = append(t.out, client.Message{Packet: p})
}

func (t *sioTransport) write(v *wire.View) error {
	ns := string(v.Namespace)
	switch v.Type {
	case wire.TypeHandshake:
		if len(v.ClientID) > 0 {
			return fmt.Errorf("%w: a durable client id", ErrNotOverSocketIO)
		}
		t.token = string(v.Token)
		t.mu.Lock()
		t.welcome = true
		t.mu.Unlock()
	case wire.TypeConnect:
		auth, err := t.auth(ns, v.Args)
		if err != nil {
			return err
		}
		t.add(socketio.Packet{Type: socketio.Connect, Namespace: ns}, auth)
	case wire.TypeDisconnect:
		t.add(socketio.Packet{Type: socketio.Disconnect, Namespace: ns}, nil)
	case wire.TypeEvent:
		start := len(t.text)
		t.text = wire.AppendEventArray(t.text, string(v.Event), v.Args)
		t.add(socketio.Packet{Type: socketio.Event, Namespace: ns, ID: uint64(v.AckID), HasID: v.HasAck}, t.text[start:len(t.text):len(t.text)])
	case wire.TypeAck:
		args := v.Args
		if len(args) == 0 {
			args = []byte("[]")
		}
		t.add(socketio.Packet{Type: socketio.Ack, Namespace: ns, ID: uint64(v.AckID), HasID: true}, args)
	}
	// Pongs, getAlls, receipts, errors: Socket.IO has no such packets (the
	// session's pings are answered by the client.Conn).
	return nil
}

// auth returns a CONNECT's auth payload: the namespace's (an object, or
// nothing) with the access token added as "token", and the pid and offset
// of the namespace's last session (sioRecovery).
func (t *sioTransport) auth(ns string, args []byte) ([]byte, error) {
	args = bytes.TrimSpace(args)
	if len(args) > 0 && args[0] != '{' {
		return nil, fmt.Errorf("%w: a Socket.IO auth payload is a JSON object, not %.20s", ErrNotOverSocketIO, args)
	}
	var res sioResume
	if t.rec != nil {
		res = t.rec.ask(ns)
	}
	if t.token == "" && res.pid == "" {
		return args, nil
	}
	start := len(t.text)
	t.text = append(t.text, '{')
	field := func(name, value string) {
		if len(t.text) > start+1 {
			t.text = append(t.text, ',')
		}
		t.text = wire.AppendJSONString(append(wire.AppendJSONString(t.text, name), ':'), value)
	}
	if t.token != "" {
		field("token", t.token)
	}
	if res.pid != "" {
		field("pid", res.pid)
		if res.offset != "" {
			field("offset", res.offset)
		}
	}
	if len(args) > 0 {
		if rest := bytes.TrimSpace(args[1:]); len(rest) > 0 && rest[0] != '}' {
			t.text = append(t.text, ',')
		}
		t.text = append(t.text, args[1:]...)
	} else {
		t.text = append(t.text, '}')
	}
	return t.text[start:len(t.text):len(t.text)], nil
}

func (t *sioTransport) SetReadDeadline(d time.Time) error  { return t.c.SetReadDeadline(d) }
func (t *sioTransport) SetWriteDeadline(d time.Time) error { return t.c.SetWriteDeadline(d) }
func (t *sioTransport) Close() error                       { return t.c.Close() }
func (t *sioTransport) RemoteAddr() net.Addr               { return t.c.RemoteAddr() }
