package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

// startWSEcho runs `ws echo --addr 127.0.0.1:0` and returns its URL; the
// server stops when the test ends.
func startWSEcho(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		var errb bytes.Buffer
		done <- run(ctx, append([]string{"wiredojo", "--no-color", "ws", "echo", "--addr", "127.0.0.1:0"}, args...), strings.NewReader(""), pw, &errb)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("ws echo printed nothing")
	}
	line := sc.Text()
	go io.Copy(io.Discard, pr)
	t.Cleanup(func() {
		cancel()
		if code := testkit.Recv(t, 30*time.Second, "ws echo to exit", done); code != 0 {
			t.Errorf("ws echo exited with %d", code)
		}
	})
	i := strings.Index(line, "ws://")
	if i < 0 {
		t.Fatalf("ws echo said %q", line)
	}
	return line[i:]
}

func wsRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, append([]string{"wiredojo", "--no-color"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestWSDialEcho(t *testing.T) {
	url := startWSEcho(t)
	code, out, errs := wsRun(t, "hello\n/binary abc\n/ping yo\nκόσμε\n", "ws", "dial", url)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		`> text         fin=1 mask=`, `len=5 "hello"`,
		`< text         fin=1 mask=- len=5 "hello"`,
		`< binary       fin=1 mask=- len=3 61 62 63`,
		`< pong         fin=1 mask=- len=2 "yo"`,
		`< text         fin=1 mask=- len=10 "κόσμε"`,
		`< close        fin=1 mask=- len=2 code=1000 (normal closure)`,
		`* closed: 1000 (normal closure)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestWSDialJSON(t *testing.T) {
	url := startWSEcho(t, "--compress=false")
	code, out, errs := wsRun(t, "hi\n/close 4000 bye\n", "ws", "dial", "--json", url)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var frames []frameJSON
	var events []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(line, `"event"`) {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			events = append(events, m)
			continue
		}
		var f frameJSON
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		frames = append(frames, f)
	}
	want := []frameJSON{
		{Dir: "sent", OpCode: "text", Fin: true, Masked: true, Length: 2, Payload: "hi"},
		{Dir: "recv", OpCode: "text", Fin: true, Length: 2, Payload: "hi"},
		{Dir: "sent", OpCode: "close", Fin: true, Masked: true, Length: 5, Payload: "bye", CloseCode: 4000},
		{Dir: "recv", OpCode: "close", Fin: true, Length: 5, Payload: "bye", CloseCode: 4000},
	}
	if len(frames) != len(want) {
		t.Fatalf("frames:\n%s", out)
	}
	// Each direction keeps its order; how the two interleave depends on
	// when the echo arrives relative to the typed /close, so compare the
	// sent and the received frames separately.
	byDir := func(fs []frameJSON, dir string) []frameJSON {
		var out []frameJSON
		for _, f := range fs {
			if f.Dir == dir {
				f.Mask = ""
				out = append(out, f)
			}
		}
		return out
	}
	for _, dir := range []string{"sent", "recv"} {
		got, exp := byDir(frames, dir), byDir(want, dir)
		if len(got) != len(exp) {
			t.Fatalf("%s frames: %+v, want %+v", dir, got, exp)
		}
		for i := range exp {
			if got[i] != exp[i] {
				t.Errorf("%s frame %d: %+v, want %+v", dir, i, got[i], exp[i])
			}
		}
	}
	if len(events) != 2 || events[0]["event"] != "connected" || events[1]["event"] != "closed" || events[1]["code"] != float64(4000) {
		t.Fatalf("events %v", events)
	}
}

func TestWSUsage(t *testing.T) {
	for _, args := range [][]string{
		{"ws", "dial"},
		{"ws", "dial", "http://example.com/"},
		{"ws", "echo", "extra"},
		{"ws", "echo", "--max-message", "0"},
	} {
		if code, _, errs := wsRun(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errs)
		}
	}
	if code, _, errs := wsRun(t, "", "ws", "dial", "ws://127.0.0.1:1/"); code != 1 || !strings.Contains(errs, "refused") {
		t.Errorf("refused dial: exit %d: %s", code, errs)
	}
}

func TestWSDialBadCommandKeepsGoing(t *testing.T) {
	url := startWSEcho(t)
	code, out, errs := wsRun(t, "/nope\n/close 1005\nstill here\n", "ws", "dial", url)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "unknown command") || !strings.Contains(out, "not a close code") || !strings.Contains(out, `"still here"`) {
		t.Fatalf("output:\n%s", out)
	}
}

// TestWSDialExitsOneOnAnErrorClose: a close the server starts with an
// error code (here 1009, message too big) makes ws dial exit 1; a normal
// close we start exits 0 (TestWSDialEcho).
func TestWSDialExitsOneOnAnErrorClose(t *testing.T) {
	url := startWSEcho(t, "--max-message", "8")
	code, out, errs := wsRun(t, "far more than eight bytes\n", "ws", "dial", url)
	if code != exitRuntime {
		t.Errorf("exit %d after a 1009 close, want %d\nstdout: %s\nstderr: %s", code, exitRuntime, out, errs)
	}
	if !strings.Contains(errs, "closed the connection with 1009") {
		t.Errorf("stderr does not name the code: %s", errs)
	}
}

// ws dial to a server that completes the handshake and then answers
// nothing (it never reads, so no pong): the pings every --ping-interval go
// unanswered, and after --ping-timeout ws dial closes the connection and
// exits 1 with a message naming the flag, while the user's input is still
// open. Before, ws dial waited for ever (Ctrl-C).
func TestWSDialServerGone(t *testing.T) {
	done := make(chan struct{})
	addr := testkit.WSServer(t, func(*ws.Conn) { <-done })
	pr, pw := io.Pipe() // the user types nothing, and does not end the input
	type result struct {
		code      int
		out, errs string
	}
	exited := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"wiredojo", "--no-color", "ws", "dial", "--ping-interval", "50ms", "--ping-timeout", "200ms", "ws://" + addr + "/"}, pr, &out, &errb)
		exited <- result{code, out.String(), errb.String()}
	}()
	t.Cleanup(func() {
		close(done)
		pw.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Error("ws dial still runs 10 s after the server and the input ended")
		}
	})
	r := testkit.Recv(t, 10*time.Second, "ws dial to give up on a server that answers no ping", exited)
	exited <- r // for the cleanup
	if r.code != 1 || !strings.Contains(r.errs, "no pong within 200ms") || !strings.Contains(r.errs, "--ping-timeout") {
		t.Fatalf("ws dial to a server that answers nothing: exit %d, want 1 and a message naming --ping-timeout\n%s%s", r.code, r.out, r.errs)
	}
	if !strings.Contains(r.out, "> ping") {
		t.Errorf("the pings ws dial sent are not shown:\n%s", r.out)
	}
}
