package natsbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The Socket.IO comparison drives both servers with the official
// socket.io-client on node (bench/node/client.js): `wiredojo chat serve`
// at /socket.io/ (namespace /chat, its built-ins) and node's socket.io
// (server.js, namespace /). The harness is node because that is the client
// people run; this package starts the servers, reads their CPU time and
// RSS, and starts the harness once per case.

// SocketIOURL returns the URL socket.io-client connects to for srv: the
// namespace with the relay (wiredojo's /chat, server.js's /).
func SocketIOURL(srv *ServerProc) string {
	if srv.System == Chat {
		return "http://" + srv.Addr + procNamespace
	}
	return "http://" + srv.Addr + "/"
}

// nodeClient is one run of bench/node/client.js.
type nodeClient struct {
	cmd     *exec.Cmd
	started time.Time
	stdin   io.WriteCloser
	lines   *bufio.Scanner
	stderr  lockedBuffer
}

func startNodeClient(ctx context.Context, p Programs, args ...string) (*nodeClient, error) {
	c := &nodeClient{cmd: exec.CommandContext(ctx, p.Node, append([]string{"client.js"}, args...)...)}
	c.cmd.Dir = p.NodeDir
	if p.ClientCPUs != "" {
		cmd := pinned(c.cmd, p.ClientCPUs)
		c.cmd = exec.CommandContext(ctx, cmd.Args[0], cmd.Args[1:]...)
		c.cmd.Dir = p.NodeDir
	}
	c.stderr.b = new(bytes.Buffer)
	c.cmd.Stderr = &c.stderr
	// The harness's holder processes share its stderr: should one outlive
	// it, Wait stops waiting for their output after WaitDelay, so that a
	// failed run ends with its error instead of hanging.
	c.cmd.WaitDelay = 5 * time.Second
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("natsbench: start socket.io-client harness: %w", err)
	}
	c.started = time.Now()
	c.lines = bufio.NewScanner(out)
	return c, nil
}

// expect reads the harness's next line, which must start with word; it
// returns the rest.
func (c *nodeClient) expect(word string) (string, error) {
	if !c.lines.Scan() {
		c.stdin.Close()
		// How it ended (an exit status, or "signal: killed" when the
		// run's context ran out and exec killed it) and how long it ran.
		werr := c.cmd.Wait()
		return "", fmt.Errorf("natsbench: socket.io-client harness ended before %q after %v: %v (read: %v); stderr: %s",
			word, time.Since(c.started).Round(time.Millisecond), werr, c.lines.Err(), c.stderrTail())
	}
	rest, ok := strings.CutPrefix(c.lines.Text(), word)
	if !ok {
		return "", fmt.Errorf("natsbench: socket.io-client harness said %.200q, want %q", c.lines.Text(), word)
	}
	return strings.TrimSpace(rest), nil
}

// stderrTail returns the end of what the harness wrote on stderr (its
// error comes last, after a line for each subscriber the server dropped).
func (c *nodeClient) stderrTail() string {
	s := c.stderr.b.String()
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	return s
}

// stop closes the harness's stdin and waits for it.
func (c *nodeClient) stop() error {
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		return fmt.Errorf("natsbench: socket.io-client harness: %w; stderr: %s", err, c.stderrTail())
	}
	return nil
}

// SocketIOClients says where the socket.io-client harness holds the
// subscribers: in Holders worker threads of the publisher's node process,
// or with Procs in Holders node processes of their own.
type SocketIOClients struct {
	Holders int
	Procs   bool
}

// RunSocketIOClientFanout runs one fan-out case against srv (Chat or
// SocketIO) with socket.io-client: N subscribers spread over the holders
// of where and a publisher, the window as in RunFanoutProc (Rate is not
// supported). The server's CPU time is read around the measured events.
func RunSocketIOClientFanout(ctx context.Context, srv *ServerProc, p Programs, cfg FanoutConfig, where SocketIOClients) (FanoutResult, error) {
	res := FanoutResult{System: srv.System, Subscribers: cfg.Subscribers, Events: cfg.Events, Expected: int64(cfg.Events) * int64(cfg.Subscribers)}
	if cfg.Rate != 0 {
		return res, errors.New("natsbench: the socket.io-client harness does not pace")
	}
	procs := "0"
	if where.Procs {
		procs = "1"
	}
	c, err := startNodeClient(ctx, p, "fanout", SocketIOURL(srv), strconv.Itoa(cfg.Subscribers), strconv.Itoa(cfg.Events),
		strconv.Itoa(cfg.Warmup), strconv.Itoa(cfg.Window), strconv.Itoa(where.Holders), procs)
	if err != nil {
		return res, err
	}
	defer c.stop()
	if _, err := c.expect("warm"); err != nil {
		return res, err
	}
	u0, err := srv.usage()
	if err != nil {
		return res, err
	}
	c0, err := treeCPU(c.cmd.Process.Pid)
	if err != nil {
		return res, fmt.Errorf("natsbench: the harness's CPU time: %w", err)
	}
	if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
		return res, err
	}
	line, err := c.expect("result")
	if err != nil {
		return res, err
	}
	u1, err := srv.usage()
	if err != nil {
		return res, err
	}
	c1, err := treeCPU(c.cmd.Process.Pid)
	if err != nil {
		return res, fmt.Errorf("natsbench: the harness's CPU time: %w", err)
	}
	res.ClientCPU = c1 - c0
	var r struct {
		Deliveries, Lost, Dropped int64
		Seconds                   float64
		P50, P99                  float64 // µs
	}
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return res, fmt.Errorf("natsbench: socket.io-client harness result %.200q: %w", line, err)
	}
	res.Delivered, res.Lost = r.Deliveries, r.Lost
	res.Elapsed = time.Duration(r.Seconds * float64(time.Second))
	res.P50, res.P99 = time.Duration(r.P50*1e3), time.Duration(r.P99*1e3)
	res.ServerCPU = u1.CPU - u0.CPU
	res.ServerReads, res.ServerWrites = u1.Reads-u0.Reads, u1.Writes-u0.Writes
	// Dropped counts subscribers whose connection the server ended: what
	// they missed is lost, and the run went on without them. Lost with
	// none dropped is what the drain did not bring in time.
	res.Disconnected = r.Dropped
	res.Stalled = r.Lost > 0 && r.Dropped == 0
	return res, c.stop()
}

// MeasureIdleRSSSocketIOClient is MeasureIdleRSS with n socket.io-client
// connections (WebSocket, connected to SocketIOURL(srv)) from one node
// process; the client answers the server's pings by itself.
func MeasureIdleRSSSocketIOClient(ctx context.Context, srv *ServerProc, p Programs, n int) (IdleRSS, error) {
	res := IdleRSS{Conns: n}
	var err error
	if res.Before, _, err = settledRSS(srv); err != nil {
		return res, err
	}
	c, err := startNodeClient(ctx, p, "idle", SocketIOURL(srv), strconv.Itoa(n))
	if err != nil {
		return res, err
	}
	defer c.stop()
	if _, err := c.expect("ready"); err != nil {
		return res, err
	}
	waitStill(time.Now(), nil)
	if res.After, res.Peak, err = settledRSS(srv); err != nil {
		return res, err
	}
	return res, c.stop()
}
