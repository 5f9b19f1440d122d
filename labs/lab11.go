package labs

import (
	"context"
	"fmt"
	"strconv"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/socketio/engineio"
)

// runSocketIO serves the chat with the Socket.IO test configuration: pings
// every 300 ms, and "/" acks "message-with-ack" with its arguments.
func runSocketIO(ctx context.Context, env *Env) error {
	return env.sandboxed().runAll(ctx, []command{cmd("", "chat", "serve", "--addr", env.Addr("127.0.0.1:7081"), "--store", "memory", "--socketio-test")})
}

// sioEvidence is what lab 11's capture shows.
type sioEvidence struct {
	sids, intervals     []string // of the OPEN packets in HTTP responses
	probe, probed, upgr bool     // 2probe, 3probe, 5
	ping, pong          bool     // a heartbeat each way
	binaryAcks          []string // ack ids of BINARY_EVENTs that want an answer
	attachments         []string // their attachment counts
	acked               map[string]bool
	binary              bool // an Engine.IO binary message
}

func readSocketIOEvidence(pkts []*capture.Packet) sioEvidence {
	ev := sioEvidence{acked: map[string]bool{}}
	for _, p := range pkts {
		inHTTP := p.Find(capture.ProtoHTTP) != nil
		for i := range p.Layers {
			l := &p.Layers[i]
			switch l.Proto {
			case capture.ProtoEngineIO:
				probe := string(l.Payload) == "probe"
				switch l.Kind {
				case "OPEN":
					if h, err := engineio.ParseHandshake(engineio.Packet{Type: engineio.Open, Data: l.Payload}); err == nil && inHTTP {
						ev.sids = append(ev.sids, h.SID)
						ev.intervals = append(ev.intervals, strconv.Itoa(h.PingInterval))
					}
				case "PING":
					ev.probe = ev.probe || probe
					ev.ping = ev.ping || !probe
				case "PONG":
					ev.probed = ev.probed || probe
					ev.pong = ev.pong || !probe
				case "UPGRADE":
					ev.upgr = true
				case "MESSAGE":
					ev.binary = ev.binary || l.Binary
				}
			case capture.ProtoSocketIO:
				id := strconv.FormatUint(l.Number, 10)
				switch {
				case l.Kind == "BINARY_EVENT" && l.Response:
					ev.binaryAcks = append(ev.binaryAcks, id)
					ev.attachments = append(ev.attachments, strconv.Itoa(l.Attachments))
				case (l.Kind == "ACK" || l.Kind == "BINARY_ACK") && l.Response:
					ev.acked[id] = true
				}
			}
		}
	}
	return ev
}

func checkSocketIO(ctx context.Context, env *Env) Result {
	pkts, err := readCapture(ctx, env, "sio.pcap", "capture port 7081 into it while `lab run 11` runs and your Socket.IO clients talk (see `lab show 11`)")
	if err != nil {
		return Fail("sio.pcap", err.Error())
	}
	ev := readSocketIOEvidence(pkts)
	var res Result
	res.Add("the polling handshake in sio.pcap", ev.sids != nil,
		"no Engine.IO OPEN in an HTTP response: start the capture before the Socket.IO clients (a socketio:// --addr polls first)")
	res.Add("the upgrade to WebSocket", ev.probe && ev.probed && ev.upgr,
		fmt.Sprintf("the upgrade is not all there (probe %v, its answer %v, UPGRADE %v): keep the capture running until the clients have ended", ev.probe, ev.probed, ev.upgr))
	res.Add("a ping and its pong", ev.ping && ev.pong,
		"no heartbeat in the capture: keep `chat listen` connected for a second (the lab's server pings every 300 ms) before you stop it")
	answered := false
	for _, id := range ev.binaryAcks {
		answered = answered || ev.acked[id]
	}
	res.Add("a binary event with an ack, and its ack", answered && ev.binary,
		"no BINARY_EVENT with an ack id answered in the capture: emit with --ack and a {\"$binary\":...} argument while the capture runs")
	if !res.Passed {
		return res
	}
	answers, err := readAnswers(env, "answers.txt", "write what you found there (step 5 of `lab show 11`)")
	if err != nil {
		res.Add("your answers", false, err.Error())
		return res
	}
	answerItem(&res, answers, "sid", "the session id", ev.sids, "it is the \"sid\" of an OPEN packet, in the answer to the first GET /socket.io/?EIO=4&transport=polling")
	answerItem(&res, answers, "ping interval", "the ping interval", ev.intervals, "it is the OPEN packet's \"pingInterval\", in milliseconds (a number only)")
	answerItem(&res, answers, "ack id", "the ack id of your binary event", ev.binaryAcks, "it is the number after the namespace part of the BINARY_EVENT (`ack N` in the viewer's line), the same as in the BINARY_ACK")
	answerItem(&res, answers, "attachments", "the attachments of your binary event", ev.attachments, "it is the number before the '-' of the BINARY_EVENT (51-...): one per binary argument")
	placeItem(&res, answers, capture.ProtoEngineIO)
	placeItem(&res, answers, capture.ProtoSocketIO)
	return res
}
