package labs

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testdep"
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

// syncBuffer collects a lab's output for the test log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testEnv(t *testing.T, defaults ...string) *Env {
	t.Helper()
	env := &Env{Dir: t.TempDir(), Out: &syncBuffer{}, Self: bin, Addrs: map[string]string{}}
	for _, d := range defaults {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		env.Addrs[d] = fmt.Sprintf("127.0.0.1:%d", p)
	}
	return env
}

// startLab runs the lab's set-up in the background until the returned stop
// function is called; it waits until addr accepts connections.
func startLab(t *testing.T, l *Lab, env *Env, addr string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, env) }()
	if err := waitTCP(ctx, addr); err != nil {
		cancel()
		<-done
		t.Fatalf("lab %d set-up did not come up: %v\n%s", l.Number, err, env.Out)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("lab %d run: %v", l.Number, err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("lab %d run did not stop", l.Number)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// wd runs the wiredojo binary and returns its standard output.
func wd(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("wiredojo %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// background runs the wiredojo binary until stop is called, writing its
// standard output to file.
func background(t *testing.T, file string, args ...string) (stop func()) {
	t.Helper()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stdout = f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			f.Close()
		})
	}
	t.Cleanup(stop)
	return stop
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

func TestLab1Handshake(t *testing.T) {
	testdep.RequireRoot(t)
	l := lab(t, 1)
	mustFail(t, l, testEnv(t), "handshake.pcap is missing")
	env := testEnv(t, "127.0.0.1:7071")
	addr := env.Addr("127.0.0.1:7071")
	stop := startLab(t, l, env, addr)
	time.Sleep(500 * time.Millisecond) // the capture starts after the server
	wd(t, "", "chat", "emit", "--addr", addr, "--ns", "/", "--event", "hello", `"hi"`)
	time.Sleep(300 * time.Millisecond)
	stop()
	mustPass(t, l, env)
}

func TestLab2ByteStream(t *testing.T) {
	l := lab(t, 2)
	env := testEnv(t, "127.0.0.1:7072")
	addr := env.Addr("127.0.0.1:7072")
	stop := startLab(t, l, env, addr)
	send := func(b []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	send([]byte("one\ntwo\nthree\n"))
	time.Sleep(200 * time.Millisecond)
	waitFor(t, func() bool { return strings.Contains(readFile(env.Path("reads.log")), `"closed":true`) })
	mustFail(t, l, env, "no connection decoded as exactly three whole frames")
	send([]byte("\x00\x00\x00\x03one\x00\x00\x00\x03two\x00\x00\x00\x05three"))
	waitFor(t, func() bool { return strings.Contains(readFile(env.Path("reads.log")), `"three"`) })
	stop()
	mustPass(t, l, env)
}

func TestLab3Events(t *testing.T) {
	l := lab(t, 3)
	mustFail(t, l, testEnv(t), "listen.jsonl is missing")
	env := testEnv(t, "127.0.0.1:7073")
	addr := env.Addr("127.0.0.1:7073")
	startLab(t, l, env, addr)
	stopListen := background(t, env.Path("listen.jsonl"), "chat", "listen", "--addr", addr, "--ns", "/", "--json")
	time.Sleep(700 * time.Millisecond) // let the listener connect
	wd(t, "", "chat", "emit", "--addr", addr, "--ns", "/", "--event", "news", `{"text":"hello"}`)
	out := wd(t, "", "chat", "emit", "--addr", addr, "--ns", "/", "--event", "echo", "--ack", `"ping"`)
	if err := os.WriteFile(env.Path("ack.txt"), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(readFile(env.Path("listen.jsonl")), "news") })
	stopListen()
	mustPass(t, l, env)
	// A wrong event name is reported.
	if err := os.WriteFile(env.Path("listen.jsonl"), []byte(`{"ns":"/","event":"new","args":[{"text":"hello"}]}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustFail(t, l, env, "check the event name")
}

func TestLab4WebSocket(t *testing.T) {
	testdep.RequireRoot(t)
	l := lab(t, 4)
	mustFail(t, l, testEnv(t), "accept.txt is missing")
	env := testEnv(t, "127.0.0.1:7074")
	addr := env.Addr("127.0.0.1:7074")
	stop := startLab(t, l, env, addr)
	time.Sleep(500 * time.Millisecond) // the capture starts after the server
	wd(t, "hello\n", "ws", "dial", "ws://"+addr+"/ws")
	time.Sleep(300 * time.Millisecond)
	stop()
	// The hex digest instead of the raw bytes is the usual mistake.
	if err := os.WriteFile(env.Path("accept.txt"), []byte("b37a4f2cc0624f1690f64606cf385945b2bec4ea\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustFail(t, l, env, "not the hex")
	if err := os.WriteFile(env.Path("accept.txt"), []byte("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustPass(t, l, env)
}

func TestLab5Queues(t *testing.T) {
	l := lab(t, 5)
	mustFail(t, l, testEnv(t), "back.jsonl is missing")
	env := testEnv(t, "127.0.0.1:7075")
	addr := env.Addr("127.0.0.1:7075")
	startLab(t, l, env, addr)
	listen := []string{"chat", "listen", "--addr", addr, "--ns", "/", "--client-id", "learner", "--json"}
	first := background(t, env.Path("first.jsonl"), listen...)
	time.Sleep(700 * time.Millisecond) // the server learns the client id
	first()
	for _, i := range []string{"1", "2", "3"} {
		wd(t, "", "chat", "emit", "--addr", addr, "--ns", "/", "--event", "plain", i)
		wd(t, "", "chat", "emit", "--addr", addr, "--ns", "/", "--event", "kept", "--durable", "--to", "learner", i)
	}
	back := background(t, env.Path("back.jsonl"), listen...)
	waitFor(t, func() bool { return strings.Count(readFile(env.Path("back.jsonl")), `"kept"`) >= 3 })
	back()
	mustPass(t, l, env)
	// Had the listener stayed connected, the plain events would be there too.
	f, err := os.OpenFile(env.Path("back.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, `{"ns":"/","event":"plain","args":[1]}`)
	f.Close()
	mustFail(t, l, env, "plain events came back")
}

func TestLab6Rooms(t *testing.T) {
	l := lab(t, 6)
	env := testEnv(t, "127.0.0.1:7076")
	addr := env.Addr("127.0.0.1:7076")
	stop := startLab(t, l, env, addr)
	stopBlue := background(t, env.Path("blue.jsonl"), "chat", "listen", "--addr", addr, "--ns", "/chat", "--room", "blue", "--json")
	waitFor(t, func() bool { return strings.Contains(readFile(env.Path("server.log")), "join-room") })
	wd(t, "", "chat", "emit", "--addr", addr, "--ns", "/chat", "--room", "blue", "--event", "paint", `"blue"`)
	waitFor(t, func() bool { return strings.Contains(readFile(env.Path("blue.jsonl")), "paint") })
	// While the listener is still in the room, blue is not deleted yet.
	mustFail(t, l, env, "delete-room")
	stopBlue()
	waitFor(t, func() bool { return strings.Contains(readFile(env.Path("server.log")), "delete-room") })
	stop()
	mustPass(t, l, env)
}

func TestLab7ManyServers(t *testing.T) {
	testdep.Require(t, "redis-server", "apt-get install redis-server")
	l := lab(t, 7)
	mustFail(t, l, testEnv(t), "node2.jsonl is missing")
	env := testEnv(t, "127.0.0.1:7077", "127.0.0.1:7078")
	node1, node2 := env.Addr("127.0.0.1:7077"), env.Addr("127.0.0.1:7078")
	stop := startLab(t, l, env, node1)
	if err := waitTCP(context.Background(), node2); err != nil {
		t.Fatal(err)
	}
	stopListen := background(t, env.Path("node2.jsonl"), "chat", "listen", "--addr", node2, "--ns", "/chat", "--room", "lobby", "--json")
	waitFor(t, func() bool { return strings.Contains(readFile(env.Path("node2.log")), "join-room") })
	time.Sleep(300 * time.Millisecond) // node 1 hears of the room through Redis
	wd(t, "", "chat", "emit", "--addr", node1, "--ns", "/chat", "--room", "lobby", "--event", "hello", `"from node 1"`)
	waitFor(t, func() bool { return strings.Contains(readFile(env.Path("node2.jsonl")), "from node 1") })
	stopListen()
	stop()
	mustPass(t, l, env)
	if err := os.WriteFile(env.Path("node2.jsonl"), []byte(`{"ns":"/chat","event":"hello","args":["from node 2"]}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustFail(t, l, env, "no `hello`")
}

func TestLab8TCPvsUDP(t *testing.T) {
	l := lab(t, 8)
	env := testEnv(t)
	out := wd(t, "", "compare", "--count", "300", "--size", "200", "--json")
	if err := os.WriteFile(env.Path("compare.json"), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	mustFail(t, l, env, "UDP lost nothing")
	out = wd(t, "", "compare", "--count", "300", "--size", "200", "--loss", "5%", "--delay", "10ms", "--jitter", "2ms", "--json")
	if err := os.WriteFile(env.Path("compare.json"), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	mustPass(t, l, env)
}

func TestLab9Layers(t *testing.T) {
	l := lab(t, 9)
	env := testEnv(t)
	mustFail(t, l, env, "layers.txt is missing")
	wrong := "Ethernet 2 link\nIPv4 3 internet\nTCP 4 transport\nUDP 4 transport\nHTTP 7 application\nWebSocket 5 transport\n"
	if err := os.WriteFile(env.Path("layers.txt"), []byte(wrong), 0o644); err != nil {
		t.Fatal(err)
	}
	mustFail(t, l, env, "WebSocket is not at OSI 5 / transport")
	right := strings.Replace(wrong, "WebSocket 5 transport", "WebSocket 7 application", 1)
	if err := os.WriteFile(env.Path("layers.txt"), []byte(right), 0o644); err != nil {
		t.Fatal(err)
	}
	mustPass(t, l, env)
}

func TestLab10Multicast(t *testing.T) {
	l := lab(t, 10)
	env := testEnv(t)
	mustFail(t, l, env, "multicast.json is missing")
	p, err := freeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(p)
	stopRecv := background(t, env.Path("multicast.json"), "udp", "recv", "--addr", "0.0.0.0:"+port, "--group", "239.1.2.3", "--count", "100", "--json")
	time.Sleep(700 * time.Millisecond) // the receiver joins the group
	wd(t, "", "udp", "send", "--group", "239.1.2.3", "--port", port, "--count", "100", "--size", "64")
	waitFor(t, func() bool { return strings.Contains(readFile(env.Path("multicast.json")), "received") })
	stopRecv()
	mustPass(t, l, env)
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func readFile(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}

// waitFor polls cond for up to 15 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the lab's evidence")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
