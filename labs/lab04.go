package labs

import (
	"context"
	"fmt"
	"strings"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/framing/ws"
)

// rfcKey is the example key of RFC 6455 section 1.3.
const rfcKey = "dGhlIHNhbXBsZSBub25jZQ=="

func runWebSocket(ctx context.Context, env *Env) error {
	addr := env.Addr("127.0.0.1:7074")
	cmds := []command{cmd("", "chat", "serve", "--addr", addr, "--store", "memory")}
	if c, why := liveCapture(env, portOf(addr), "ws.pcap"); c != nil {
		cmds = append(cmds, *c)
	} else {
		fmt.Fprintln(env.Out, why)
	}
	return env.runAll(ctx, cmds)
}

func checkWebSocket(ctx context.Context, env *Env) Result {
	var res Result
	b, err := readEvidence(env, "accept.txt", "write the accept value you computed there (see `lab show 4`)")
	if err != nil {
		res.Add("Sec-WebSocket-Accept computed", false, err.Error())
	} else {
		got := strings.TrimSpace(string(b))
		res.Add("Sec-WebSocket-Accept computed", got == ws.AcceptKey(rfcKey),
			fmt.Sprintf("%q is not the accept value of %s: hash key+GUID with SHA-1 and base64 the raw 20 bytes, not the hex", got, rfcKey))
	}
	pkts, err := readCapture(ctx, env, "ws.pcap", "run `wiredojo lab run 4` (as root) and talk to the server while it runs")
	if err != nil {
		res.Add("the upgrade and a masked frame in ws.pcap", false, err.Error())
		return res
	}
	upgraded, masked := false, false
	for _, p := range pkts {
		for _, l := range p.Layers {
			switch {
			case l.Proto == capture.ProtoHTTP && l.Status == 101:
				upgraded = true
			case l.Proto == capture.ProtoWebSocket && l.Masked:
				masked = true
			}
		}
	}
	res.Add("101 Switching Protocols in ws.pcap", upgraded, "no HTTP 101 answer in the capture: connect with `wiredojo ws dial ws://127.0.0.1:7074/ws` while `lab run 4` runs")
	res.Add("a masked client frame in ws.pcap", masked, "no masked WebSocket frame: type a line in `ws dial` so the client sends a frame")
	return res
}
