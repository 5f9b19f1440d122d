package labs

import (
	"context"
	"fmt"
)

func checkTCPvsUDP(_ context.Context, env *Env) Result {
	b, err := readEvidence(env, "compare.json", "run `wiredojo compare ... --json > "+env.Path("compare.json")+"` (see `lab show 8`)")
	if err != nil {
		return Fail("compare.json", err.Error())
	}
	m, ok := lastJSONObject(b)
	if !ok {
		return Fail("compare.json", "compare.json holds no JSON object: use `--json` and redirect only standard output")
	}
	var res Result
	tcp, okT := m["tcp"].(map[string]any)
	udp, okU := m["udp"].(map[string]any)
	res.Add("one result for TCP and one for UDP", okT && okU, "the object needs \"tcp\" and \"udp\" members, as `compare --json` prints them")
	if !okT || !okU {
		return res
	}
	sent, _ := number(tcp, "sent")
	recv, _ := number(tcp, "received")
	res.Add("TCP delivered every message", sent > 0 && recv == sent, fmt.Sprintf("TCP received %.0f of %.0f: was the run cut short?", recv, sent))
	lost, _ := number(udp, "lost")
	res.Add("UDP lost some messages", lost > 0, "UDP lost nothing: run the comparison with loss, e.g. --loss 5%")
	res.Add("TCP shows head-of-line blocking", positive(tcp["hol_blocking_ms"]),
		"hol_blocking_ms is zero: TCP's path was not impaired (--link none impairs only UDP: run compare as the lab says), or the run had no loss")
	if !res.Passed {
		return res
	}
	answers, err := readAnswers(env, "answers.txt", "write UDP's losses and the protocol with the higher p99 (step 3 of `lab show 8`)")
	if err != nil {
		res.Add("your answers", false, err.Error())
		return res
	}
	answerItem(&res, answers, "udp lost", "UDP's losses", []string{fmt.Sprintf("%.0f", lost)}, "it is `udp.lost` in compare.json")
	tp, _ := tcp["latency_ms"].(map[string]any)
	up, _ := udp["latency_ms"].(map[string]any)
	t99, _ := number(tp, "p99")
	u99, _ := number(up, "p99")
	higher := "tcp"
	if u99 > t99 {
		higher = "udp"
	}
	answerItem(&res, answers, "higher p99", "the protocol with the higher p99", []string{higher},
		"compare `tcp.latency_ms.p99` with `udp.latency_ms.p99` in compare.json, and answer tcp or udp")
	return res
}

// positive reports whether a JSON value is a positive number, or an object
// with a positive number in it (a latency summary).
func positive(v any) bool {
	switch x := v.(type) {
	case float64:
		return x > 0
	case map[string]any:
		for _, e := range x {
			if positive(e) {
				return true
			}
		}
	}
	return false
}
