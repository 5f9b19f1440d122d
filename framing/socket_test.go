package framing_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case server = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("no connection accepted within 10 s")
	}
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// Over a socket the Reader waits for readability and reads what came in
// one go: frames split anywhere, several in one write, one bigger than the
// small buffer, a clean end between frames, a deadline, a truncation.
func TestReaderOverSocket(t *testing.T) {
	client, server := tcpPair(t)
	r := framing.NewReader(server, 1<<20)
	big := bytes.Repeat([]byte("b"), 10<<10)
	var stream []byte
	want := [][]byte{[]byte("one"), {}, []byte("three"), big, []byte("last")}
	for _, p := range want {
		stream = framing.AppendFrame(stream, p)
	}
	go func() {
		// First a piece of a header, then the rest in chunks.
		for _, cut := range [][2]int{{0, 2}, {2, 9}, {9, 30}, {30, len(stream)}} {
			client.Write(stream[cut[0]:cut[1]])
			time.Sleep(2 * time.Millisecond)
		}
	}()
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i, w := range want {
		got, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(got, w) {
			t.Fatalf("frame %d: got %d bytes %.20q, want %d bytes %.20q", i, len(got), got, len(w), w)
		}
	}

	server.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := r.ReadFrame(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle read past its deadline: %v, want os.ErrDeadlineExceeded", err)
	}

	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	client.Write(framing.AppendFrame(nil, []byte("truncated"))[:7])
	client.(*net.TCPConn).CloseWrite()
	if _, err := r.ReadFrame(); !errors.Is(err, framing.ErrTruncated) {
		t.Fatalf("stream ended inside a frame: %v, want ErrTruncated", err)
	}
}

func TestReaderOverSocketEOF(t *testing.T) {
	client, server := tcpPair(t)
	r := framing.NewReader(server, 1<<20)
	client.Write(framing.AppendFrame(nil, []byte("x")))
	client.Close()
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	if p, err := r.ReadFrame(); err != nil || string(p) != "x" {
		t.Fatalf("first frame: %q %v", p, err)
	}
	if _, err := r.ReadFrame(); err != io.EOF {
		t.Fatalf("after a clean close: %v, want io.EOF", err)
	}
	server.Close()
	if _, err := r.ReadFrame(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("after Close: %v, want net.ErrClosed", err)
	}
}
