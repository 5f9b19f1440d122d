package labs

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

// A student follows a text literally: every ```sh block runs as written,
// as an unprivileged user (nobody, through setpriv, when the tests run as
// root; then in a network namespace of its own) with a fresh state
// directory, in the terminal its first line names. Only lines that start
// with sudo run as root.
type student struct {
	t     *testing.T
	home  string
	env   []string
	cred  *syscall.Credential // nil: the tests do not run as root
	netns string              // as root: the student's own network namespace
	terms map[int]*terminal
	log   *testkit.Buffer // every command and its output, for a failure
}

// terminal is a program left running in a terminal of its own.
type terminal struct {
	cmd  *exec.Cmd
	out  *testkit.Buffer
	done chan struct{}
}

// Timeouts of the student's steps: generous, for a loaded machine; a step
// that takes longer is stuck.
const (
	stepTimeout  = 90 * time.Second
	readyTimeout = 30 * time.Second
)

func newStudent(t *testing.T) *student {
	t.Helper()
	root, err := os.MkdirTemp("", "wiredojo-student")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	home := filepath.Join(root, "home")
	s := &student{t: t, home: home, terms: map[int]*terminal{}, log: &testkit.Buffer{}}
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("no user nobody to run the student as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
		for _, d := range []string{root, filepath.Dir(bin)} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chown(home, uid, gid); err != nil {
			t.Fatal(err)
		}
		s.netns = studentNetns(t)
	}
	s.env = []string{
		"PATH=" + filepath.Dir(bin) + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + home,
		"XDG_STATE_HOME=" + filepath.Join(home, ".local", "state"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"NO_COLOR=1", "LANG=C.UTF-8", "TERM=dumb",
	}
	// Last, after the terminals: a sandbox a text started and did not stop
	// (a step failed) ends with everything in it.
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(home, ".local", "state", "wiredojo", "sandbox")); err == nil {
			_ = s.command("wiredojo sandbox stop", false).Run()
		}
	})
	t.Cleanup(s.closeTerminals)
	return s
}

// labDir is the folder `lab show` names for lab l (LABDIR in its text).
func (s *student) labDir(l *Lab) string {
	return filepath.Join(s.home, ".local", "state", "wiredojo", "labs", fmt.Sprintf("%02d-%s", l.Number, l.Slug))
}

// command returns bash running code as the student (as root for a
// privileged step, with its sudo removed).
func (s *student) command(code string, privileged bool) *exec.Cmd {
	if privileged {
		code = regexp.MustCompile(`(?m)^(\s*)sudo `).ReplaceAllString(code, "$1")
	}
	argv := []string{"bash", "-e", "-o", "pipefail", "-c", code}
	if s.netns != "" {
		if !privileged {
			argv = append([]string{"setpriv", fmt.Sprintf("--reuid=%d", s.cred.Uid), fmt.Sprintf("--regid=%d", s.cred.Gid), "--clear-groups"}, argv...)
		}
		argv = append([]string{"ip", "netns", "exec", s.netns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.home
	cmd.Env = s.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// studentNetns makes a network namespace of the student's own, so that
// the fixed ports of the texts (7070-7078, 9999, 6380) never meet the
// tests of other packages running at the same time. Inside, lo is up and
// carries multicast, as a machine's network does for lab 10.
func studentNetns(t *testing.T) string {
	t.Helper()
	testdep.Require(t, "ip", "apt-get install iproute2")
	testdep.Require(t, "setpriv", "apt-get install util-linux")
	name := fmt.Sprintf("wiredojo-student-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)
	for _, args := range [][]string{
		{"netns", "add", name},
		{"-n", name, "link", "set", "lo", "up", "multicast", "on"},
		{"-n", name, "route", "add", "224.0.0.0/4", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	return name
}

// run runs code in the student's own terminal and returns its output and
// exit status.
func (s *student) run(code string, privileged bool) (string, int) {
	s.t.Helper()
	out := &testkit.Buffer{}
	cmd := s.command(code, privileged)
	cmd.Stdout, cmd.Stderr = out, out
	fmt.Fprintf(s.log, "$ %s", code)
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting bash: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(stepTimeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		s.fail("this step did not end within %v:\n%s\n%s", stepTimeout, code, out)
	}
	fmt.Fprintf(s.log, "%s", out)
	code2 := 0
	if err != nil {
		code2 = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code2 = ee.ExitCode()
		}
	}
	return out.String(), code2
}

// fail stops the test with what the student saw so far.
func (s *student) fail(format string, args ...any) {
	s.t.Helper()
	var terms strings.Builder
	for n, tm := range s.terms {
		fmt.Fprintf(&terms, "--- terminal %d:\n%s\n", n, tm.out)
	}
	s.t.Fatalf(format+"\n--- the student's terminal:\n%s\n%s", append(args, s.log, terms.String())...)
}

// do performs one step of a text, with fill replacing its placeholders.
func (s *student) do(st Step, fill func(string) string) {
	s.t.Helper()
	code := st.Code
	for _, p := range st.Placeholders() {
		v := fill(p)
		if v == "" {
			s.fail("the test has no value for %s in:\n%s", p, code)
		}
		code = strings.ReplaceAll(code, p, v)
	}
	switch {
	case st.Interrupt:
		tm := s.terms[st.Terminal]
		if tm == nil {
			s.fail("Ctrl-C in terminal %d, where nothing runs", st.Terminal)
		}
		if st.Ready != "" {
			s.waitOutput(st.Terminal, tm, st.Ready)
		}
		_ = syscall.Kill(-tm.cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-tm.done:
		case <-time.After(readyTimeout):
			s.fail("terminal %d did not stop within %v of Ctrl-C", st.Terminal, readyTimeout)
		}
		delete(s.terms, st.Terminal)
	case st.Terminal > 0:
		if s.terms[st.Terminal] != nil {
			s.fail("terminal %d is still busy: the text starts something new there without stopping the last", st.Terminal)
		}
		tm := &terminal{cmd: s.command(code, st.Privileged()), out: &testkit.Buffer{}, done: make(chan struct{})}
		tm.cmd.Stdout, tm.cmd.Stderr = tm.out, tm.out
		// The terminal's input stays open and empty, as a terminal's does.
		if _, err := tm.cmd.StdinPipe(); err != nil {
			s.t.Fatal(err)
		}
		fmt.Fprintf(s.log, "(terminal %d) $ %s", st.Terminal, code)
		if err := tm.cmd.Start(); err != nil {
			s.t.Fatalf("starting bash: %v", err)
		}
		go func() { _ = tm.cmd.Wait(); close(tm.done) }()
		s.terms[st.Terminal] = tm
		s.waitOutput(st.Terminal, tm, st.Ready)
	default:
		if out, status := s.run(code, st.Privileged()); status != 0 {
			s.fail("this step failed with exit status %d:\n%s\n%s", status, code, out)
		}
	}
}

// waitOutput waits until terminal n has printed text (it may have ended).
func (s *student) waitOutput(n int, tm *terminal, text string) {
	s.t.Helper()
	deadline := time.After(readyTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(tm.out.String(), text) {
		select {
		case <-tm.done:
			if strings.Contains(tm.out.String(), text) {
				return
			}
			s.fail("terminal %d ended before it printed %q", n, text)
		case <-deadline:
			s.fail("terminal %d did not print %q within %v", n, text, readyTimeout)
		case <-tick.C:
		}
	}
}

// closeTerminals stops what is still running, as closing the windows would.
func (s *student) closeTerminals() {
	for n, tm := range s.terms {
		_ = syscall.Kill(-tm.cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-tm.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-tm.cmd.Process.Pid, syscall.SIGKILL)
			<-tm.done
		}
		delete(s.terms, n)
	}
}

// follow performs every step of text, LABDIR being dir.
func (s *student) follow(text, dir string, fill func(string) string) {
	s.t.Helper()
	steps := Steps(strings.ReplaceAll(text, "LABDIR", dir))
	if len(steps) == 0 {
		s.t.Fatal("the text has no ```sh step")
	}
	for _, st := range steps {
		if st.Privileged() && os.Geteuid() != 0 {
			testdep.RequireRoot(s.t)
		}
		s.do(st, fill)
	}
	s.closeTerminals()
}

// solutions find, from the student's evidence, what each lab's
// placeholders stand for: the reference solution of the text.
var solutions = map[int]func(t *testing.T, dir string) map[string]string{
	1: func(t *testing.T, dir string) map[string]string {
		segs := tcpSegments(t, filepath.Join(dir, "handshake.pcap"), 7071)
		var c, srv uint32
		first := -1
		for i, l := range segs {
			if l.Flags == 0x02 && c == 0 {
				c = l.Seq
			}
			if l.Flags == 0x12 && srv == 0 {
				srv = l.Seq
			}
			if l.Flags&0x01 != 0 && first < 0 {
				first = i
			}
		}
		return map[string]string{"<CLIENT-ISN>": fmt.Sprint(c), "<SERVER-ISN>": fmt.Sprint(srv), "<TEARDOWN-SEGMENTS>": fmt.Sprint(len(segs) - first)}
	},
	2: func(t *testing.T, dir string) map[string]string {
		log := readFile(filepath.Join(dir, "reads.log"))
		return map[string]string{"<READS>": fmt.Sprint(strings.Count(log, `"conn":1,"read"`))}
	},
	4: func(t *testing.T, dir string) map[string]string {
		pkts, err := readCapture(context.Background(), &Env{Dir: dir}, "ws.pcap", "")
		if err != nil {
			t.Fatal(err)
		}
		key := ""
		for _, p := range pkts {
			for _, l := range p.Layers {
				if l.Masked && key == "" {
					key = hex.EncodeToString(l.MaskKey[:])
				}
			}
		}
		return map[string]string{"<MASKING-KEY>": key, "<CLOSE-CODE>": "1003"}
	},
	8: func(t *testing.T, dir string) map[string]string {
		m, _ := lastJSONObject([]byte(readFile(filepath.Join(dir, "compare.json"))))
		tcp, _ := m["tcp"].(map[string]any)
		udp, _ := m["udp"].(map[string]any)
		lost, _ := number(udp, "lost")
		tl, _ := tcp["latency_ms"].(map[string]any)
		ul, _ := udp["latency_ms"].(map[string]any)
		t99, _ := number(tl, "p99")
		u99, _ := number(ul, "p99")
		higher := "tcp"
		if u99 > t99 {
			higher = "udp"
		}
		return map[string]string{"<UDP-LOST>": fmt.Sprintf("%.0f", lost), "<TCP-OR-UDP>": higher}
	},
	9: func(t *testing.T, dir string) map[string]string {
		return map[string]string{"<IPV4-PLACE>": "3 internet", "<TCP-PLACE>": "4 transport", "<UDP-PLACE>": "4 transport",
			"<HTTP-PLACE>": "7 application", "<WEBSOCKET-PLACE>": "5 application"}
	},
	11: func(t *testing.T, dir string) map[string]string {
		pkts, err := readCapture(context.Background(), &Env{Dir: dir}, "sio.pcap", "")
		if err != nil {
			t.Fatal(err)
		}
		ev := readSocketIOEvidence(pkts)
		if ev.sids == nil || ev.binaryAcks == nil {
			t.Fatalf("sio.pcap has no OPEN in HTTP or no BINARY_EVENT with an ack: %+v", ev)
		}
		return map[string]string{"<SID>": ev.sids[0], "<PING-INTERVAL>": ev.intervals[0], "<ACK-ID>": ev.binaryAcks[0],
			"<ATTACHMENTS>": ev.attachments[0], "<ENGINEIO-PLACE>": "5 application", "<SOCKETIO-PLACE>": "7 application"}
	},
	10: func(t *testing.T, dir string) map[string]string {
		m, _ := lastJSONObject([]byte(readFile(filepath.Join(dir, "multicast.json"))))
		recv, _ := number(m, "received")
		lost, _ := number(m, "lost")
		return map[string]string{"<RECEIVED>": fmt.Sprintf("%.0f", recv), "<LOST>": fmt.Sprintf("%.0f", lost)}
	},
}

// untouched is what `lab check N` must say on a fresh state, besides
// failing.
var untouched = map[int]string{
	1: "handshake.pcap is missing", 2: "reads.log is missing", 3: "listen.jsonl is missing",
	4: "accept.txt is missing", 5: "back.jsonl is missing", 6: "blue.jsonl is missing",
	7: "node2.jsonl is missing", 8: "compare.json is missing", 9: "answers.txt is missing",
	10: "multicast.json is missing", 11: "sio.pcap is missing",
}

// Every lab, done by following its text literally as an unprivileged
// student with a fresh state, passes its check; before any step, the check
// fails and says what is missing.
func TestLabTextsRunAsWritten(t *testing.T) {
	for _, l := range Catalog() {
		t.Run(fmt.Sprintf("lab%02d", l.Number), func(t *testing.T) {
			if l.Number == 7 {
				testdep.Require(t, "redis-server", "apt-get install redis-server")
			}
			if bad := BadFences(l.Text); bad != nil {
				t.Fatalf("fences that are not ```sh or ```text, or a # terminal line the tests do not understand: %q", bad)
			}
			for _, st := range Steps(l.Text) {
				if st.Privileged() {
					t.Fatalf("a step needs sudo; labs run without root:\n%s", st.Code)
				}
			}
			s := newStudent(t)
			dir := s.labDir(l)
			if out, status := s.run(fmt.Sprintf("wiredojo lab show %d", l.Number), false); status != 0 || !strings.Contains(out, dir) {
				t.Fatalf("lab show %d: exit %d, want the lab folder %s:\n%s", l.Number, status, dir, out)
			}
			check := fmt.Sprintf("wiredojo lab check %d", l.Number)
			out, status := s.run(check, false)
			if status != 1 || !strings.Contains(out, untouched[l.Number]) || !strings.Contains(out, "not done yet") {
				t.Fatalf("%s on a fresh state: exit %d, want 1 and %q:\n%s", check, status, untouched[l.Number], out)
			}
			var found map[string]string
			s.follow(l.Text, dir, func(p string) string {
				if found == nil {
					sol := solutions[l.Number]
					if sol == nil {
						t.Fatalf("lab %d has placeholders but the test no solution for them", l.Number)
					}
					found = sol(t, dir)
				}
				return found[p]
			})
			if out, status := s.run(check, false); status != 0 {
				s.fail("%s after following the text: exit %d\n%s", check, status, out)
			}
			if l.Number == 7 {
				// lab run 7 names its nodes: each log says which it is,
				// and node 2's says that the emitter's room was node 1's.
				// (Node 2 has the namespace from step 2 on, so it hears
				// node 1's room events, which came before the event the
				// listener printed; node 1 makes the namespace, and hears
				// node 2's, only from the emit on: the listener's leave
				// may come after node 1 stopped.)
				for _, c := range []struct{ file, want string }{
					{"node1.log", "this is node node1)"},
					{"node2.log", "this is node node2)"},
					{"node2.log", ` room "lobby" socket `},
					{"node2.log", " on node node1 (another node's room)"},
				} {
					if log := readFile(filepath.Join(dir, c.file)); !strings.Contains(log, c.want) {
						t.Errorf("%s lacks %q:\n%s", c.file, c.want, log)
					}
				}
			}
			// What the learner found is part of the check: without it, the
			// same evidence does not pass.
			if answers := filepath.Join(dir, "answers.txt"); found != nil {
				if err := os.WriteFile(answers, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if out, status := s.run(check, false); status != 1 || !strings.Contains(out, "answers.txt") && !strings.Contains(out, "no answer") && !strings.Contains(out, "no line") {
					t.Fatalf("%s with an empty answers.txt: exit %d, want 1 and a word on the missing answers:\n%s", check, status, out)
				}
			}
		})
	}
}

// tcpSegments returns the TCP segments of the first connection to port in
// a capture file, in order.
func tcpSegments(t *testing.T, file string, port uint16) []capture.Layer {
	t.Helper()
	pkts, err := readCapture(context.Background(), &Env{Dir: filepath.Dir(file)}, filepath.Base(file), "")
	if err != nil {
		t.Fatal(err)
	}
	var out []capture.Layer
	stream := -1
	for _, p := range pkts {
		l := p.Find(capture.ProtoTCP)
		if l == nil || (l.SrcPort != port && l.DstPort != port) {
			continue
		}
		if stream < 0 {
			stream = l.Stream
		}
		if l.Stream == stream {
			out = append(out, *l)
		}
	}
	return out
}

// The README's "A first session" section (with its live capture and its
// queue part), followed literally as an unprivileged user with a fresh
// state, runs without sudo: every step ends well and every terminal prints
// what the text says it will.
func TestReadmeFirstSessionRunsAsWritten(t *testing.T) {
	testdep.Require(t, "redis-server", "apt-get install redis-server")
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "## A first session")
	if start < 0 {
		t.Fatal(`README.md has no "## A first session"`)
	}
	section := readme[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	if bad := BadFences(section); bad != nil {
		t.Fatalf("fences that are not ```sh or ```text, or a # terminal line the tests do not understand: %q", bad)
	}
	if !strings.Contains(section, "--durable") || !strings.Contains(section, "chat queue ls") {
		t.Fatal("the first session lost its queue part")
	}
	if !strings.Contains(section, "capture live") {
		t.Fatal("the first session lost its live capture")
	}
	for _, st := range Steps(section) {
		if st.Privileged() {
			t.Fatalf("a step needs sudo; the first session runs without root:\n%s", st.Code)
		}
	}
	s := newStudent(t)
	s.follow(section, "", func(p string) string { return "" })
}

// The student of these tests has no privileges: as root, the tests run
// the texts as nobody, in a network namespace of its own.
func TestStudentIsUnprivileged(t *testing.T) {
	s := newStudent(t)
	out, status := s.run("id -u; ip -br link", false)
	if status != 0 {
		t.Fatalf("id: exit %d %s", status, out)
	}
	if os.Geteuid() == 0 && (!strings.HasPrefix(out, fmt.Sprint(s.cred.Uid)+"\n") || strings.Count(out, "\n") != 2) {
		t.Fatalf("the student runs as %q; want uid %d, in a namespace with lo only", out, s.cred.Uid)
	}
	if os.Geteuid() != 0 && strings.HasPrefix(out, "0\n") {
		t.Fatalf("the student runs as root")
	}
}
