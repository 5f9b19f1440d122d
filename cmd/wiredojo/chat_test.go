package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
)

// chatWaitFor polls buf until re matches, and returns the first submatch.
func chatWaitFor(t *testing.T, what string, buf *testkit.Buffer, re *regexp.Regexp) string {
	t.Helper()
	var m []string
	defer func() {
		if m == nil { // Eventually failed the test: show what came instead
			t.Logf("%s: output so far %q", what, buf.String())
		}
	}()
	chattest.Eventually(t, fmt.Sprintf("%s: output matching %s", what, re), func() bool {
		m = re.FindStringSubmatch(buf.String())
		return m != nil
	})
	return m[len(m)-1]
}

// chatStart runs a command in the background; stop cancels it and returns
// its exit status.
func chatStart(t *testing.T, stdin io.Reader, args ...string) (out, errb *testkit.Buffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb = &testkit.Buffer{}, &testkit.Buffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"wiredojo", "--no-color"}, args...), stdin, out, errb) }()
	var once sync.Once
	code := -1
	stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("%v did not stop", args)
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return out, errb, stop
}

func chatRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, append([]string{"wiredojo", "--no-color"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func chatServer(t *testing.T) string {
	out, _, stop := chatStart(t, strings.NewReader(""), "chat", "serve", "--addr", "127.0.0.1:0", "--verbose")
	addr := chatWaitFor(t, "serve", out, regexp.MustCompile(`serving on (\S+)`))
	t.Cleanup(func() {
		if code := stop(); code != 0 {
			t.Errorf("chat serve exited with %d", code)
		}
	})
	return addr
}

func TestChatServePprof(t *testing.T) {
	out, _, stop := chatStart(t, strings.NewReader(""), "chat", "serve", "--addr", "127.0.0.1:0", "--pprof", "127.0.0.1:0")
	where := chatWaitFor(t, "serve", out, regexp.MustCompile(`profiles on (http://\S+)`))
	chatWaitFor(t, "serve", out, regexp.MustCompile(`serving on (\S+)`))
	t.Cleanup(func() {
		if code := stop(); code != 0 {
			t.Errorf("chat serve exited with %d", code)
		}
	})
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(where + "goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("GET %sgoroutine: %s %.200q, want 200 and a goroutine profile", where, resp.Status, body)
	}
}

func TestChatListenPrintsWhatEmitSends(t *testing.T) {
	addr := chatServer(t)
	out, errb, stop := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", addr, "--ns", "/chat", "--room", "r1", "--json")
	chatWaitFor(t, "listen", errb, regexp.MustCompile(`(listening)`))

	code, stdout, stderr := chatRun(t, "", "chat", "emit", "--addr", addr, "--ns", "/chat", "--room", "r1", "--event", "news", `{"a":1}`, `"two"`)
	if code != 0 {
		t.Fatalf("emit: %d %s %s", code, stdout, stderr)
	}
	chatWaitFor(t, "listen output", out, regexp.MustCompile(`(\{"ns":"/chat","event":"news","args":\[\{"a":1\},"two"\]\})`))

	// Another room does not reach the listener; a chat message to r1 does,
	// with its room.
	chatRun(t, "", "chat", "emit", "--addr", addr, "--room", "elsewhere", "--event", "news", `"not for you"`)
	chatRun(t, "", "chat", "emit", "--addr", addr, "--room", "r1", "--event", "message", `{"room":"r1","text":"hi"}`)
	line := chatWaitFor(t, "listen output", out, regexp.MustCompile(`(\{"ns":"/chat","event":"message".*\})`))
	if !strings.Contains(line, `"room":"r1"`) || !strings.Contains(line, `"text":"hi"`) {
		t.Fatalf("message line %s", line)
	}
	if strings.Contains(out.String(), "not for you") {
		t.Fatalf("listener got another room's event:\n%s", out.String())
	}
	if code := stop(); code != 0 {
		t.Fatalf("listen exited with %d: %s", code, errb.String())
	}
}

func TestChatEmitAckPrintsReply(t *testing.T) {
	addr := chatServer(t)
	code, stdout, stderr := chatRun(t, "", "chat", "emit", "--addr", addr, "--event", "echo", "--ack", `"hi"`, `2`)
	if code != 0 || strings.TrimSpace(stdout) != `emitted echo on /chat: ack ["hi",2]` {
		t.Fatalf("emit --ack: %d %q %q", code, stdout, stderr)
	}
	t.Setenv("WIREDOJO_ADDR", addr)
	t.Setenv("WIREDOJO_NS", "/other")
	code, stdout, _ = chatRun(t, "", "chat", "emit", "--event", "echo", "--ack", `[1]`)
	if code != 0 || strings.TrimSpace(stdout) != `emitted echo on /other: ack [[1]]` {
		t.Fatalf("emit from the environment: %d %q", code, stdout)
	}
}

func TestChatClientsTalkInARoom(t *testing.T) {
	addr := chatServer(t)
	bobIn, bobW := io.Pipe()
	defer bobW.Close()
	bobOut, _, _ := chatStart(t, bobIn, "chat", "client", "--addr", addr, "--name", "bob", "--room", "lobby")
	chatWaitFor(t, "bob", bobOut, regexp.MustCompile(`(connected)`))
	// bob's join is sent on connect; a round trip proves it was handled.
	io.WriteString(bobW, "/ack echo \"ready\"\n")
	chatWaitFor(t, "bob", bobOut, regexp.MustCompile(`ack (\["ready"\])`))

	code, out, errs := chatRun(t, "/join lobby\nhello bob\n/ack echo {\"x\":1}\n/emit wave 3\n/quit\n", "chat", "client", "--addr", addr, "--name", "ann")
	if code != 0 {
		t.Fatalf("ann: %d %s %s", code, out, errs)
	}
	if !strings.Contains(out, `ack [{"x":1}]`) || !strings.Contains(out, `join [{"members":2,"room":"lobby"}]`) {
		t.Fatalf("ann's output:\n%s", out)
	}
	chatWaitFor(t, "bob", bobOut, regexp.MustCompile(`(ann \[lobby\]: hello bob)`))
	chatWaitFor(t, "bob", bobOut, regexp.MustCompile(`(wave \[3\])`))
}

func TestChatUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"chat", "emit", "--addr", "127.0.0.1:1"},                                 // no --event
		{"chat", "emit", "--addr", "127.0.0.1:1", "--event", "e", "not-json"},     // bad JSON
		{"chat", "emit", "--addr", "127.0.0.1:1", "--event", "e", "--ns", "nope"}, // bad namespace
		{"chat", "serve", "--max-frame", "1"},                                     // too small
		{"chat", "serve", "--bogus"},                                              // unknown flag
		{"chat", "serve", "--send-queue", "0"},                                    // no queue
		{"chat", "serve", "--send-queue-bytes", "0"},                              // no queue
		{"chat", "serve", "--send-queue-bytes", "-2"},                             // negative bound
		{"chat", "serve", "--send-queue-bytes", "2147483648"},                     // over 1 GiB
		{"chat", "serve", "--slow-consumer-wait", "-1s"},                          // negative wait
		{"chat", "serve", "--rate-limit", "-5"},                                   // negative rate
		{"chat", "serve", "--release-idle", "-1s"},                                // negative quiet time
		{"chat", "serve", "--max-rooms-per-conn", "-1"},                           // negative bound
		{"chat", "serve", "--max-namespaces-per-conn", "-1"},                      // negative bound
		{"chat", "serve", "--queue-max-clients", "0"},                             // no client ids
		{"chat", "serve", "--queue-max-clients", "-2"},                            // negative bound
		{"chat", "serve", "--recovery-session-bytes", "0"},                        // no sessions
		{"chat", "serve", "--recovery-session-bytes", "-2"},                       // negative bound
		{"chat", "listen", "extra"},                                               // arguments
		{"chat", "nothing"},                                                       // unknown subcommand
	} {
		if code, _, errs := chatRun(t, "", args...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", args, code, errs)
		}
	}
	// --node goes into every message between the nodes: a name fit for a
	// log line, with a hint naming the flag.
	for _, node := range []string{"node 1", "  ", strings.Repeat("n", 65), "node\x01"} {
		if code, _, errs := chatRun(t, "", "chat", "serve", "--addr", "127.0.0.1:0", "--node", node); code != 2 || !strings.Contains(errs, "--node") || !strings.Contains(errs, "--node node1 and --node node2") {
			t.Errorf("--node %q: exit %d, want 2 and a hint naming --node (%s)", node, code, errs)
		}
	}
	if code, _, errs := chatRun(t, "", "chat", "emit", "--addr", "127.0.0.1:1", "--event", "e"); code != 1 || !strings.Contains(errs, "chat serve") {
		t.Errorf("nothing listening: exit %d, want 1 with a hint (%s)", code, errs)
	}
}

// TestChatEmitResultAndName: every emit ends with one line of the same
// shape, and --name is the sender others see.
func TestChatEmitResultAndName(t *testing.T) {
	addr := chatServer(t)
	out, errb, stop := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", addr, "--room", "r1", "--json")
	chatWaitFor(t, "listen", errb, regexp.MustCompile(`(listening)`))
	for _, tc := range []struct {
		args []string
		want string // a regular expression for the whole line
	}{
		{[]string{"--room", "r1", "--name", "cli-ann", "--event", "message", `"hi"`}, `emitted message on /chat in room r1: sent, no ack asked \(--ack waits for one\)`},
		// The first emitter may not have left r1 yet: 1 or 2 others.
		{[]string{"--room", "r1", "--event", "message", "--ack", `"again"`}, `emitted message on /chat in room r1: ack \[\{"delivered":[12]\}\]`},
		{[]string{"--event", "echo", "--ack", `"ping"`}, `emitted echo on /chat: ack \["ping"\]`},
	} {
		code, o, e := chatRun(t, "", append([]string{"chat", "emit", "--addr", addr}, tc.args...)...)
		if code != 0 || !regexp.MustCompile(`^`+tc.want+`$`).MatchString(strings.TrimSpace(o)) {
			t.Errorf("emit %v: exit %d, stdout %q, want %q; stderr %s", tc.args, code, o, tc.want, e)
		}
	}
	line := chatWaitFor(t, "the message from cli-ann", out, regexp.MustCompile(`(\{"ns":"/chat","event":"message".*"text":"hi".*\})`))
	if !strings.Contains(line, `"from":"cli-ann"`) {
		t.Errorf("the listener does not see the --name: %s", line)
	}
	stop()
}

// TestChatServeVerboseLogsConnectsAndCloses: --verbose logs each connection
// and its end, with the session id and why it ended.
func TestChatServeVerboseLogsConnectsAndCloses(t *testing.T) {
	out, errb, stop := chatStart(t, strings.NewReader(""), "chat", "serve", "--addr", "127.0.0.1:0", "--verbose")
	addr := chatWaitFor(t, "serve", out, regexp.MustCompile(`serving on (\S+)`))
	if code, o, e := chatRun(t, "", "chat", "emit", "--addr", addr, "--event", "hi", "1"); code != 0 {
		t.Fatalf("emit: %d %s %s", code, o, e)
	}
	sid := chatWaitFor(t, "the connect line", out, regexp.MustCompile(`session (\S+) \(client \S+\) connected`))
	chatWaitFor(t, "the close line", out, regexp.MustCompile(`(session `+regexp.QuoteMeta(sid)+` closed: closed by the client)`))
	if code := stop(); code != 0 {
		t.Fatalf("serve exited with %d: %s", code, errb.String())
	}
}

// chat listen and chat client with a small --max-frame, sent a frame over
// it (a 300-byte event the server relays): the connection is lost, and
// the line each logs before it reconnects names --max-frame, as the
// one-shot commands' exit does. Before, the reconnect lines had no hint.
func TestChatReconnectLinesHintMaxFrame(t *testing.T) {
	addr := chatServer(t)
	_, lerr, _ := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", addr, "--max-frame", "64")
	chatWaitFor(t, "listen", lerr, regexp.MustCompile(`(listening on)`))
	pr, pw := io.Pipe() // the user types nothing, and does not end the input
	t.Cleanup(func() { pw.Close() })
	cout, _, _ := chatStart(t, pr, "chat", "client", "--addr", addr, "--max-frame", "64")
	chatWaitFor(t, "client", cout, regexp.MustCompile(`(connected to)`))
	if code, o, e := chatRun(t, "", "chat", "emit", "--addr", addr, "--event", "big", `"`+strings.Repeat("a", 300)+`"`); code != 0 {
		t.Fatalf("emit: exit %d %s %s", code, o, e)
	}
	chatWaitFor(t, "listen's reconnect line", lerr, regexp.MustCompile(`(connection to \S+ lost: [^\n]*\(raise the limit with --max-frame\); reconnecting)`))
	chatWaitFor(t, "client's reconnect line", cout, regexp.MustCompile(`(connection lost \([^\n]*\(raise the limit with --max-frame\)\); reconnecting)`))
}
