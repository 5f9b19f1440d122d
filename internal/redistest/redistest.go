// Package redistest is a test kit that runs a real redis-server (the Debian
// package) on a free 127.0.0.1 port in a temporary directory, so tests of the
// Redis store, bus and adapter talk to the real thing. A Server can be
// stopped, killed and started again on the same port and directory (with its
// data, when persistence is on) to test recovery; the test's cleanup always
// kills it. It owns nothing but that process.
//
// Example:
//
//	srv := redistest.Start(t, redistest.Config{AppendFsync: "always"})
//	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
//	srv.Kill()
//	srv.Restart()
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testdep"
)

// Config chooses the server's persistence.
type Config struct {
	// AppendFsync turns the append-only file on with that policy: "always"
	// (fsync before every reply) or "everysec". Empty: no persistence at
	// all (no AOF, no RDB snapshots).
	AppendFsync string
	// Args are extra redis-server arguments ("--maxmemory", "10mb", ...).
	Args []string
	// cluster starts the server with cluster mode on (see StartCluster).
	cluster bool
}

// Server is one redis-server process. Its methods are safe for concurrent use.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cfg  Config

	mu     sync.Mutex
	cmd    *exec.Cmd     // guarded by mu; nil when stopped
	exited chan struct{} // guarded by mu; closed when cmd has been reaped
}

// startTimeout bounds how long a start may take before the test fails.
const startTimeout = 15 * time.Second

// Start runs redis-server on a free port and waits until it answers PING.
// The test fails (or is skipped outside CI) when redis-server is missing.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	bin := testdep.Require(t, "redis-server", "apt-get install redis-server")
	s := &Server{t: t, bin: bin, dir: t.TempDir(), cfg: cfg}
	t.Cleanup(s.Kill)
	var err error
	for range 5 { // another process may take the free port before redis binds it
		s.port, err = freePort(cfg.cluster)
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		if err = s.start(); err == nil {
			return s
		}
	}
	t.Fatalf("redistest: %v", err)
	return nil
}

// freePort returns a port free on 127.0.0.1; for a cluster node, one whose
// cluster bus port (port+10000) is free too.
func freePort(cluster bool) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("no free port on 127.0.0.1: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !cluster {
			return port, nil
		}
		if port+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		if err != nil {
			continue
		}
		bus.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port pair (port, port+10000) on 127.0.0.1 for a cluster node")
}

func (s *Server) start() error {
	args := []string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--daemonize", "no", "--protected-mode", "no", "--save", "",
		"--logfile", filepath.Join(s.dir, "redis.log"),
	}
	if s.cfg.AppendFsync != "" {
		args = append(args, "--appendonly", "yes", "--appendfsync", s.cfg.AppendFsync)
	} else {
		args = append(args, "--appendonly", "no")
	}
	if s.cfg.cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
	}
	args = append(args, s.cfg.Args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { // reaps the process; ends when it exits
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			return fmt.Errorf("redis-server exited at start on port %d; its log:\n%s", s.port, s.log())
		default:
		}
		if ping(s.Addr()) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Kill()
	return fmt.Errorf("redis-server on port %d did not answer PING within %v; its log:\n%s", s.port, startTimeout, s.log())
}

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	return string(b)
}

// ping sends PING and expects +PONG (also used while loading: -LOADING is
// not ready).
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("redis answered %q", strings.TrimSpace(line))
	}
	return nil
}

// Addr returns host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL returns redis://127.0.0.1:PORT/0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Dir returns the server's data directory.
func (s *Server) Dir() string { return s.dir }

// Stop ends the server with SIGTERM (redis flushes the append-only file and
// exits) and waits for it.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Kill ends the server with SIGKILL (no chance to flush anything) and waits
// for it. It does nothing when the server is not running.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(startTimeout):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Restart starts the server again on the same port and directory (after
// Stop or Kill) and waits until it answers PING, i.e. has loaded its data.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		s.t.Fatal("redistest: Restart of a running server; Stop or Kill it first")
	}
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

// Version returns the output of redis-server --version.
func Version(t testing.TB) string {
	bin := testdep.Require(t, "redis-server", "apt-get install redis-server")
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("redistest: %s --version: %v", bin, err)
	}
	return strings.TrimSpace(string(out))
}
