package labs

import (
	"context"
	"embed"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/wiredojo/wiredojo/capture"
)

// The captures of lab 9, copied from testdata/captures.
//
//go:embed captures/*.pcap
var captures embed.FS

// lab9Files maps each embedded capture to its name in the lab folder.
var lab9Files = map[string]string{"chat-tcp.pcap": "chat-tcp.pcap", "chat-ws.pcap": "chat-ws.pcap", "udp-dns-icmp.pcap": "udp.pcap"}

func runLayers(_ context.Context, env *Env) error {
	for src, dst := range lab9Files {
		b, err := captures.ReadFile("captures/" + src)
		if err != nil {
			return fmt.Errorf("lab 9: %w", err)
		}
		if err := os.WriteFile(env.Path(dst), b, 0o644); err != nil {
			return fmt.Errorf("lab 9: %w", err)
		}
		fmt.Fprintf(env.Out, "wrote %s\n", env.Path(dst))
	}
	return nil
}

// layerProtos are the protocols lab 9 asks the learner to place.
var layerProtos = []capture.Proto{capture.ProtoEthernet, capture.ProtoIPv4, capture.ProtoTCP, capture.ProtoUDP, capture.ProtoHTTP, capture.ProtoWebSocket}

// altOSI reads the other OSI numbers a placement's note names ("some texts
// place it at 5").
var altOSI = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\b(?:at|say|says) ([1-7])\b`) })

// osiNames are the OSI layers' names, so "network" counts as 3.
var osiNames = []string{"", "physical", "data link", "network", "transport", "session", "presentation", "application"}

func checkLayers(_ context.Context, env *Env) Result {
	answers, err := readAnswers(env, "answers.txt", "write one line per protocol: PROTOCOL: OSI-NUMBER TCPIP-LAYER (step 3 of `lab show 9`)")
	if err != nil {
		return Fail("answers.txt", err.Error())
	}
	var res Result
	for _, p := range layerProtos {
		placeItem(&res, answers, p)
	}
	return res
}

// placeItem checks the learner's line `PROTOCOL: OSI-NUMBER TCPIP-LAYER`
// for p against where the capture viewer places it (or an alternative its
// note names).
func placeItem(res *Result, answers map[string]string, p capture.Proto) {
	want := capture.Place(p)
	okOSI := []int{want.OSI}
	for _, m := range altOSI().FindAllStringSubmatch(want.Disputed, -1) {
		n, _ := strconv.Atoi(m[1])
		okOSI = append(okOSI, n)
	}
	name := fmt.Sprintf("%s placed", p)
	a, ok := answers[strings.ToLower(p.String())]
	if !ok {
		res.Add(name, false, fmt.Sprintf("no line for %s (or its <...> is not replaced): write `%s: OSI-NUMBER TCPIP-LAYER`, e.g. `Ethernet: 2 link`", p, p))
		return
	}
	f := strings.Fields(strings.ToLower(a))
	if len(f) < 2 {
		res.Add(name, false, fmt.Sprintf("%s: %q needs two parts, the OSI number and the TCP/IP layer, e.g. `Ethernet: 2 link`", p, a))
		return
	}
	osiText, layer := strings.Join(f[:len(f)-1], " "), f[len(f)-1]
	osi, err := strconv.Atoi(osiText)
	if err != nil {
		osi = slices.Index(osiNames, osiText)
	}
	goodOSI := slices.Contains(okOSI, osi)
	goodLayer := layer == want.TCPIP.String()
	var detail string
	switch {
	case !goodOSI && !goodLayer:
		detail = fmt.Sprintf("%s: both halves are off, OSI %s and TCP/IP %s: look at how `capture read -v` labels it", p, osiText, layer)
	case !goodOSI:
		detail = fmt.Sprintf("%s: the TCP/IP layer %s is right, but OSI %s is not: look at the L-number `capture read --model osi` gives it", p, layer, osiText)
	case !goodLayer:
		detail = fmt.Sprintf("%s: OSI %s is right, but the TCP/IP layer %s is not (the four are link, internet, transport, application)", p, osiText, layer)
	}
	res.Add(name, goodOSI && goodLayer, detail)
}
