package wire_test

import (
	"bytes"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// The resume token is a trailing field of the handshake and the welcome:
// present, it round-trips; absent, the encoding is the one of peers that
// do not know it, and a packet ending before it decodes with none.
func TestResumeTokenRoundTrip(t *testing.T) {
	t.Parallel()
	for _, p := range []wire.Packet{
		{Type: wire.TypeHandshake, Version: wire.Version, ClientID: "ann", Token: "s3cret", ResumeToken: "0123456789abcdef0123456789abcdef"},
		{Type: wire.TypeWelcome, Version: wire.Version, ClientID: "ann", SessionID: "s1", PingInterval: 1, PingTimeout: 2, MaxFrame: 3, ResumeToken: "0123456789abcdef0123456789abcdef"},
	} {
		b := p.AppendTo(nil)
		got, err := wire.Decode(b)
		if err != nil || got.ResumeToken != p.ResumeToken || got.ClientID != "ann" {
			t.Fatalf("%s: decoded %+v, %v", p.Type, got, err)
		}
		without := p
		without.ResumeToken = ""
		old := without.AppendTo(nil)
		if !bytes.Equal(old, b[:len(old)]) || len(b) != len(old)+1+len(p.ResumeToken) {
			t.Fatalf("%s: the token is not a trailing str8: % x vs % x", p.Type, b, old)
		}
		if got, err := wire.Decode(old); err != nil || got.ResumeToken != "" {
			t.Fatalf("%s without a token: %+v, %v", p.Type, got, err)
		}
		if _, err := wire.Decode(b[:len(b)-1]); err == nil {
			t.Fatalf("%s: a cut token decoded", p.Type)
		}
	}
}
