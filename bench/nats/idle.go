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
		c, err := natsHandshake(addr, idleDialer(i))
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

// natsHandshake dials addr with d and completes a NATS client's handshake
// (INFO, CONNECT, PING/PONG).
func natsHandshake(addr string, d *net.Dialer) (net.Conn, error) {
	c, err := d.Dial("tcp", addr)
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

// liveBytes returns the live heap objects and the goroutine stacks of
// this process after two collections, from runtime/metrics (the method of
// tcpchat's BenchmarkIdleConnMemory).
func liveBytes() (heap, stacks int64) {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}

// IdleMemory is a server's memory per idle connection, in bytes.
type IdleMemory struct {
	Heap, Stacks float64
}

// Total returns heap plus stacks.
func (m IdleMemory) Total() float64 { return m.Heap + m.Stacks }

// MeasureIdleNATS starts an embedded nats-server with its defaults in this
// process, runs exe (a program that calls IdleClientsMain when
// IdleClientsEnv is set) to open n idle client connections, and returns
// the server process's live heap and stacks per connection, in bytes:
// (after - before) / n, both read after garbage collection.
func MeasureIdleNATS(exe string, n int) (IdleMemory, error) {
	var none IdleMemory
	srv, err := startNATSServer()
	if err != nil {
		return none, err
	}
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	heap0, stacks0 := liveBytes()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), IdleClientsEnv+"="+srv.Addr().String()+" "+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return none, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return none, err
	}
	if err := cmd.Start(); err != nil {
		return none, fmt.Errorf("natsbench: idle clients: %w", err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		return none, fmt.Errorf("natsbench: idle client process: %q %v", line, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for srv.NumClients() < n {
		if time.Now().After(deadline) {
			return none, errors.New("natsbench: nats-server did not register every idle client within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // as tcpchat's measurement: let writers settle
	heap1, stacks1 := liveBytes()
	return IdleMemory{Heap: float64(heap1-heap0) / float64(n), Stacks: float64(stacks1-stacks0) / float64(n)}, nil
}
