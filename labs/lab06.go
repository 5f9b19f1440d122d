package labs

import (
	"context"
	"strings"
)

func runRooms(ctx context.Context, env *Env) error {
	return env.runAll(ctx, []command{cmd("server.log", "chat", "serve", "--addr", env.Addr("127.0.0.1:7076"), "--store", "memory", "--verbose")})
}

func checkRooms(_ context.Context, env *Env) Result {
	var res Result
	b, err := readEvidence(env, "blue.jsonl", "run the blue listener of `lab show 6` with its output redirected there")
	if err != nil {
		res.Add("the blue listener got the paint event", false, err.Error())
	} else {
		res.Add("the blue listener got the paint event", hasPaint(b), "blue.jsonl has no `paint` event in /chat: start the listener, then emit with --room blue")
	}
	// The red listener is the proof that the emit went to blue only: an
	// emit without --room reaches every socket of /chat, blue's too.
	red, err := readEvidence(env, "red.jsonl", "run the red listener of `lab show 6` with its output redirected there")
	if err != nil {
		res.Add("the red listener did not get it", false, err.Error())
	} else {
		res.Add("the red listener did not get it", !hasPaint(red), "red.jsonl has the `paint` event too: it went to the whole namespace; emit with --room blue")
	}
	log, err := readEvidence(env, "server.log", "start the server with `wiredojo lab run 6`")
	if err != nil {
		res.Add("room lifecycle in the server log", false, err.Error())
		return res
	}
	for _, kind := range []string{"create-room", "join-room", "leave-room", "delete-room"} {
		seen := false
		for _, line := range strings.Split(string(log), "\n") {
			if strings.Contains(line, kind) && strings.Contains(line, "blue") {
				seen = true
				break
			}
		}
		detail := "the log has no " + kind + " for room blue"
		if kind == "leave-room" || kind == "delete-room" {
			detail += ": stop the blue listener (Ctrl-C) so it leaves the room"
		}
		res.Add(kind+" of room blue", seen, detail)
	}
	return res
}

// hasPaint reports whether a listener's --json output has the paint event
// of /chat.
func hasPaint(b []byte) bool {
	for _, m := range jsonLines(b) {
		if m["event"] == "paint" && m["ns"] == "/chat" {
			return true
		}
	}
	return false
}
