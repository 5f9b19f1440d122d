package labs

import (
	"context"
	"fmt"
)

func runQueues(ctx context.Context, env *Env) error {
	return env.runAll(ctx, []command{cmd("", "chat", "serve", "--addr", env.Addr("127.0.0.1:7075"), "--store", "bolt:"+env.Path("queue.db"))})
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
	return res
}
