package labs

import (
	"context"
	"strings"
)

func checkEvents(_ context.Context, env *Env) Result {
	var res Result
	b, err := readEvidence(env, "listen.jsonl", "run the `chat listen ... --json` of `lab show 3` with its output redirected there")
	if err != nil {
		res.Add("the listener saw the news event", false, err.Error())
	} else {
		found, other := false, ""
		for _, m := range jsonLines(b) {
			if m["event"] != "news" {
				if ev, ok := m["event"].(string); ok {
					other = ev
				}
				continue
			}
			if firstArg(m["args"]) != nil && jsonEqual(firstArg(m["args"]), map[string]any{"text": "hello"}) {
				found = true
			}
		}
		detail := "listen.jsonl has no `news` event with {\"text\":\"hello\"}: start the listener first, then emit"
		if other != "" {
			detail += " (it has a `" + other + "` event: check the event name)"
		}
		res.Add("the listener saw the news event", found, detail)
	}
	ack, err := readEvidence(env, "ack.txt", "run the `chat emit ... --ack` of `lab show 3` with its output redirected there")
	if err != nil {
		res.Add("the echo was acknowledged", false, err.Error())
	} else {
		res.Add("the echo was acknowledged", strings.Contains(string(ack), "ping"), "ack.txt does not hold the reply \"ping\": emit the event `echo` with --ack and the argument '\"ping\"'")
	}
	return res
}

// firstArg returns the first of an event's arguments (args is a JSON array),
// or args itself when it is not an array.
func firstArg(args any) any {
	if a, ok := args.([]any); ok {
		if len(a) == 0 {
			return nil
		}
		return a[0]
	}
	return args
}
func runEvents(ctx context.Context, env *Env) error {
	return env.runAll(ctx, []command{cmd("", "chat", "serve", "--addr", env.Addr("127.0.0.1:7073"), "--store", "memory")})
}
