package natsbench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// IdleClientsEnv, when set in the environment to "ADDR N", makes a program
// that checks it (cmd/chatbench, this package's tests) run
// IdleClientsMain instead of its usual work: that is how MeasureIdleNATS
// opens its clients in another process.
const IdleClientsEnv = "NATSBENCH_IDLE_CLIENTS"

// natsHello is what each idle client sends after the server's INFO: a
// CONNECT with the fields nats.go sends by default, and a PING whose PONG
// proves the server has processed the CONNECT.
const natsHello = "CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":false,\"lang\":\"go\",\"version\":\"1.55.0\",\"protocol\":1,\"echo\":true,\"headers\":true,\"no_responders\":true}\r\nPING\r\n"

// IdleClientsMain runs in the client process: it opens N connections to
// the NATS server at ADDR (spec is "ADDR N"), completes the handshake on
// each, prints "ready" on stdout and holds them until stdin ends. It
// returns the process's exit status.
func IdleClientsMain(spec string, stdin io.Reader, stdout, stderr io.Writer) int {
	addr, nstr, _ := strings.Cut(spec, " ")
	n, err := strconv.Atoi(nstr)
	if err != nil || n < 1 {
		fmt.Fprintf(stderr, "natsbench: idle clients: bad spec %q (want \"ADDR N\")\n", spec)
		return 2
	}
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := natsHandshake(addr)
		if err != nil {
			fmt.Fprintf(stderr, "natsbench: idle client %d: %v\n", i, err)
			return 1
		}
		conns = append(conns, c)
	}
	fmt.Fprintln(stdout, "ready")
	io.Copy(io.Discard, stdin)
	return 0
}

func natsHandshake(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReaderSize(c, 4096)
	line, err := r.ReadString('\n')
	if err == nil && !strings.HasPrefix(line, "INFO ") {
		err = fmt.Errorf("want INFO, got %.40q", line)
	}
	if err == nil {
		_, err = io.WriteString(c, natsHello)
	}
	if err == nil {
		line, err = r.ReadString('\n')
		if err == nil && line != "PONG\r\n" {
			err = fmt.Errorf("want PONG, got %.40q", line)
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// liveBytes returns the live heap objects plus goroutine stacks of this
// process after two collections, from runtime/metrics (the method of
// tcpchat's BenchmarkIdleConnMemory).
func liveBytes() uint64 {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// MeasureIdleNATS starts an embedded nats-server with its defaults in this
// process, runs exe (a program that calls IdleClientsMain when
// IdleClientsEnv is set) to open n idle client connections, and returns
// the server process's live heap plus stacks per connection, in bytes:
// (after - before) / n, both read after garbage collection.
func MeasureIdleNATS(exe string, n int) (float64, error) {
	srv, err := startNATSServer()
	if err != nil {
		return 0, err
	}
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	before := liveBytes()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), IdleClientsEnv+"="+srv.Addr().String()+" "+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("natsbench: idle clients: %w", err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		return 0, fmt.Errorf("natsbench: idle client process: %q %v", line, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for srv.NumClients() < n {
		if time.Now().After(deadline) {
			return 0, errors.New("natsbench: nats-server did not register every idle client within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // as tcpchat's measurement: let writers settle
	after := liveBytes()
	return float64(int64(after)-int64(before)) / float64(n), nil
}
