package labs

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

func runQueues(ctx context.Context, env *Env) error {
	return env.runAll(ctx, []command{cmd("server.log", "chat", "serve", "--addr", env.Addr("127.0.0.1:7075"), "--store", "bolt:"+env.Path("queue.db"), "--verbose")})
}

func checkQueues(_ context.Context, env *Env) Result {
	b, err := readEvidence(env, "back.jsonl", "reconnect with `chat listen --client-id learner --json` redirected there (see `lab show 5`)")
	if err != nil {
		return Fail("back.jsonl", err.Error())
	}
	kept := map[string]int{}
	plain := 0
	for _, m := range jsonLines(b) {
		switch m["event"] {
		case "kept":
			if m["redelivered"] == true {
				continue // a redelivery is marked, not counted twice
			}
			kept[fmt.Sprint(firstArg(m["args"]))]++
		case "plain":
			plain++
		}
	}
	var res Result
	ok := kept["1"] == 1 && kept["2"] == 1 && kept["3"] == 1 && len(kept) == 3
	res.Add("the three durable events came back once each", ok, fmt.Sprintf("back.jsonl has durable events %v (argument: times): emit `kept` with --durable while the listener is stopped, then reconnect with the same --client-id", kept))
	res.Add("no plain event came back", plain == 0, fmt.Sprintf("%d plain events came back: were they sent while the listener was connected? Stop it first", plain))
	// Durable events sent while the listener was connected come back too,
	// and no plain event comes back when none was sent: the server's log
	// says whether the six emits of step 3 came while learner was away.
	log, err := readEvidence(env, "server.log", "start the server with `wiredojo lab run 5`")
	if err != nil {
		res.Add("six emits while the listener was away", false, err.Error())
		return res
	}
	seen, away := emitsWhileAway(string(log), "learner")
	switch {
	case !seen:
		res.Add("six emits while the listener was away", false, "server.log shows no client learner: connect once with `chat listen --client-id learner` (step 2), stop it, then emit")
	default:
		res.Add("six emits while the listener was away", away >= 6, fmt.Sprintf("at most %d clients connected between a stop of the listener and its return: send the three plain and three durable events of step 3 after stopping it, then reconnect", away))
	}
	return res
}

var (
	sessionConnectedRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`: session (\S+) \(client (\S+)\) connected`) })
	sessionClosedRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`: session (\S+) closed`) })
)

// emitsWhileAway reads a chat server's --verbose log: whether client id
// ever connected, and the most sessions of other clients that connected
// between the end of one of its sessions and its next one.
func emitsWhileAway(log, id string) (seen bool, most int) {
	mine := map[string]bool{}
	away, n := false, 0
	for _, line := range strings.Split(log, "\n") {
		if m := sessionConnectedRE().FindStringSubmatch(line); m != nil {
			switch {
			case m[2] == id:
				if away {
					most = max(most, n)
				}
				seen, away = true, false
				mine[m[1]] = true
			case away:
				n++
			}
			continue
		}
		if m := sessionClosedRE().FindStringSubmatch(line); m != nil && mine[m[1]] {
			away, n = true, 0
		}
	}
	return seen, most
}
