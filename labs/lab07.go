package labs

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
)

func runManyServers(ctx context.Context, env *Env) error {
	redisPort, err := freePort()
	if err != nil {
		return err
	}
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("lab 7 needs redis-server: install it (apt-get install redis-server): %w", err)
	}
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", redisPort)
	return env.runAll(ctx, []command{
		{prog: redisBin, args: []string{"--port", fmt.Sprint(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", env.Dir},
			log: "redis.log", quiet: true, ready: "Ready to accept connections"},
		cmd("node1.log", "chat", "serve", "--addr", env.Addr("127.0.0.1:7077"), "--redis", url, "--node", "node1", "--verbose"),
		cmd("node2.log", "chat", "serve", "--addr", env.Addr("127.0.0.1:7078"), "--redis", url, "--node", "node2", "--verbose"),
	})
}

func checkManyServers(_ context.Context, env *Env) Result {
	b, err := readEvidence(env, "node2.jsonl", "run the listener of `lab show 7` on node 2 with its output redirected there")
	if err != nil {
		return Fail("node2.jsonl", err.Error())
	}
	var res Result
	got := false
	for _, m := range jsonLines(b) {
		if m["event"] == "hello" && jsonEqual(firstArg(m["args"]), "from node 1") {
			got = true
		}
	}
	res.Add("the event from node 1 reached node 2", got, "node2.jsonl has no `hello` \"from node 1\": listen on 127.0.0.1:7078 in room lobby, then emit through 127.0.0.1:7077 with --room lobby")
	// The event crossed nodes only if it went into node 1: an emit to
	// 127.0.0.1:7078 reaches the listener without Redis. Node 1's log
	// (lab run 7 starts it with --verbose) names every client session.
	n1, err := readEvidence(env, "node1.log", "start both nodes with `wiredojo lab run 7`")
	if err != nil {
		res.Add("a client on node 1", false, err.Error())
		return res
	}
	res.Add("a client on node 1", clientSession(string(n1)),
		fmt.Sprintf("node1.log shows no client session: the event did not go into node 1; emit through %s, not through node 2", env.Addr("127.0.0.1:7077")))
	return res
}

// clientSession reports whether a chat server's --verbose log shows a
// client session that connected.
func clientSession(log string) bool {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, ": session ") && strings.HasSuffix(strings.TrimSpace(line), " connected") {
			return true
		}
	}
	return false
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
