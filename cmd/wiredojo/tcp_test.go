package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testkit"
)

// tcp send makes one write call per --data (escapes read, commas kept);
// tcp recv prints every read, bounded by --read-size, and a reader that
// waits finds several writes in one read.
func TestTCPSendRecvShowTheByteStream(t *testing.T) {
	out, errb, stop := chatStart(t, strings.NewReader(""), "tcp", "recv", "--addr", "127.0.0.1:0", "--read-size", "4", "--conns", "1")
	addr := chatWaitFor(t, "tcp recv", errb, regexp.MustCompile(`listening on (\S+);`))
	code, sent, e := chatRun(t, "", "tcp", "send", "--to", addr, "--data", `a,b\n`, "--data", `\x00\x01`)
	if code != 0 || !strings.Contains(sent, `write 1: 4 bytes "a,b\n"`) || !strings.Contains(sent, `write 2: 2 bytes "\x00\x01"`) {
		t.Fatalf("tcp send: exit %d\n%s%s", code, sent, e)
	}
	// Two --data, two writes: no empty third one (urfave/cli copies a
	// flag's value onto its alias -d through Set).
	if strings.Contains(sent, "write 3") || !strings.Contains(sent, "closed after 2 writes") {
		t.Fatalf("tcp send with two --data, want two writes:\n%s", sent)
	}
	chatWaitFor(t, "tcp recv", out, regexp.MustCompile(`(conn 1 closed: 6 bytes in \d+ reads)`))
	if code := stop(); code != 0 {
		t.Fatalf("tcp recv exit %d", code)
	}
	var got strings.Builder
	for _, m := range regexp.MustCompile(`read \d+: (\d+) bytes "(.*)"`).FindAllStringSubmatch(out.String(), -1) {
		if len(m[1]) != 1 || m[1] > "4" {
			t.Errorf("a read of %s bytes with --read-size 4", m[1])
		}
		got.WriteString(m[2])
	}
	if got.String() != `a,b\n\x00\x01` {
		t.Fatalf("the reads carry %q, want the two writes in order\n%s", got.String(), out)
	}

	// A reader that waits before reading sees both writes in one read.
	out, errb, stop = chatStart(t, strings.NewReader(""), "tcp", "recv", "--addr", "127.0.0.1:0", "--read-delay", "500ms", "--conns", "1")
	addr = chatWaitFor(t, "tcp recv", errb, regexp.MustCompile(`listening on (\S+);`))
	if code, sent, e := chatRun(t, "", "tcp", "send", "--to", addr, "-d", "one", "-d", "two", "-d", "three"); code != 0 || strings.Contains(sent, "write 4") || !strings.Contains(sent, "closed after 3 writes") {
		t.Fatalf("tcp send with three -d: exit %d, want three writes\n%s%s", code, sent, e)
	}
	chatWaitFor(t, "tcp recv", out, regexp.MustCompile(`(conn 1 closed: 11 bytes in 1 reads)`))
	stop()

	if code, _, e := chatRun(t, "", "tcp", "send", "--to", addr); code != exitUsage || !strings.Contains(e, "--data") {
		t.Fatalf("tcp send without --data: exit %d %s", code, e)
	}
	if code, _, e := chatRun(t, "", "tcp", "send", "--to", addr, "--data", `\q`); code != exitUsage || !strings.Contains(e, "bad escape") {
		t.Fatalf("tcp send with a bad escape: exit %d %s", code, e)
	}
}

// tcp send to a peer that accepts and never reads: the write that fills
// the socket buffers (one --data of 64 MiB) fails after --timeout, and the
// message names the flag. Before, tcp send had no --timeout and waited
// for ever.
func TestTCPSendPeerNotReading(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		if nc, err := l.Accept(); err == nil {
			accepted <- nc // never read
		}
	}()
	type result struct {
		code      int
		out, errs string
	}
	done := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"wiredojo", "--no-color", "tcp", "send", "--to", l.Addr().String(), "--timeout", "200ms", "--data", strings.Repeat("a", 64<<20)}, strings.NewReader(""), &out, &errb)
		done <- result{code, out.String(), errb.String()}
	}()
	t.Cleanup(func() {
		l.Close()
		select {
		case nc := <-accepted:
			nc.Close() // ends a write still blocked
		default:
		}
		testkit.Recv(t, 10*time.Second, "tcp send to exit once the peer closed", done)
	})
	r := testkit.Recv(t, 10*time.Second, "tcp send to give up on a peer that does not read", done)
	done <- r // for the cleanup
	if r.code != 1 || !strings.Contains(r.errs, "write 1: the peer took") || !strings.Contains(r.errs, "--timeout") {
		t.Fatalf("tcp send to a peer that does not read: exit %d, want 1 and a message naming --timeout\n%s%s", r.code, clip(r.out, 300), r.errs)
	}
}
