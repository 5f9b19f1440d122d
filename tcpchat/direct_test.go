//go:build unix

package tcpchat

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

// TryWritePackets never waits: once the socket is full it keeps the rest,
// and the next WritePackets sends that rest before its own frames, so the
// peer reads every frame whole and in order.
func TestTryWritePacketsKeepsTheRest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	tr := newFramedTransport(server, 1<<20).(*framedTransport)
	if !tr.CanWriteDirect() {
		t.Fatal("a TCP connection cannot be written directly")
	}

	payload := func(i int) []byte {
		b := []byte(strconv.Itoa(i) + ":")
		for len(b) < 3000 {
			b = append(b, 'p')
		}
		return b
	}
	// Nobody reads yet: fill the socket until it takes only part of a batch.
	sent := 0
	for rest := false; !rest; {
		if sent > 100000 { // 300 MB: no socket buffers that much
			t.Fatal("the socket never filled")
		}
		batch := [][]byte{payload(sent), payload(sent + 1)}
		rest, err = tr.TryWritePackets(batch)
		if err != nil {
			t.Fatal(err)
		}
		sent += 2
	}
	// One more batch: the blocking write sends the rest first.
	done := make(chan error, 1)
	last := payload(sent)
	sent++
	go func() { done <- tr.WritePackets([][]byte{last}) }()

	client.SetReadDeadline(time.Now().Add(10 * time.Second)) // no read can hang
	r := framing.NewReader(client, 1<<20)
	for i := range sent {
		p, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d of %d: %v", i, sent, err)
		}
		if want := payload(i); string(p) != string(want) {
			t.Fatalf("frame %d: got %.20q, want %.20q", i, p, want)
		}
	}
	if err := testkit.Recv(t, 10*time.Second, "the blocking write", done); err != nil {
		t.Fatal(err)
	}
	if len(tr.d.rest) != 0 {
		t.Fatalf("%d bytes of rest left", len(tr.d.rest))
	}
}
