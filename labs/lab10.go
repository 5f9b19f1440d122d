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
	if d, ok := destinationsOf(m); !ok {
		res.Add("datagrams addressed to the group", false, "multicast.json does not say where its datagrams were addressed (no \"destinations\"): make it again with `udp recv --json` of this wiredojo (steps 1 and 2)")
	} else {
		res.Add("datagrams addressed to the group", d.group > 0 && d.group == d.total(),
			"of the datagrams received, "+d.String(group)+": a receiver on 0.0.0.0:9999 hears every datagram to its port, not only the group's; send to the group itself, `udp send --group "+group+" --port 9999` (step 2)")
	}
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
	case recv == 0:
		res.Add("datagrams received by broadcast", false, "broadcast.json shows no datagram received: send with --broadcast to 127.255.255.255:9999 while the receiver runs")
	default:
		d, ok := destinationsOf(m)
		switch {
		case !ok:
			res.Add("datagrams received by broadcast", false, "broadcast.json does not say where its datagrams were addressed (no \"destinations\"): make it again with `udp recv --json` of this wiredojo (step 4)")
		default:
			res.Add("datagrams received by broadcast", d.broadcast > 0 && d.broadcast == d.total(),
				"of the datagrams in broadcast.json, "+d.String("")+": a broadcast goes to the broadcast address, `udp send --broadcast --to 127.255.255.255:9999` (step 4), not to an address of the host")
		}
	}
	return res
}

// destinations is udp recv's count of the datagrams received by where they
// were addressed.
type destinations struct{ unicast, broadcast, group, otherGroup, unknown float64 }

// destinationsOf reads "destinations" of a udp recv summary.
func destinationsOf(m map[string]any) (destinations, bool) {
	v, ok := m["destinations"].(map[string]any)
	if !ok {
		return destinations{}, false
	}
	var d destinations
	for key, p := range map[string]*float64{"unicast": &d.unicast, "broadcast": &d.broadcast, "group": &d.group, "other_group": &d.otherGroup, "unknown": &d.unknown} {
		n, ok := number(v, key)
		if !ok {
			return destinations{}, false
		}
		*p = n
	}
	return d, true
}

func (d destinations) total() float64 {
	return d.unicast + d.broadcast + d.group + d.otherGroup + d.unknown
}

// String says the counts in words, naming the receiver's group if any.
func (d destinations) String(group string) string {
	g := "to a group"
	if group != "" {
		g = "to the group " + group
	}
	s := fmt.Sprintf("%.0f were sent to an address of the host (unicast), %.0f to a broadcast address, %.0f %s", d.unicast, d.broadcast, d.group, g)
	if d.otherGroup > 0 {
		s += fmt.Sprintf(", %.0f to another group", d.otherGroup)
	}
	if d.unknown > 0 {
		s += fmt.Sprintf(", %.0f to an address the kernel did not tell", d.unknown)
	}
	return s
}
