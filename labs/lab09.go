package labs

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/wiredojo/wiredojo/capture"
)

// layerProtos are the protocols lab 9 asks the learner to place.
var layerProtos = []capture.Proto{capture.ProtoEthernet, capture.ProtoIPv4, capture.ProtoTCP, capture.ProtoUDP, capture.ProtoHTTP, capture.ProtoWebSocket}

func checkLayers(_ context.Context, env *Env) Result {
	b, err := readEvidence(env, "layers.txt", "write one line per protocol: PROTOCOL OSI-NUMBER TCPIP-LAYER (see `lab show 9`)")
	if err != nil {
		return Fail("layers.txt", err.Error())
	}
	answers := map[string][2]string{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 {
			answers[strings.ToLower(f[0])] = [2]string{f[1], strings.ToLower(f[2])}
		}
	}
	var res Result
	for _, p := range layerProtos {
		want := capture.Place(p)
		a, ok := answers[strings.ToLower(p.String())]
		name := fmt.Sprintf("%s placed", p)
		switch {
		case !ok:
			res.Add(name, false, fmt.Sprintf("no line for %s (write e.g. `%s N layer`)", p, p))
		default:
			osi, _ := strconv.Atoi(a[0])
			right := osi == want.OSI && a[1] == want.TCPIP.String()
			detail := fmt.Sprintf("%s is not at OSI %s / %s: look at how `capture read -v` labels it", p, a[0], a[1])
			res.Add(name, right, detail)
		}
	}
	return res
}
