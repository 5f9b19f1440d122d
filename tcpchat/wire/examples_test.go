package wire_test

import (
	"encoding/json"

	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// examples holds one packet of every type, used by the round-trip tests, the
// fuzz seeds and the hex dumps of docs/PROTOCOL.md.
var examples = []struct {
	name string
	p    wire.Packet
}{
	{"handshake", wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, ClientID: "c1", ResumeOffset: 0, Token: "s3cret"}},
	{"welcome", wire.Packet{Type: wire.TypeWelcome, Version: wire.Version, ClientID: "c1", SessionID: "s7", PingInterval: 25000, PingTimeout: 20000, MaxFrame: 1 << 20}},
	{"handshake-resume-token", wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, ClientID: "c1", ResumeToken: "9f2c"}},
	{"welcome-resume-token", wire.Packet{Type: wire.TypeWelcome, Version: wire.Version, ClientID: "c1", SessionID: "s7", PingInterval: 25000, PingTimeout: 20000, MaxFrame: 1 << 20, ResumeToken: "9f2c"}},
	{"welcome-resumed", wire.Packet{Type: wire.TypeWelcome, Version: wire.Version, ClientID: "c1", SessionID: "s7", PingInterval: 25000, PingTimeout: 20000, MaxFrame: 1 << 20, Resumed: true}},
	{"connect-request", wire.Packet{Type: wire.TypeConnect, Namespace: "/chat", Args: json.RawMessage(`{"name":"ann"}`)}},
	{"connect-reply", wire.Packet{Type: wire.TypeConnect, Namespace: "/chat", SocketID: "k2"}},
	{"connect-error", wire.Packet{Type: wire.TypeConnectError, Namespace: "/chat", Reason: "bad token"}},
	{"disconnect", wire.Packet{Type: wire.TypeDisconnect, Namespace: "/chat", Reason: "bye"}},
	{"event", wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: json.RawMessage(`["hi"]`)}},
	{"event-with-ack", wire.Packet{Type: wire.TypeEvent, Namespace: "/", Event: "echo", HasAck: true, AckID: 7, Args: json.RawMessage(`[1,2]`)}},
	{"ack", wire.Packet{Type: wire.TypeAck, Namespace: "/", AckID: 7, Args: json.RawMessage(`[1,2]`)}},
	{"ping", wire.Packet{Type: wire.TypePing}},
	{"pong", wire.Packet{Type: wire.TypePong}},
	{"error", wire.Packet{Type: wire.TypeError, Code: wire.CodeRateLimited, Reason: "rate limit"}},
	{"queued-event", wire.Packet{Type: wire.TypeQueued, Namespace: "/", Event: "news", MessageID: "m9", Offset: 3, Args: json.RawMessage(`[true]`)}},
	{"getAll", wire.Packet{Type: wire.TypeGetAll, Namespace: "/", Offset: 2}},
	{"received", wire.Packet{Type: wire.TypeReceived, Namespace: "/", MessageID: "m9", Offset: 3}},
}
