package tcpchat_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// A namespace a client creates is set up by Options.NewNamespace before
// any client is in it: a second client that connects while the first
// one's set-up still runs waits for it, and meets the handlers it
// installs.
func TestNewNamespaceSetUpBeforeAnyoneJoins(t *testing.T) {
	entered, release := make(chan *tcpchat.Namespace, 1), make(chan struct{})
	var connected atomic.Int32
	srv := tcpchat.NewServer(tcpchat.Options{NewNamespace: func(ns *tcpchat.Namespace) {
		entered <- ns
		<-release
		ns.OnConnection(func(*tcpchat.Socket) { connected.Add(1) })
	}})
	addr := chattest.NewServer(t, srv)
	open := sync.OnceFunc(func() { close(release) })
	t.Cleanup(open) // before the server closes: it waits for the set-up
	a, b := chattest.DialRaw(t, addr, true), chattest.DialRaw(t, addr, true)
	a.Handshake(t, "")
	b.Handshake(t, "")

	a.Send(t, wire.Packet{Type: wire.TypeConnect, Namespace: "/x"})
	ns := chattest.Recv(t, "the set-up of /x for the first client", entered)
	b.Send(t, wire.Packet{Type: wire.TypeConnect, Namespace: "/x"})
	chattest.Eventually(t, "the second client's connect to wait in /x for its set-up", func() bool { return tcpchat.NamespacePins(ns) == 2 })
	open()

	a.Expect(t, wire.TypeConnect)
	b.Expect(t, wire.TypeConnect)
	chattest.Eventually(t, "OnConnection, installed by the set-up, to run for both clients", func() bool { return connected.Load() == 2 })
}
