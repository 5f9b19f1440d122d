package labs

import (
	"context"
	"fmt"
)

func checkMulticast(_ context.Context, env *Env) Result {
	b, err := readEvidence(env, "multicast.json", "run `wiredojo udp recv ... --group 239.1.2.3 --json | tee "+env.Path("multicast.json")+"` (see `lab show 10`)")
	if err != nil {
		return Fail("multicast.json", err.Error())
	}
	m, ok := lastJSONObject(b)
	if !ok {
		return Fail("multicast.json", "multicast.json holds no JSON summary: run `udp recv` with --json and let it finish (--until-end, or Ctrl-C)")
	}
	var res Result
	recv, ok := number(m, "received")
	res.Add("the receiver's summary", ok, "the JSON has no \"received\" field: is it the output of `udp recv --json`?")
	if !ok {
		return res
	}
	group, _ := m["group"].(string)
	res.Add("a receiver that joined a group", group != "", "the summary names no group: the receiver did not join one; start `udp recv` with --group 239.1.2.3 (see `lab show 10`)")
	if group == "" {
		return res
	}
	res.Add("datagrams received from the group", recv > 0, fmt.Sprintf("received %.0f datagrams: start the receiver with --group before sending to the group", recv))
	if !res.Passed {
		return res
	}
	lost, _ := number(m, "lost")
	answers, err := readAnswers(env, "answers.txt", "write the received and lost counts there (step 3 of `lab show 10`)")
	if err != nil {
		res.Add("your answers", false, err.Error())
		return res
	}
	answerItem(&res, answers, "received", "the datagrams received", []string{fmt.Sprintf("%.0f", recv)}, "it is `received` in multicast.json")
	answerItem(&res, answers, "lost", "the datagrams lost", []string{fmt.Sprintf("%.0f", lost)}, "it is `lost` in multicast.json")
	return res
}
