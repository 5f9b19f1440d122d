package labs

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/framing/ws"
)

// rfcKey is the example key of RFC 6455 section 1.3.
const rfcKey = "dGhlIHNhbXBsZSBub25jZQ=="

func runWebSocket(ctx context.Context, env *Env) error {
	return env.sandboxed().runAll(ctx, []command{cmd("", "chat", "serve", "--addr", env.Addr("127.0.0.1:7074"), "--store", "memory")})
}

func checkWebSocket(ctx context.Context, env *Env) Result {
	var res Result
	b, err := readEvidence(env, "accept.txt", "write the accept value you computed there (step 1 of `lab show 4`)")
	if err != nil {
		res.Add("Sec-WebSocket-Accept computed", false, err.Error())
	} else {
		got := strings.TrimSpace(string(b))
		res.Add("Sec-WebSocket-Accept computed", got == ws.AcceptKey(rfcKey),
			fmt.Sprintf("%q is not the accept value of %s: hash key+GUID with SHA-1 and base64 the raw 20 bytes, not the hex", got, rfcKey))
	}
	pkts, err := readCapture(ctx, env, "ws.pcap", "capture port 7074 into it while `lab run 4` runs and you dial (see `lab show 4`)")
	if err != nil {
		res.Add("the upgrade and a masked frame in ws.pcap", false, err.Error())
		return res
	}
	upgraded := false
	var keys, codes []string
	for _, p := range pkts {
		for i := range p.Layers {
			l := &p.Layers[i]
			switch {
			case l.Proto == capture.ProtoHTTP && l.Status == 101:
				upgraded = true
			case l.Proto == capture.ProtoWebSocket && l.Masked:
				// The client's frames. Its close frame (ws dial closes
				// at the end of its input) has a key of its own: the
				// text asks for the key of the data frame it sent.
				if !ws.OpCode(l.Opcode).IsControl() {
					keys = append(keys, hex.EncodeToString(l.MaskKey[:]))
				}
			case l.Proto == capture.ProtoWebSocket && ws.OpCode(l.Opcode) == ws.OpClose && l.Status != 0:
				codes = append(codes, fmt.Sprint(l.Status)) // the viewer decoded the close code
			}
		}
	}
	res.Add("101 Switching Protocols in ws.pcap", upgraded, "no HTTP 101 answer in the capture: start the capture, then dial ws://127.0.0.1:7074/ws while `lab run 4` runs")
	res.Add("a masked client frame in ws.pcap", keys != nil, "no masked WebSocket frame: send a line through `ws dial` while the capture runs")
	if keys == nil {
		return res
	}
	answers, err := readAnswers(env, "answers.txt", "write the masking key and the close code there (step 5 of `lab show 4`)")
	if err != nil {
		res.Add("your answers", false, err.Error())
		return res
	}
	if k, ok := answers["masking key"]; ok {
		answers["masking key"] = strings.ToLower(strings.Join(strings.Fields(k), ""))
	}
	answerItem(&res, answers, "masking key", "the masking key of your frame", keys,
		"it is the 4 bytes after the frame's length byte (85 for 5 masked bytes), in a frame from the client's port to 7074")
	if codes == nil {
		res.Add("the close code", false, "ws.pcap has no close frame from the server: let `ws dial` run until the server closes")
		return res
	}
	answerItem(&res, answers, "close code", "the close code of the server", codes,
		"`ws dial` prints it as `closed: CODE`, and it is the first two bytes of the close frame's payload")
	return res
}
