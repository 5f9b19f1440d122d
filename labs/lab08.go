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
	res.Add("TCP shows head-of-line blocking", positive(tcp["hol_blocking_ms"]), "hol_blocking_ms is zero: with loss and a delay, retransmissions hold back later messages; use --loss 5% --delay 10ms")
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
