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
	b, err = readEvidence(env, "broadcast.json", "run the `udp recv ... | tee "+env.Path("broadcast.json")+"` of step 4 and broadcast to it (see `lab show 10`)")
	if err != nil {
		res.Add("datagrams received by broadcast", false, err.Error())
		return res
	}
	m, ok = lastJSONObject(b)
	recv, _ = number(m, "received")
	group, _ = m["group"].(string)
	switch {
	case !ok:
		res.Add("datagrams received by broadcast", false, "broadcast.json holds no JSON summary: run `udp recv` with --json and let it finish")
	case group != "":
		res.Add("datagrams received by broadcast", false, "broadcast.json is of a receiver that joined "+group+": a broadcast needs no group; start `udp recv` without --group (step 4)")
	default:
		res.Add("datagrams received by broadcast", recv > 0, "broadcast.json shows no datagram received: send with --broadcast to 127.255.255.255:9999 while the receiver runs")
	}
	return res
}
