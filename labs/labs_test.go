package labs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/internal/testkit"
)

// bin is the wiredojo binary the lab set-ups and the reference solutions
// run, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wiredojo-labs-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "wiredojo")
	build := exec.Command("go", "build", "-o", bin, "github.com/wiredojo/wiredojo/cmd/wiredojo")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building wiredojo for the lab tests: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testEnv(t *testing.T, defaults ...string) *Env {
	t.Helper()
	env := &Env{Dir: t.TempDir(), Out: &testkit.Buffer{}, Self: bin, Addrs: map[string]string{}}
	for _, d := range defaults {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		env.Addrs[d] = fmt.Sprintf("127.0.0.1:%d", p)
	}
	return env
}

// mustPass and mustFail check a Result both ways.
func mustPass(t *testing.T, l *Lab, env *Env) {
	t.Helper()
	res := l.Check(context.Background(), env)
	if !res.Passed {
		t.Fatalf("lab %d check failed after the reference solution:\n%s\nlab output:\n%s", l.Number, describe(res), env.Out)
	}
}

func mustFail(t *testing.T, l *Lab, env *Env, wantDetail string) {
	t.Helper()
	res := l.Check(context.Background(), env)
	if res.Passed {
		t.Fatalf("lab %d check passed without the work:\n%s", l.Number, describe(res))
	}
	if !strings.Contains(describe(res), wantDetail) {
		t.Fatalf("lab %d check failed without saying %q:\n%s", l.Number, wantDetail, describe(res))
	}
}

func describe(r Result) string {
	var b strings.Builder
	for _, it := range r.Items {
		fmt.Fprintf(&b, "  ok=%v %s: %s\n", it.OK, it.Name, it.Detail)
	}
	return b.String()
}

func lab(t *testing.T, n int) *Lab {
	t.Helper()
	l, err := Catalog().Lab(n)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestCatalog(t *testing.T) {
	book := Catalog()
	if len(book) < 10 {
		t.Fatalf("%d labs, want at least 10", len(book))
	}
	for i, l := range book {
		if l.Number != i+1 || l.Slug == "" || l.Title == "" || l.Check == nil || len(l.Hints) == 0 {
			t.Errorf("lab %d is incomplete: %+v", i+1, l)
		}
		if strings.Contains(l.Text, "missing lab text") || !strings.HasPrefix(l.Text, "# Lab") {
			t.Errorf("lab %d has no text", l.Number)
		}
	}
	if _, err := book.Find("rooms"); err != nil {
		t.Error(err)
	}
	if _, err := book.Lab(99); err == nil {
		t.Error("lab 99 exists")
	}
}

// A hint that says "Run exactly: CMD" gives a command of the lab's own
// steps, as written there: a learner who follows it makes the evidence the
// text asks for.
func TestRunExactlyHintsAreSteps(t *testing.T) {
	for _, l := range Catalog() {
		var lines []string
		for _, st := range Steps(l.Text) {
			for _, line := range strings.Split(st.Code, "\n") {
				lines = append(lines, strings.TrimSpace(line))
			}
		}
		for _, h := range l.Hints {
			cmd, ok := strings.CutPrefix(h, "Run exactly: ")
			if ok && !slices.Contains(lines, cmd) {
				t.Errorf("lab %d: hint %q is not a line of the text's steps", l.Number, h)
			}
		}
	}
}

func readFile(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}

// Checks say what is wrong, and which part of it, from evidence written
// as a learner could have.
func TestChecksSayWhatIsWrong(t *testing.T) {
	write := func(env *Env, name, body string) {
		t.Helper()
		if err := os.WriteFile(env.Path(name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := testEnv(t)
	right := "Ethernet: 2 link\nIPv4: 3 internet\nTCP: 4 transport\nUDP: 4 transport\nHTTP: 7 application\nWebSocket: 7 application\n"
	write(env, "answers.txt", strings.Replace(right, "IPv4: 3 internet", "IPv4: 4 internet", 1))
	mustFail(t, lab(t, 9), env, "IPv4: the TCP/IP layer internet is right, but OSI 4 is not")
	write(env, "answers.txt", strings.Replace(right, "TCP: 4 transport", "TCP: 4 internet", 1))
	mustFail(t, lab(t, 9), env, "TCP: OSI 4 is right, but the TCP/IP layer internet is not")
	write(env, "answers.txt", strings.Replace(right, "UDP: 4 transport", "UDP: <UDP-PLACE>", 1))
	mustFail(t, lab(t, 9), env, "no line for UDP")
	// The viewer names OSI 5 as another placement of WebSocket; "network"
	// is read as OSI 3.
	write(env, "answers.txt", strings.NewReplacer("WebSocket: 7", "WebSocket: 5", "IPv4: 3", "IPv4: network").Replace(right))
	mustPass(t, lab(t, 9), env)

	env = testEnv(t)
	write(env, "accept.txt", "b37a4f2cc0624f1690f64606cf385945b2bec4ea\n") // the hex digest
	mustFail(t, lab(t, 4), env, "not the hex")

	// ws dial's session of lab 4 as nobody (labs/testdata/ws-dial.pcap):
	// its text frame "hello" masked with 94ad8807, its own close frame
	// (1000) masked with ecbe0571, the server's close 1003. The close
	// frame's key and code are not the answers.
	env = testEnv(t)
	write(env, "accept.txt", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\n")
	write(env, "ws.pcap", readFile(filepath.Join("testdata", "ws-dial.pcap")))
	write(env, "answers.txt", "masking key: ecbe0571\nclose code: 1003\n")
	mustFail(t, lab(t, 4), env, `masking key: "ecbe0571" is not what your evidence shows`)
	write(env, "answers.txt", "masking key: 94ad8807\nclose code: 1000\n")
	mustFail(t, lab(t, 4), env, `close code: "1000" is not what your evidence shows`)
	write(env, "answers.txt", "masking key: 94 ad 88 07\nclose code: 1003\n")
	mustPass(t, lab(t, 4), env)

	env = testEnv(t)
	write(env, "listen.jsonl", `{"ns":"/","event":"new","args":[{"text":"hello"}]}`+"\n")
	write(env, "ack.txt", `"ping"`)
	mustFail(t, lab(t, 3), env, "check the event name")

	env = testEnv(t)
	write(env, "back.jsonl", `{"ns":"/","event":"kept","args":[1]}`+"\n"+`{"ns":"/","event":"kept","args":[2]}`+"\n"+`{"ns":"/","event":"kept","args":[3]}`+"\n"+`{"ns":"/","event":"plain","args":[1]}`+"\n")
	mustFail(t, lab(t, 5), env, "plain events came back")
	// Only the durable events, sent while the listener was connected: they
	// come back, and no plain one does, but nothing was missed.
	kept := `{"ns":"/","event":"kept","args":[1]}` + "\n" + `{"ns":"/","event":"kept","args":[2]}` + "\n" + `{"ns":"/","event":"kept","args":[3]}` + "\n"
	write(env, "back.jsonl", kept)
	learner := func(sid, what string) string {
		return "01:23:30 tcpchat: 127.0.0.1:40000: session " + sid + " (client learner) " + what + "\n"
	}
	emit := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "01:23:31 tcpchat: 127.0.0.1:%d: session e%d (client e%d) connected\n01:23:31 tcpchat: 127.0.0.1:%d: session e%d closed: closed by the client\n", 41000+i, i, i, 41000+i, i)
		}
		return b.String()
	}
	write(env, "server.log", learner("L1", "connected")+"01:23:30 tcpchat: 127.0.0.1:40000: session L1 closed: closed by the client\n"+learner("L2", "connected")+emit(3))
	mustFail(t, lab(t, 5), env, "at most 0 clients connected between a stop of the listener and its return")
	write(env, "server.log", emit(3))
	mustFail(t, lab(t, 5), env, "server.log shows no client learner")
	write(env, "server.log", learner("L1", "connected")+"01:23:30 tcpchat: 127.0.0.1:40000: session L1 closed: closed by the client\n"+emit(6)+learner("L2", "connected"))
	mustPass(t, lab(t, 5), env)

	// An emit without --room reaches the whole namespace: blue gets it,
	// and so does red.
	env = testEnv(t)
	paint := `{"ns":"/chat","event":"paint","args":["blue"]}` + "\n"
	write(env, "blue.jsonl", paint)
	write(env, "server.log", `01:24:15 create-room /chat room "blue"
01:24:15 join-room /chat room "blue" socket 9RL7WwmnLPwy
01:24:15 leave-room /chat room "blue" socket 9RL7WwmnLPwy
01:24:15 delete-room /chat room "blue"
`)
	write(env, "red.jsonl", paint)
	mustFail(t, lab(t, 6), env, "red.jsonl has the `paint` event too")
	write(env, "red.jsonl", "")
	mustPass(t, lab(t, 6), env)

	// An emit straight into node 2 reaches its listener without crossing
	// nodes: node 1's log has no client.
	env = testEnv(t)
	write(env, "node2.jsonl", `{"ns":"/chat","event":"hello","args":["from node 1"]}`+"\n")
	node1 := "chat: serving on 127.0.0.1:7077 (framed TCP; HTTP /healthz /metrics); Ctrl-C to stop\n"
	write(env, "node1.log", node1)
	mustFail(t, lab(t, 7), env, "node1.log shows no client session")
	write(env, "node1.log", node1+"01:24:28 tcpchat: 127.0.0.1:36462: session SYRiIbhNUT8e (client SYRiIbhNUT8e) connected\n")
	mustPass(t, lab(t, 7), env)

	// compare run without root: TCP not impaired, no head-of-line blocking.
	env = testEnv(t)
	write(env, "compare.json", `{"tcp":{"sent":500,"received":500,"hol_blocking_ms":0,"latency_ms":{"p99":0.1}},"udp":{"sent":500,"received":478,"lost":22,"latency_ms":{"p99":22}}}`)
	mustFail(t, lab(t, 8), env, "TCP's path was not impaired")

	env = testEnv(t)
	dests := func(uni, bcast, group int) string {
		return fmt.Sprintf(`"destinations":{"unicast":%d,"broadcast":%d,"group":%d,"other_group":0,"unknown":0}`, uni, bcast, group)
	}
	multicast := `{"sent":100,"received":100,"lost":0,"group":"239.1.2.3",` + dests(0, 0, 100) + `}`
	broadcast := `{"sent":100,"received":100,"lost":0,` + dests(0, 100, 0) + `}`
	write(env, "multicast.json", multicast)
	write(env, "answers.txt", "received: 99\nlost: 0\n")
	mustFail(t, lab(t, 10), env, `received: "99" is not what your evidence shows`)
	// The multicast part done, the broadcast of step 4 not.
	write(env, "answers.txt", "received: 100\nlost: 0\n")
	mustFail(t, lab(t, 10), env, "broadcast.json is missing")
	write(env, "broadcast.json", `{"sent":100,"received":100,"lost":0,"group":"239.1.2.3",`+dests(0, 0, 100)+`}`)
	mustFail(t, lab(t, 10), env, "a broadcast needs no group")
	write(env, "broadcast.json", broadcast)
	mustPass(t, lab(t, 10), env)
	// Plain unicast to the receivers' port: a receiver on 0.0.0.0 hears
	// it, group or not; the summaries say where it was addressed.
	write(env, "multicast.json", `{"sent":100,"received":100,"lost":0,"group":"239.1.2.3",`+dests(100, 0, 0)+`}`)
	mustFail(t, lab(t, 10), env, "100 were sent to an address of the host (unicast), 0 to a broadcast address, 0 to the group 239.1.2.3: a receiver on 0.0.0.0:9999 hears every datagram to its port, not only the group's; send to the group itself, `udp send --group 239.1.2.3 --port 9999` (step 2)")
	write(env, "multicast.json", `{"sent":100,"received":100,"lost":0,"group":"239.1.2.3",`+dests(50, 0, 50)+`}`)
	mustFail(t, lab(t, 10), env, "50 were sent to an address of the host (unicast), 0 to a broadcast address, 50 to the group 239.1.2.3")
	write(env, "multicast.json", `{"sent":100,"received":100,"lost":0,"group":"239.1.2.3"}`)
	mustFail(t, lab(t, 10), env, "multicast.json does not say where its datagrams were addressed")
	write(env, "multicast.json", multicast)
	write(env, "broadcast.json", `{"sent":100,"received":100,"lost":0,`+dests(100, 0, 0)+`}`)
	mustFail(t, lab(t, 10), env, "100 were sent to an address of the host (unicast), 0 to a broadcast address, 0 to a group: a broadcast goes to the broadcast address, `udp send --broadcast --to 127.255.255.255:9999` (step 4)")
	write(env, "broadcast.json", `{"sent":100,"received":100,"lost":0}`)
	mustFail(t, lab(t, 10), env, "broadcast.json does not say where its datagrams were addressed")
	write(env, "broadcast.json", broadcast)
	mustPass(t, lab(t, 10), env)
	os.Remove(env.Path("broadcast.json"))
	// A unicast run (udp recv without --group) is not the lab's work.
	write(env, "multicast.json", `{"sent":100,"received":100,"lost":0}`)
	write(env, "answers.txt", "received: 100\nlost: 0\n")
	mustFail(t, lab(t, 10), env, "the receiver did not join one")

	// socket.io-client 4.8's session against the lab's server
	// (testdata/captures/sio-capture.pcap): a polling handshake, the
	// upgrade and heartbeats, but its binary event asks for no ack.
	env = testEnv(t)
	write(env, "sio.pcap", readFile(filepath.Join("..", "testdata", "captures", "sio-capture.pcap")))
	mustFail(t, lab(t, 11), env, "no BINARY_EVENT with an ack id answered")
}
