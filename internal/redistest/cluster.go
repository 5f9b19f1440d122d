package redistest

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testdep"
)

// Cluster is a Redis Cluster of master nodes (no replicas) on 127.0.0.1,
// each a Server in its own directory. It exists to prove that code which
// names its keys with hash tags runs on a cluster (no CROSSSLOT errors).
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts n (>= 3) cluster-enabled servers, joins them with
// `redis-cli --cluster create` and waits until every node reports
// cluster_state:ok. cfg chooses persistence as for Start.
func StartCluster(t testing.TB, n int, cfg Config) *Cluster {
	t.Helper()
	cli := testdep.Require(t, "redis-cli", "apt-get install redis-tools")
	if n < 3 {
		t.Fatalf("redistest: a Redis Cluster needs at least 3 masters, not %d", n)
	}
	cfg.cluster = true
	c := &Cluster{}
	args := []string{"--cluster", "create"}
	for range n {
		s := Start(t, cfg)
		c.Nodes = append(c.Nodes, s)
		args = append(args, s.Addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(startTimeout)
	for _, s := range c.Nodes {
		for {
			out, err := exec.Command(cli, "-p", strconv.Itoa(s.port), "cluster", "info").Output()
			if err == nil && strings.Contains(string(out), "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redistest: node %s never reached cluster_state:ok: %s", s.Addr(), out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

// Addrs returns every node's host:port (the seed list of a cluster client).
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		out[i] = s.Addr()
	}
	return out
}
