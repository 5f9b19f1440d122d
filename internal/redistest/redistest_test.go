package redistest

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// do sends one inline command and returns the first reply line.
func do(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(line, "$") && !strings.HasPrefix(line, "$-1") {
		line, err = r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
	}
	return strings.TrimSpace(line)
}

func TestStartKillRestartKeepsAOFData(t *testing.T) {
	s := Start(t, Config{AppendFsync: "always"})
	if !strings.HasPrefix(s.URL(), "redis://127.0.0.1:") {
		t.Fatalf("URL %q", s.URL())
	}
	if got := do(t, s.Addr(), "SET k v"); got != "+OK" {
		t.Fatalf("SET: %q", got)
	}
	s.Kill()
	if ping(s.Addr()) == nil {
		t.Fatal("server still answers after Kill")
	}
	s.Restart()
	if got := do(t, s.Addr(), "GET k"); got != "v" {
		t.Fatalf("GET after kill -9 and restart with appendfsync always = %q, want v", got)
	}
	s.Stop()
	s.Restart()
	if got := do(t, s.Addr(), "GET k"); got != "v" {
		t.Fatalf("GET after stop and restart = %q, want v", got)
	}
}

func TestNoPersistenceLosesData(t *testing.T) {
	s := Start(t, Config{})
	do(t, s.Addr(), "SET k v")
	s.Kill()
	s.Restart()
	if got := do(t, s.Addr(), "GET k"); got != "$-1" {
		t.Fatalf("GET after restart without persistence = %q, want nil", got)
	}
	if v := Version(t); !strings.Contains(v, "Redis server") {
		t.Fatalf("version %q", v)
	}
}

func TestClusterForms(t *testing.T) {
	c := StartCluster(t, 3, Config{})
	if len(c.Addrs()) != 3 {
		t.Fatalf("addrs %v", c.Addrs())
	}
	// a key on the wrong node answers MOVED: proof that slots are spread
	moved := 0
	for _, a := range c.Addrs() {
		if strings.HasPrefix(do(t, a, "SET {client:alice}:q x"), "-MOVED") {
			moved++
		}
	}
	if moved != 2 {
		t.Fatalf("%d of 3 nodes answered MOVED for one key, want 2", moved)
	}
}
