package natsbench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/tcpchat"
)

// SocketIO names the socket.io peer (node, bench/node/server.js) in the
// separate-process benchmark; Chat and NATS name the other two.
const SocketIO = "socketio"

// Programs says where the servers of the separate-process benchmark are.
type Programs struct {
	// Wiredojo is the wiredojo binary; the server is `wiredojo chat serve`.
	Wiredojo string
	// NATSServer is a nats-server binary, run with its default options.
	NATSServer string
	// Node is the node binary and NodeDir the directory holding server.js
	// and its node_modules (bench/node).
	Node, NodeDir string
	// ServerCPUs and ClientCPUs, when set, pin the servers and the
	// socket.io-client harness (with its child processes) to those CPUs
	// (a `taskset -c` list such as "0" or "1"), so that each side gets a
	// fixed share of the machine whatever the other costs.
	ServerCPUs, ClientCPUs string
	// ServerQuota, when positive, caps each server's CPU time at that
	// fraction of one CPU with a cgroup (v1 cpu controller,
	// /sys/fs/cgroup/cpu; needs root), in the shortest period the kernel
	// allows for it (QuotaPeriod: 0.1 is 1 ms of every 10 ms), so that
	// the server, not the clients, bounds the deliveries/s: the same fixed
	// CPU share for every system.
	ServerQuota float64
}

// cgroupCPU is where the v1 cpu controller is mounted.
const cgroupCPU = "/sys/fs/cgroup/cpu"

// QuotaPeriod is the period of a CPU quota of quota of one CPU: the
// shortest one in which the quota is at least the kernel's least quota,
// 1 ms (0.1: 10 ms; at least 1 ms, at most 1 s).
//
// A short period is what makes the quota a share rather than a duty
// cycle: a server throttled for most of a long period has at most the
// publisher's window of events waiting when it runs again, so a server
// that drains the window faster than the period ends sits idle, and its
// deliveries/s measure the period and the window, not the server: with
// the kernel's default 100 ms at 0.1 and a window of 1000 events, ours
// made a third of the deliveries/s it makes in 10 ms periods, at three
// times the CPU per delivery (the wake-ups of the idle stretches), while
// node's socket.io, which uses its whole share either way, lost nothing
// by the shorter period (docs/BENCHMARKS.md, "What the cap measured at
// N=1").
func QuotaPeriod(quota float64) time.Duration {
	p := time.Duration(float64(time.Millisecond) / quota)
	return min(max(p, time.Millisecond), time.Second)
}

// capCPU makes a cgroup that caps process pid's CPU time at quota of one
// CPU (in periods of QuotaPeriod) and moves the process (all its threads)
// into it; it returns the cgroup's directory, to remove once the process
// has ended.
func capCPU(pid int, quota float64) (string, error) {
	dir := filepath.Join(cgroupCPU, "chatbench-"+strconv.Itoa(pid))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("natsbench: a cgroup for the CPU quota (root and cgroup v1 at %s needed): %w", cgroupCPU, err)
	}
	period := QuotaPeriod(quota).Microseconds()
	for _, w := range [][2]string{
		{"cpu.cfs_period_us", strconv.FormatInt(period, 10)},
		{"cpu.cfs_quota_us", strconv.FormatInt(int64(quota*float64(period)), 10)},
		{"cgroup.procs", strconv.Itoa(pid)},
	} {
		if err := os.WriteFile(filepath.Join(dir, w[0]), []byte(w[1]), 0o644); err != nil {
			os.Remove(dir)
			return "", fmt.Errorf("natsbench: cgroup CPU quota: %w", err)
		}
	}
	return dir, nil
}

// pinned returns cmd run under `taskset -c cpus` (the same process: taskset
// execs it), or cmd itself when cpus is empty.
func pinned(cmd *exec.Cmd, cpus string) *exec.Cmd {
	if cpus == "" {
		return cmd
	}
	p := exec.Command("taskset", append([]string{"-c", cpus, cmd.Path}, cmd.Args[1:]...)...)
	p.Env, p.Dir = cmd.Env, cmd.Dir
	return p
}

// ServerProc is one server running as a process of its own.
type ServerProc struct {
	System string
	// Addr is the server's loopback HOST:PORT.
	Addr   string
	cmd    *exec.Cmd
	state  string // a temporary XDG_DATA_HOME and XDG_STATE_HOME (wiredojo), removed by Stop
	cgroup string // the cgroup of Programs.ServerQuota, removed by Stop
	exited chan struct{}
	stderr bytes.Buffer
	args   []string
}

// freePort returns a loopback port nobody listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartServer starts system's server with its defaults on a free loopback
// port and waits until it accepts connections:
//
//   - Chat: `wiredojo chat serve --addr 127.0.0.1:PORT` with its
//     defaults except the limits on what one client or one address may do:
//     --rate-limit 0 (1000 packets/s per connection would cut the
//     publisher), --event-rate-per-addr 0, --conn-rate-per-addr 0,
//     --max-conns-per-addr 0 and --max-conns 0 (every client of the
//     benchmark comes from 127.0.0.1; NATS and socket.io have no such
//     limits), with a fresh XDG_DATA_HOME for its default queue store
//     (bolt, $XDG_DATA_HOME/wiredojo/queues-HOST-PORT.db) and
//     XDG_STATE_HOME;
//   - NATS: `nats-server -a 127.0.0.1 -p PORT`;
//   - SocketIO: `node server.js PORT` in p.NodeDir.
//
// extra is appended to the server's arguments (a profiling flag).
func StartServer(ctx context.Context, system string, p Programs, extra ...string) (*ServerProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("natsbench: %s: %w", system, err)
	}
	s := &ServerProc{System: system, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), exited: make(chan struct{})}
	var ready string // a line on stdout that says the server is up; "" to dial instead
	switch system {
	case Chat:
		if s.state, err = os.MkdirTemp("", "chatbench-state-"); err != nil {
			return nil, err
		}
		s.cmd = exec.Command(p.Wiredojo, append([]string{"chat", "serve", "--addr", s.Addr, "--rate-limit", "0",
			"--max-conns", "0", "--max-conns-per-addr", "0", "--conn-rate-per-addr", "0", "--event-rate-per-addr", "0"}, extra...)...)
		s.cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+s.state, "XDG_STATE_HOME="+s.state, "NO_COLOR=1")
		ready = "chat: serving on"
	case NATS:
		s.cmd = exec.Command(p.NATSServer, append([]string{"-a", "127.0.0.1", "-p", strconv.Itoa(port)}, extra...)...)
	case SocketIO:
		s.cmd = exec.Command(p.Node, append([]string{"server.js", strconv.Itoa(port)}, extra...)...)
		s.cmd.Dir = p.NodeDir
		ready = "listening "
	default:
		return nil, fmt.Errorf("natsbench: unknown system %q (want %q, %q or %q)", system, Chat, NATS, SocketIO)
	}
	s.cmd = pinned(s.cmd, p.ServerCPUs)
	s.args = s.cmd.Args
	s.cmd.Stderr = &lockedBuffer{b: &s.stderr}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		s.cleanup()
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("natsbench: start %s: %w", system, err)
	}
	if p.ServerQuota > 0 {
		if s.cgroup, err = capCPU(s.cmd.Process.Pid, p.ServerQuota); err != nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
			s.cleanup()
			return nil, err
		}
	}
	lines := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		for {
			line, err := br.ReadString('\n')
			if strings.HasPrefix(line, ready) && ready != "" {
				select {
				case lines <- line:
				default:
				}
			}
			if err != nil {
				break
			}
		}
		s.cmd.Wait()
		close(s.exited)
	}()
	fail := func(err error) (*ServerProc, error) {
		s.Stop()
		return nil, fmt.Errorf("natsbench: %s (%s): %w; stderr: %.400s", system, strings.Join(s.args, " "), err, s.stderr.String())
	}
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-lines:
			return s, nil
		case <-s.exited:
			return fail(errors.New("exited before it was ready"))
		case <-deadline.C:
			return fail(errors.New("not ready within 15 s"))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-tick.C:
			if ready != "" {
				continue
			}
			if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
				c.Close()
				return s, nil
			}
		}
	}
}

// lockedBuffer collects a child's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil
	}
	return l.b.Write(p)
}

// PID returns the server's process id.
func (s *ServerProc) PID() int { return s.cmd.Process.Pid }

// CPU returns the CPU time the server process has used so far, user plus
// system, from /proc/PID/stat (clock ticks of 10 ms).
func (s *ServerProc) CPU() (time.Duration, error) {
	d, err := procCPU(s.PID())
	if err != nil {
		return 0, fmt.Errorf("natsbench: %s CPU time: %w", s.System, err)
	}
	return d, nil
}

// procCPU returns the CPU time (user + system) process pid has used so far,
// with that of its children that ended and that it waited for
// (/proc/PID/stat: utime, stime, cutime, cstime), so that a tree's sum
// (treeCPU) does not fall when a child ends between two readings.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after its closing one. utime and stime are fields 14, 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc stat %.80q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 15 {
		return 0, fmt.Errorf("short /proc stat %.80q", b)
	}
	var ticks int64
	for _, v := range f[11:15] { // utime, stime, cutime, cstime
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad /proc stat times %q", f[11:15])
		}
		ticks += n
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(ticks) * tick, nil
}

// treeCPU returns the CPU time process pid and its descendants alive now
// have used so far (/proc/PID/task/*/children).
func treeCPU(pid int) (time.Duration, error) {
	total, err := procCPU(pid)
	if err != nil {
		return 0, err
	}
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	for _, t := range tasks {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			if child, err := strconv.Atoi(f); err == nil {
				if d, err := treeCPU(child); err == nil {
					total += d
				}
			}
		}
	}
	return total, nil
}

// Syscalls returns the read and write system calls the server process has
// made so far (/proc/PID/io: syscr, syscw).
func (s *ServerProc) Syscalls() (reads, writes int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.PID()) + "/io")
	if err != nil {
		return 0, 0, fmt.Errorf("natsbench: %s system calls: %w", s.System, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes, nil
}

func (s *ServerProc) usage() (serverUsage, error) {
	cpu, err := s.CPU()
	if err != nil {
		return serverUsage{}, err
	}
	r, w, err := s.Syscalls()
	if err != nil {
		return serverUsage{}, err
	}
	vol, invol := procSwitches(s.PID())
	return serverUsage{CPU: cpu, Reads: r, Writes: w, Switches: vol + invol, Preempted: invol, RunqWait: procRunqWait(s.PID())}, nil
}

// stealTime returns the time the host has taken the machine's CPUs away
// from it so far, all CPUs together (/proc/stat, the cpu line's eighth
// value, in 10 ms ticks); zero where it is not known.
func stealTime() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	return parseSteal(string(b))
}

// parseSteal returns the steal time of /proc/stat's text.
func parseSteal(stat string) time.Duration {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	n, _ := strconv.ParseInt(f[8], 10, 64)
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(n) * tick
}

// procRunqWait sums the time the live threads of process pid have spent
// runnable but waiting for a CPU (/proc/PID/task/*/schedstat, its second
// field, in ns; zero where the kernel keeps no schedstats).
func procRunqWait(pid int) time.Duration {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, _ := os.ReadDir(dir)
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile(dir + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			total += n
		}
	}
	return time.Duration(total)
}

// procSwitches sums the voluntary and involuntary context switches of the
// live threads of process pid (/proc/PID/task/*/status); a thread that
// ended between two readings takes its count with it, which the Go
// runtime's threads, kept for the process's life, rarely do.
func procSwitches(pid int) (vol, invol int64) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, _ := os.ReadDir(dir)
	for _, t := range tasks {
		b, err := os.ReadFile(dir + t.Name() + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			switch k {
			case "voluntary_ctxt_switches":
				vol += n
			case "nonvoluntary_ctxt_switches":
				invol += n
			}
		}
	}
	return vol, invol
}

// RSS returns the server process's resident set size in bytes
// (/proc/PID/status VmRSS).
func (s *ServerProc) RSS() (int64, error) { return s.statusBytes("VmRSS") }

// PeakRSS returns the server process's peak resident set size so far in
// bytes (VmHWM).
func (s *ServerProc) PeakRSS() (int64, error) { return s.statusBytes("VmHWM") }

// statusBytes returns the kB figure of key in the server process's
// /proc status in bytes.
func (s *ServerProc) statusBytes(key string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.PID()) + "/status")
	if err != nil {
		return 0, fmt.Errorf("natsbench: %s %s: %w", s.System, key, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				break
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("natsbench: %s: no %s in /proc status", s.System, key)
}

// Stop ends the server (SIGTERM, then SIGKILL after 5 s) and removes its
// temporary state.
func (s *ServerProc) Stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	s.cleanup()
}

func (s *ServerProc) cleanup() {
	if s.state != "" {
		os.RemoveAll(s.state)
	}
	if s.cgroup != "" {
		os.Remove(s.cgroup) // empty once the process has ended
	}
}

// RunFanoutProc runs one fan-out case against srv, a server in another
// process, with the subscribers and the publisher in this process, and
// measures the server's CPU time over the measured events. The chat
// clients join room "fanout" of namespace /chat with the built-in "join"
// event and the publisher emits "ev", which `chat serve`'s built-in
// handlers relay to the sender's rooms; the socket.io server does the same
// (bench/node/server.js); NATS subscribers take subject bench.fanout.
func RunFanoutProc(ctx context.Context, srv *ServerProc, cfg FanoutConfig) (FanoutResult, error) {
	var start startFunc
	switch srv.System {
	case Chat:
		start = func(ctx context.Context, subs []*subscriber) (fanoutSystem, error) {
			return dialChatProc(ctx, srv.Addr, subs)
		}
	case NATS:
		start = func(ctx context.Context, subs []*subscriber) (fanoutSystem, error) {
			n := &natsSystem{}
			if err := n.connect(ctx, "nats://"+srv.Addr, subs); err != nil {
				n.close()
				return nil, err
			}
			return n, nil
		}
	case SocketIO:
		start = func(ctx context.Context, subs []*subscriber) (fanoutSystem, error) {
			return dialSocketIO(ctx, srv.Addr, subs)
		}
	default:
		return FanoutResult{}, fmt.Errorf("natsbench: unknown system %q", srv.System)
	}
	return runFanout(ctx, srv.System, start, cfg, srv.usage)
}

const (
	procNamespace = "/chat"  // chat serve's default namespace for its clients
	procRoom      = "fanout" // the room every client joins
	procEvent     = "ev"     // relayed by the built-in handlers
)

// chatProcSystem is N tcpchat clients and a publisher in room procRoom of a
// `chat serve` in another process.
type chatProcSystem struct {
	clients []*tcpchat.Client
	pub     *tcpchat.ClientSocket
	once    sync.Once
}

func dialChatProc(ctx context.Context, addr string, subs []*subscriber) (_ *chatProcSystem, err error) {
	c := &chatProcSystem{}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	dial := func(sub *subscriber) (*tcpchat.ClientSocket, error) {
		cl, sock, err := dialChatSocket(ctx, addr, procNamespace, nil, sub, procEvent)
		if cl != nil {
			c.clients = append(c.clients, cl)
		}
		if err != nil {
			return nil, err
		}
		// The ack says the join happened: the publisher's events reach us.
		if _, err := sock.EmitWithAck(ctx, "join", procRoom); err != nil {
			return nil, fmt.Errorf("natsbench: chat: join: %w", err)
		}
		return sock, nil
	}
	for _, sub := range subs {
		if _, err := dial(sub); err != nil {
			return nil, err
		}
	}
	if c.pub, err = dial(nil); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *chatProcSystem) publish(p []byte) error { return c.pub.EmitRaw(procEvent, p) }

func (c *chatProcSystem) flush() error { return nil }

func (c *chatProcSystem) counters() (int64, int64) { return 0, 0 } // cuts show as disconnects

func (c *chatProcSystem) close() {
	c.once.Do(func() {
		for _, cl := range c.clients {
			cl.Close()
		}
	})
}

// socketIOURL is the WebSocket endpoint of a socket.io server (Engine.IO
// protocol 4, the websocket transport from the start).
func socketIOURL(addr string) string {
	return "ws://" + addr + "/socket.io/?EIO=4&transport=websocket"
}

// sioConn is one socket.io client over a WebSocket: Engine.IO text packets
// ("0" open, "2" ping, "3" pong, "4" message) carrying Socket.IO packets
// ("40" connect to the main namespace, "42" event, "43" ack).
type sioConn struct {
	ws   *ws.Conn
	wmu  sync.Mutex
	rbuf []byte
}

// dialSIO opens a WebSocket to the server at addr through d (nil: a zero
// net.Dialer) and connects the main namespace.
func dialSIO(ctx context.Context, addr string, d *net.Dialer) (*sioConn, error) {
	wc, err := ws.Dial(ctx, socketIOURL(addr), &ws.DialOptions{NetDialer: d})
	if err != nil {
		return nil, fmt.Errorf("natsbench: socket.io: dial: %w", err)
	}
	c := &sioConn{ws: wc}
	if d, ok := ctx.Deadline(); ok {
		wc.SetReadDeadline(d)
	}
	msg, err := c.read()
	if err == nil && (len(msg) == 0 || msg[0] != '0') {
		err = fmt.Errorf("want the Engine.IO open packet, got %.60q", msg)
	}
	if err == nil {
		err = c.write([]byte("40"))
	}
	for err == nil { // skip pings until the namespace's connect packet
		msg, err = c.read()
		if err == nil && bytes.HasPrefix(msg, []byte("40")) {
			break
		}
	}
	if err != nil {
		wc.CloseNow()
		return nil, fmt.Errorf("natsbench: socket.io: connect: %w", err)
	}
	wc.SetReadDeadline(time.Time{})
	return c, nil
}

// read returns the next message, answering pings; the result is valid
// until the next read.
func (c *sioConn) read() ([]byte, error) {
	for {
		_, msg, err := c.ws.AppendMessage(c.rbuf[:0])
		if err != nil {
			return nil, err
		}
		c.rbuf = msg
		if len(msg) == 1 && msg[0] == '2' {
			if err := c.write([]byte("3")); err != nil {
				return nil, err
			}
			continue
		}
		return msg, nil
	}
}

func (c *sioConn) write(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(ws.OpText, p)
}

// join joins procRoom and waits for the ack.
func (c *sioConn) join(ctx context.Context) error {
	if d, ok := ctx.Deadline(); ok {
		c.ws.SetReadDeadline(d)
		defer c.ws.SetReadDeadline(time.Time{})
	}
	if err := c.write([]byte(`420["join","` + procRoom + `"]`)); err != nil {
		return err
	}
	for {
		msg, err := c.read()
		if err != nil {
			return fmt.Errorf("natsbench: socket.io: join: %w", err)
		}
		if bytes.HasPrefix(msg, []byte("430")) {
			return nil
		}
	}
}

// sioSystem is N socket.io subscribers and a publisher in one room.
type sioSystem struct {
	conns []*sioConn
	pub   *sioConn
	wbuf  []byte
	wg    sync.WaitGroup
	once  sync.Once
}

// sioEventPrefix starts every event the publisher sends and the
// subscribers receive: Engine.IO message, Socket.IO event, ["ev", ...
// The payload's own JSON array supplies the rest after its '['.
var sioEventPrefix = []byte(`42["` + procEvent + `",`)

func dialSocketIO(ctx context.Context, addr string, subs []*subscriber) (_ *sioSystem, err error) {
	s := &sioSystem{}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	for _, sub := range subs {
		c, err := dialSIO(ctx, addr, nil)
		if err != nil {
			return nil, err
		}
		s.conns = append(s.conns, c)
		if err := c.join(ctx); err != nil {
			return nil, err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer sub.gone()
			p := make([]byte, PayloadSize)
			for {
				msg, err := c.read()
				if err != nil {
					return
				}
				if rest, ok := bytes.CutPrefix(msg, sioEventPrefix); ok && len(rest) == PayloadSize-1 {
					p[0] = '['
					copy(p[1:], rest)
					sub.receive(p)
				}
			}
		}()
	}
	if s.pub, err = dialSIO(ctx, addr, nil); err != nil {
		return nil, err
	}
	s.conns = append(s.conns, s.pub)
	if err := s.pub.join(ctx); err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go func() { // answer the publisher's pings
		defer s.wg.Done()
		for {
			if _, err := s.pub.read(); err != nil {
				return
			}
		}
	}()
	return s, nil
}

func (s *sioSystem) publish(p []byte) error {
	s.wbuf = append(append(s.wbuf[:0], sioEventPrefix...), p[1:]...)
	return s.pub.write(s.wbuf)
}

func (s *sioSystem) flush() error { return nil }

func (s *sioSystem) counters() (int64, int64) { return 0, 0 }

func (s *sioSystem) close() {
	s.once.Do(func() {
		for _, c := range s.conns {
			c.ws.CloseNow()
		}
		s.wg.Wait()
	})
}

// IdleRSS is what MeasureIdleRSS found.
type IdleRSS struct {
	Conns         int
	Before, After int64 // server RSS in bytes
	Peak          int64 // the server's peak RSS (VmHWM) at the reading after
}

// PerConn returns the RSS delta per connection in bytes.
func (m IdleRSS) PerConn() float64 { return float64(m.After-m.Before) / float64(m.Conns) }

// PeakPerConn returns the peak RSS above the reading before per connection
// in bytes: what the server held while the connections came in.
func (m IdleRSS) PeakPerConn() float64 { return float64(m.Peak-m.Before) / float64(m.Conns) }

// idleConn is one handshaken idle connection held open by MeasureIdleRSS.
type idleConn interface{ Close() error }

// MeasureIdleRSS opens n idle connections to srv from this process, each
// handshaken (chat: joined namespace /chat, over framed TCP or, with
// overWS, WebSocket; NATS: CONNECT and PING/PONG; socket.io: connected to
// the main namespace) and measures the server process's RSS before and
// after, each once it has settled (two readings 500 ms apart within 1%, at
// most 10 s; the reading after begins StillWait after the last
// connection and, for the chat, after the last pong round; the peak is
// VmHWM then). The connections of every system are spread over
// idleSources loopback addresses, so that 100,000 of them do not run out
// of ephemeral ports. The chat clients are bare connections that answer
// the heartbeat with a pong every 10 s.
func MeasureIdleRSS(ctx context.Context, srv *ServerProc, n int, overWS bool) (IdleRSS, error) {
	res := IdleRSS{Conns: n}
	var err error
	if res.Before, _, err = settledRSS(srv); err != nil {
		return res, err
	}
	var (
		conns []idleConn
		wg    sync.WaitGroup
	)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	var chat *idleChat
	if srv.System == Chat {
		chat = newIdleChat()
		conns = append(conns, chat)
	}
	for i := 0; i < n; i++ {
		var c idleConn
		switch srv.System {
		case Chat:
			err = chat.dial(ctx, srv.Addr, i, overWS)
		case NATS:
			var nc net.Conn
			if nc, err = natsHandshake(srv.Addr, idleDialer(i)); err == nil {
				c = nc
			}
		case SocketIO:
			var sc *sioConn
			if sc, err = dialSIO(ctx, srv.Addr, idleDialer(i)); err == nil {
				c = closeFunc(sc.ws.CloseNow)
				wg.Add(1)
				go func() { // answer pings, or the server cuts us after 45 s
					defer wg.Done()
					for {
						if _, err := sc.read(); err != nil {
							return
						}
					}
				}()
			}
		default:
			err = fmt.Errorf("natsbench: unknown system %q", srv.System)
		}
		if c != nil {
			conns = append(conns, c)
		}
		if err != nil {
			return res, fmt.Errorf("natsbench: %s: idle connection %d: %w", srv.System, i, err)
		}
	}
	waitStill(time.Now(), chat)
	res.After, res.Peak, err = settledRSS(srv)
	return res, err
}

// waitStill sleeps until StillWait has passed since last (the last
// connection) and, for the chat, since the end of the last pong round of
// its idle connections: a round wakes a reader on every connection, and
// chat serve returns that garbage only once it has stood still.
func waitStill(last time.Time, chat *idleChat) {
	for {
		t := last
		if chat != nil {
			t = later(t, chat.lastRound())
		}
		d := StillWait - time.Since(t)
		if d <= 0 {
			return
		}
		time.Sleep(d)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// StillWait is how long the idle measurements wait after the last
// connection before they read the server's RSS: what an idle server keeps,
// not its peak while the handshakes come in. chat serve returns the free
// heap memory to the system once its connections have stood still for 1 s
// (--release-idle); node and nats-server get the same wait.
const StillWait = 3 * time.Second

func settledRSS(srv *ServerProc) (rss, peak int64, err error) {
	prev, err := srv.RSS()
	if err != nil {
		return 0, 0, err
	}
	rss = prev
	for i := 0; i < 20; i++ {
		time.Sleep(500 * time.Millisecond)
		cur, err := srv.RSS()
		if err != nil {
			return 0, 0, err
		}
		rss = cur
		d := cur - prev
		if d < 0 {
			d = -d
		}
		if d*100 <= cur {
			break
		}
		prev = cur
	}
	peak, err = srv.PeakRSS()
	return rss, peak, err
}

// closeFunc makes a close method an idleConn.
type closeFunc func() error

func (f closeFunc) Close() error { return f() }
