package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/redistest"
	"github.com/wiredojo/wiredojo/internal/sandbox"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/store/storeopen"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
)

// childArgsEnv, when set in the environment of the test binary, makes it
// run the CLI with these JSON-encoded arguments instead of the tests: the
// tests re-execute themselves to have a `chat serve` process to SIGKILL.
const childArgsEnv = "WIREDOJO_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	args, child := []string(nil), false
	if a := os.Getenv(childArgsEnv); a != "" {
		if err := json.Unmarshal([]byte(a), &args); err != nil {
			os.Exit(3)
		}
		child = true
	} else if sandbox.Inside() && len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-test.") {
		// An in-process run not as root started the CLI again in a
		// one-shot sandbox (runOneShot: the demo's comparison): the test
		// binary is the CLI there, not the tests.
		args, child = os.Args[1:], true
	}
	if child {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, append([]string{"wiredojo", "--no-color"}, args...), os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	// In-process `chat serve` runs of the tests must not share (and lock)
	// the user's default bolt file.
	if os.Getenv("WIREDOJO_STORE") == "" {
		os.Setenv("WIREDOJO_STORE", "memory")
	}
	// Nor write the user's state (the resume tokens of chat listen
	// --client-id) to their home.
	state, err := os.MkdirTemp("", "wiredojo-state-")
	if err != nil {
		os.Exit(3)
	}
	os.Setenv("XDG_STATE_HOME", state)
	code := m.Run()
	os.RemoveAll(state)
	if builtBin.dir != "" {
		os.RemoveAll(builtBin.dir)
	}
	os.Exit(code)
}

// chatChild is a CLI process started from the test binary.
type chatChild struct {
	cmd  *exec.Cmd
	addr string
	out  *testkit.Buffer
}

// startChatServeProcess runs `chat serve` in a child process and waits for
// its address.
func startChatServeProcess(t *testing.T, args ...string) *chatChild {
	t.Helper()
	return startChatServeProcessVia(t, nil, args...)
}

// startChatServeProcessVia is startChatServeProcess with the test binary
// started by a wrapper: via is the wrapper's command line, and the test
// binary's path and flags are appended to it.
func startChatServeProcessVia(t *testing.T, via []string, args ...string) *chatChild {
	t.Helper()
	enc, _ := json.Marshal(append([]string{"chat", "serve", "--addr", "127.0.0.1:0"}, args...))
	argv := append(append([]string{}, via...), os.Args[0], "-test.run=^$")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(enc))
	out := &testkit.Buffer{}
	cmd.Stderr = out
	pr, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			out.Write([]byte(sc.Text() + "\n"))
		}
		io.Copy(io.Discard, pr)
	}()
	ch := &chatChild{cmd: cmd, out: out}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	ch.addr = chatWaitFor(t, "chat serve process", out, regexp.MustCompile(`serving on (\S+)`))
	return ch
}

func (c *chatChild) kill9(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := c.cmd.Wait()
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("server did not die of SIGKILL: %v", err)
	}
}

// waitMetric polls the server's /metrics until the counter reaches want.
func (c *chatChild) waitMetric(t *testing.T, name string, want int) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + name + ` (\d+)$`)
	last := ""
	defer func() {
		if t.Failed() {
			t.Logf("%s was last %q", name, last)
		}
	}()
	testkit.Eventually(t, 10*time.Second, fmt.Sprintf("%s to reach %d", name, want), func() bool {
		resp, err := http.Get("http://" + c.addr + "/metrics")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := re.FindSubmatch(b)
		if m == nil {
			return false
		}
		last = string(m[1])
		n, _ := strconv.Atoi(last)
		return n >= want
	})
}

// stop ends the server with SIGTERM and expects a clean exit; one that
// has not exited within 20 s gets SIGQUIT (its goroutines are dumped into
// the output) and fails the test.
func (c *chatChild) stop(t *testing.T) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("chat serve: %v\n%s", err, c.out.String())
		}
	case <-time.After(20 * time.Second):
		c.cmd.Process.Signal(syscall.SIGQUIT)
		<-exited
		t.Fatalf("chat serve did not stop within 20 s of SIGTERM:\n%s", c.out.String())
	}
}

// The Done-when: a listener away, five plain and five durable
// emits, kill -9 of the server, a restart, the listener back: the five
// durable events arrive once each, in order; the plain ones are gone.
func TestChatDurableSurvivesKill9(t *testing.T) {
	db := filepath.Join(t.TempDir(), "q.db")
	srv := startChatServeProcess(t, "--store", "bolt:"+db)

	_, lerr, lstop := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", srv.addr, "--client-id", "L", "--room", "news", "--json")
	chatWaitFor(t, "listen", lerr, regexp.MustCompile(`(listening)`))
	if code := lstop(); code != 0 {
		t.Fatalf("listen exited with %d: %s", code, lerr.String())
	}

	for i := range 5 {
		n := string(rune('0' + i))
		if code, o, e := chatRun(t, "", "chat", "emit", "--addr", srv.addr, "--room", "news", "--event", "plain", n); code != 0 {
			t.Fatalf("plain emit: %d %s %s", code, o, e)
		}
		code, o, e := chatRun(t, "", "chat", "emit", "--addr", srv.addr, "--durable", "--room", "news", "--event", "durable", n)
		if code != 0 || !regexp.MustCompile(`^emitted durable on /chat in room news: queued \{"id":"[0-9a-f]{32}","recipients":1\}\n$`).MatchString(o) {
			t.Fatalf("durable emit: %d %q %s", code, o, e)
		}
	}
	srv.kill9(t)

	srv = startChatServeProcess(t, "--store", "bolt:"+db)
	out, lerr, lstop := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", srv.addr, "--client-id", "L", "--json")
	chatWaitFor(t, "listen", lerr, regexp.MustCompile(`(listening)`))
	chatWaitFor(t, "durable events", out, regexp.MustCompile(`("args":\[4\])`))
	// A plain emit after the restart still reaches the listener, whose
	// room came back with its client id: everything before it was read.
	chatRun(t, "", "chat", "emit", "--addr", srv.addr, "--room", "news", "--event", "after", "1")
	chatWaitFor(t, "plain event after restart", out, regexp.MustCompile(`("event":"after")`))
	srv.waitMetric(t, "wiredojo_chat_durable_acked_total", 5)
	if code := lstop(); code != 0 {
		t.Fatalf("listen exited with %d: %s", code, lerr.String())
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r listenRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		switch r.Event {
		case "plain":
			t.Fatalf("a plain event survived: %s", line)
		case "durable":
			if len(r.ID) != 32 || r.Offset == 0 || r.Redelivered {
				t.Fatalf("durable record %s", line)
			}
			got = append(got, string(r.Args))
		}
	}
	if strings.Join(got, " ") != "[0] [1] [2] [3] [4]" {
		t.Fatalf("durable events %v, want [0]..[4] once each in order\n%s", got, out.String())
	}
	srv.stop(t)

	// Everything was acknowledged: the queue is empty.
	code, o, e := chatRun(t, "", "chat", "queue", "ls", "--store", "bolt:"+db, "--json")
	if code != 0 || !strings.Contains(o, `"client":"L","depth":0`) {
		t.Fatalf("queue ls: %d %s %s", code, o, e)
	}
}

// chat queue ls/peek/purge read a store directly; chat listen marks
// redeliveries.
func TestChatQueueCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "q.db")
	srv := startChatServeProcess(t, "--store", "bolt:"+db)
	for i := range 3 {
		code, o, e := chatRun(t, "", "chat", "emit", "--addr", srv.addr, "--ns", "/q", "--durable", "--to", "amy", "--to", "bo", "--event", "e", string(rune('0'+i)))
		if code != 0 || !strings.Contains(o, `"recipients":2`) {
			t.Fatalf("emit: %d %s %s", code, o, e)
		}
	}
	// A raw getAll-less look is not possible on a running bolt server: stop it.
	srv.stop(t)
	code, o, e := chatRun(t, "", "chat", "queue", "ls", "--store", "bolt:"+db)
	if code != 0 || !regexp.MustCompile(`(?m)^amy\s+3\s+\S+\s+4\s`).MatchString(o) || !regexp.MustCompile(`(?m)^bo\s+3\s`).MatchString(o) {
		t.Fatalf("queue ls: %d\n%s%s", code, o, e)
	}
	code, o, e = chatRun(t, "", "chat", "queue", "peek", "--store", "bolt:"+db, "--limit", "2", "--json", "amy")
	if code != 0 || strings.Count(o, "\n") != 2 || !strings.Contains(o, `"event":"e"`) || !strings.Contains(o, `"args":[0]`) {
		t.Fatalf("queue peek: %d\n%s%s", code, o, e)
	}
	code, o, e = chatRun(t, "", "chat", "queue", "purge", "--store", "bolt:"+db, "bo")
	if code != 0 || !strings.Contains(o, "purged 3 messages of bo") {
		t.Fatalf("queue purge: %d %s %s", code, o, e)
	}
	if code, _, _ := chatRun(t, "", "chat", "queue", "peek", "--store", "bolt:"+db); code != exitUsage {
		t.Fatalf("peek without a client id: %d", code)
	}

	// amy reads her queue without acknowledging it (a raw connection),
	// then with chat listen: the events come again, marked.
	srv = startChatServeProcess(t, "--store", "bolt:"+db)
	raw := chattest.DialRaw(t, srv.addr, true)
	raw.Send(t, wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, ClientID: "amy"})
	welcome := raw.Expect(t, wire.TypeWelcome) // its resume token now owns amy
	raw.Join(t, "/q")
	raw.Send(t, wire.Packet{Type: wire.TypeGetAll, Namespace: "/q"})
	for range 3 {
		if p := raw.Expect(t, wire.TypeQueued); p.Redelivered {
			t.Fatalf("first delivery marked: %+v", p)
		}
	}
	raw.Conn.Close()
	if code, _, e := chatRun(t, "", "chat", "listen", "--addr", srv.addr, "--ns", "/q", "--client-id", "amy"); code != exitRuntime || !strings.Contains(e, "--resume-token") {
		t.Fatalf("listen as amy without her token: %d %s", code, e)
	}
	out, lerr, lstop := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", srv.addr, "--ns", "/q", "--client-id", "amy", "--resume-token", welcome.ResumeToken, "--json")
	chatWaitFor(t, "listen", lerr, regexp.MustCompile(`(listening)`))
	chatWaitFor(t, "queued", out, regexp.MustCompile(`("args":\[2\])`))
	srv.waitMetric(t, "wiredojo_chat_durable_acked_total", 3)
	lstop()
	if n := strings.Count(out.String(), `"redelivered":true`); n != 3 {
		t.Fatalf("%d redeliveries marked, want 3:\n%s", n, out.String())
	}
	srv.stop(t)
	code, o, _ = chatRun(t, "", "chat", "queue", "ls", "--store", "bolt:"+db, "--json")
	if code != 0 || !strings.Contains(o, `"client":"amy","depth":0`) || !strings.Contains(o, `"client":"bo","depth":0`) {
		t.Fatalf("queue ls after reading: %d %s", code, o)
	}
}

// A corrupted bolt file is reported with its path, exit 1.
func TestChatServeCorruptStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bad.db")
	if err := os.WriteFile(db, []byte(strings.Repeat("not a bolt file ", 512)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb testkit.Buffer
	code := run(ctx, []string{"wiredojo", "--no-color", "chat", "serve", "--addr", "127.0.0.1:0", "--store", "bolt:" + db}, strings.NewReader(""), &out, &errb)
	if code != exitRuntime || !strings.Contains(errb.String(), db) {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if code, _, e := chatRun(t, "", "chat", "serve", "--store", "mysql"); code != exitUsage {
		t.Fatalf("bad --store: %d %s", code, e)
	}
}

// Two `chat serve --redis` nodes carry a room's broadcast between clients
// on different nodes, and a durable emit on one reaches a listener on the
// other. Their --verbose logs say which node's room a room event is: node
// 2 logs the emitter's room r1 on node 1 as node 1's (lab 7's node2.log
// read as if node 2 had deleted its listener's room).
func TestChatTwoNodesWithRedis(t *testing.T) {
	rs := redistest.Start(t, redistest.Config{})
	var addrs, nodes []string
	var logs []*testkit.Buffer
	for range 2 {
		out, _, stop := chatStart(t, strings.NewReader(""), "chat", "serve", "--addr", "127.0.0.1:0", "--redis", rs.URL(), "--verbose")
		addrs = append(addrs, chatWaitFor(t, "serve", out, regexp.MustCompile(`serving on (\S+)`)))
		nodes = append(nodes, chatWaitFor(t, "serve", out, regexp.MustCompile(`durable queues in Redis redis://\S+ \(many nodes: .*; this is node (\S+)\)`)))
		logs = append(logs, out)
		t.Cleanup(func() {
			if code := stop(); code != 0 {
				t.Errorf("chat serve exited with %d", code)
			}
		})
	}
	out, errb, stop := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", addrs[1], "--room", "r1", "--client-id", "lis", "--json")
	chatWaitFor(t, "listen", errb, regexp.MustCompile(`(listening)`))
	if code, o, e := chatRun(t, "", "chat", "emit", "--addr", addrs[0], "--room", "r1", "--event", "news", `"across"`); code != 0 {
		t.Fatalf("emit: %d %s %s", code, o, e)
	}
	chatWaitFor(t, "broadcast across nodes", out, regexp.MustCompile(`("event":"news","args":\["across"\])`))
	for _, line := range []string{
		`create-room /chat room "r1"`, // the listener's, on node 2
		`create-room /chat room "r1" on node ` + nodes[0] + ` (another node's room)`,
		`delete-room /chat room "r1" on node ` + nodes[0] + ` (another node's room)`,
	} {
		chatWaitFor(t, "node 2's log", logs[1], regexp.MustCompile(`(?m)(`+regexp.QuoteMeta(line)+`)$`))
	}
	if strings.Contains(logs[1].String(), `delete-room /chat room "r1"`+"\n") {
		t.Fatalf("node 2 logged its own room r1 deleted while its listener is in it:\n%s", logs[1])
	}
	if code, o, e := chatRun(t, "", "chat", "emit", "--addr", addrs[0], "--durable", "--room", "r1", "--event", "dur", `"q"`); code != 0 || !strings.Contains(o, `"recipients":1`) {
		t.Fatalf("durable emit: %d %s %s", code, o, e)
	}
	chatWaitFor(t, "durable across nodes", out, regexp.MustCompile(`("event":"dur","args":\["q"\],"id":"[0-9a-f]{32}")`))
	stop()
}

// kill -9 in the middle of a stream of durable emits: every emit the server
// acknowledged reaches the listener after the restart.
func TestChatDurableKill9MidStream(t *testing.T) {
	db := filepath.Join(t.TempDir(), "q.db")
	srv := startChatServeProcess(t, "--store", "bolt:"+db)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, sock := chatSocket(t, ctx, srv.addr, tcpchat.ClientOptions{NoReconnect: true}) // chat_nodes_test.go
	defer cl.Close()
	acked := make(chan int, 1000)
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		for i := 0; i < 1000; i++ {
			req := builtin.DurableRequest{To: []string{"M"}, Event: "s", Args: json.RawMessage("[" + strconv.Itoa(i) + "]")}
			reply, err := sock.EmitWithAck(ctx, builtin.EventDurable, req)
			if err != nil || !strings.Contains(string(reply), `"recipients":1`) {
				return // the server died
			}
			acked <- i
		}
	}()
	// Kill once some emits were acknowledged, while more are on the way.
	for range 20 {
		chattest.Recv(t, "an acknowledged emit", acked)
	}
	srv.kill9(t)
	chattest.Recv(t, "the emitter to stop after the kill", streamDone)
	close(acked)
	want := map[int]bool{}
	for i := 0; i < 20; i++ {
		want[i] = true
	}
	for i := range acked {
		want[i] = true
	}

	srv = startChatServeProcess(t, "--store", "bolt:"+db)
	var wantList []int
	for i := range want {
		wantList = append(wantList, i)
	}
	awaitDurable(t, ctx, srv.addr, "M", "s", wantList) // chat_nodes_test.go
	t.Logf("%d emits acknowledged before the kill, all delivered after the restart", len(want))
}

// kill -9 in the middle of a pipelined stream (256 durable emits in flight
// on one connection, acknowledged as their group commits complete): every
// emit the server acknowledged reaches the listener after the restart.
func TestChatDurablePipelinedKill9(t *testing.T) {
	db := filepath.Join(t.TempDir(), "q.db")
	// The per-connection packet limit would cut this publisher: off, as in
	// the benchmark (docs/BENCHMARKS.md).
	limits := []string{"--store", "bolt:" + db, "--rate-limit", "0", "--event-rate-per-addr", "0"}
	srv := startChatServeProcess(t, limits...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, sock := chatSocket(t, ctx, srv.addr, tcpchat.ClientOptions{NoReconnect: true}) // chat_nodes_test.go
	defer cl.Close()
	const n, window = 20000, 256
	acked := make(chan int, n)
	slots := make(chan struct{}, window)
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		for i := range n {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			req := `[{"to":["P"],"event":"s","args":[` + strconv.Itoa(i) + `]}]`
			err := sock.EmitWithAckFunc(builtin.EventDurable, json.RawMessage(req), func(ack json.RawMessage, err error) {
				if err == nil && strings.Contains(string(ack), `"recipients":1`) {
					acked <- i
				}
				<-slots
			})
			if err != nil { // the server died; done will not run
				<-slots
				return
			}
		}
	}()
	// Kill once some emits were acknowledged, while many are in flight.
	want := make([]int, 0, n)
	for range 500 {
		want = append(want, chattest.Recv(t, "an acknowledged emit", acked))
	}
	srv.kill9(t)
	chattest.Recv(t, "the emitter to stop after the kill", streamDone)
	chattest.Eventually(t, "the answers of the emits in flight", func() bool { return len(slots) == 0 })
	close(acked)
	for i := range acked {
		want = append(want, i)
	}
	if len(want) == n {
		t.Fatalf("all %d emits were acknowledged before the kill: the stream was not killed in the middle", n)
	}
	srv = startChatServeProcess(t, limits...)
	awaitDurable(t, ctx, srv.addr, "P", "s", want) // chat_nodes_test.go
	t.Logf("%d pipelined emits acknowledged before the kill, all delivered after the restart", len(want))
}

// chat emit --durable --from: one event per line, pipelined, a summary at
// the end; a line that is not JSON fails alone, named by its number.
func TestChatEmitDurableFrom(t *testing.T) {
	srv := startChatServeProcess(t, "--store", "bolt:"+filepath.Join(t.TempDir(), "q.db"))
	var lines strings.Builder
	var want []int
	for i := range 500 {
		fmt.Fprintf(&lines, "%d\n", i)
		want = append(want, i)
	}
	code, o, e := chatRun(t, lines.String(), "chat", "emit", "--addr", srv.addr, "--durable", "--to", "F", "--event", "s", "--from", "-", "--window", "64")
	if code != 0 || !strings.Contains(o, "emitted s on /chat: 500 durable events queued, 0 failed, in ") || e != "" {
		t.Fatalf("chat emit --from: exit %d, stdout %q, stderr %q", code, o, e)
	}
	file := filepath.Join(t.TempDir(), "events")
	if err := os.WriteFile(file, []byte("500\n{oops\n\n501\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, o, e = chatRun(t, "", "chat", "emit", "--addr", srv.addr, "--durable", "--to", "F", "--event", "s", "--from", file)
	if code != exitRuntime || !strings.Contains(o, "2 durable events queued, 1 failed") || !strings.Contains(e, `line 2: not a JSON value: "{oops"`) {
		t.Fatalf("chat emit --from with a bad line: exit %d, stdout %q, stderr %q", code, o, e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	awaitDurable(t, ctx, srv.addr, "F", "s", append(want, 500, 501)) // chat_nodes_test.go
}

// Issue 13 point 6 from the CLI: an event with invalid UTF-8 is refused,
// and chat emit --ack says the server's reason (code 1), not a guess.
func TestChatEmitSaysWhyRefused(t *testing.T) {
	srv := startChatServeProcess(t, "--store", "memory")
	code, o, e := chatRun(t, "", "chat", "emit", "--addr", srv.addr, "--ack", "--event", "custom", "\"\xff\xfe\"")
	if code != exitRuntime || !strings.Contains(e, "invalid UTF-8 in its name or arguments (code 1)") {
		t.Fatalf("chat emit of invalid UTF-8: exit %d, stdout %q, stderr %q", code, o, e)
	}
}

// Issue 13 point 3: with --durable-scope rooms a durable emit reaches only
// the rooms its sender is in and the client ids in them: `--to ann` from a
// stranger is refused and queues nothing; with --room news (which chat
// emit joins first) it reaches ann, a durable member of news.
func TestChatDurableScope(t *testing.T) {
	if code, _, e := chatRun(t, "", "chat", "serve", "--durable-scope", "friends"); code != exitUsage || !strings.Contains(e, "give rooms, any or local") {
		t.Fatalf("chat serve --durable-scope friends: exit %d, stderr %q", code, e)
	}
	srv := startChatServeProcess(t, "--store", "memory", "--durable-scope", "rooms")
	_, lerr, lstop := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", srv.addr, "--client-id", "ann", "--room", "news")
	chatWaitFor(t, "listen", lerr, regexp.MustCompile(`(listening)`))
	if code := lstop(); code != 0 {
		t.Fatalf("listen exited with %d: %s", code, lerr.String())
	}
	code, o, e := chatRun(t, "", "chat", "emit", "--addr", srv.addr, "--durable", "--to", "ann", "--event", "junk", `"x"`)
	if code != exitRuntime || !strings.Contains(e, `client id "ann" is in none of your rooms`) {
		t.Fatalf("chat emit --durable --to ann from no room: exit %d, stdout %q, stderr %q", code, o, e)
	}
	for _, args := range [][]string{{"--room", "news"}, {"--to", "ann", "--room", "news"}} {
		code, o, e := chatRun(t, "", append([]string{"chat", "emit", "--addr", srv.addr, "--durable", "--event", "mail", `"hi"`}, args...)...)
		if code != 0 || !strings.Contains(o, `"recipients":1`) {
			t.Fatalf("chat emit --durable %v: exit %d, stdout %q, stderr %q", args, code, o, e)
		}
	}
	out, lerr, lstop := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", srv.addr, "--client-id", "ann", "--json")
	chatWaitFor(t, "listen", lerr, regexp.MustCompile(`(listening)`))
	srv.waitMetric(t, "wiredojo_chat_durable_acked_total", 2)
	if code := lstop(); code != 0 {
		t.Fatalf("listen exited with %d: %s", code, lerr.String())
	}
	if n := strings.Count(out.String(), `"event":"mail"`); n != 2 || strings.Contains(out.String(), "junk") {
		t.Fatalf("ann's listener printed %d mails, want 2 and no junk:\n%s", n, out.String())
	}
}

// Two `chat serve` on different addresses with the default bolt store do
// not share (and lock) one file; a file held by another server fails at
// once and says what to do.
func TestChatServeDefaultStorePerAddress(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	addrs := make([]string, 2)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = l.Addr().String()
		l.Close()
	}
	for _, a := range addrs {
		out, _, stop := chatStart(t, strings.NewReader(""), "chat", "serve", "--addr", a, "--store", "bolt")
		chatWaitFor(t, "serve "+a, out, regexp.MustCompile(`(serving on)`))
		t.Cleanup(func() { stop() })
	}
	for _, a := range addrs {
		p, _ := storeopen.DefaultBoltPathFor(a)
		if _, err := os.Stat(p); err != nil {
			t.Errorf("server on %s: %v", a, err)
		}
	}
	held := filepath.Join(dir, "held.db")
	out, _, stop := chatStart(t, strings.NewReader(""), "chat", "serve", "--addr", "127.0.0.1:0", "--store", "bolt:"+held)
	chatWaitFor(t, "serve with "+held, out, regexp.MustCompile(`(serving on)`))
	defer stop()
	code, _, errb := chatRun(t, "", "chat", "serve", "--addr", "127.0.0.1:0", "--store", "bolt:"+held)
	if want := "another chat serve uses " + held + "; pass --store"; code != exitRuntime || !strings.Contains(errb, want) {
		t.Fatalf("second server on %s: exit %d, stderr %q; want exit 1 and %q", held, code, errb, want)
	}
}
