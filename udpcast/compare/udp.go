package compare

import (
	"context"
	"time"

	"github.com/wiredojo/wiredojo/udpcast/stats"
	"github.com/wiredojo/wiredojo/udpcast/udpio"
)

// runUDP sends Count datagrams from side A to side B (impaired at the
// socket when atSocket) and measures each on arrival.
func runUDP(ctx context.Context, o Options, p path, atSocket bool) (Side, error) {
	rc, err := p.listenUDP()
	if err != nil {
		return Side{}, err
	}
	sc, err := p.senderUDP()
	if err != nil {
		rc.Close()
		return Side{}, err
	}
	defer sc.Close()
	runID := udpio.NewRunID()
	lat := newLatencies(o.Count)
	r, err := udpio.Listen(udpio.RecvOptions{
		Conn: rc, RunID: runID, UntilEnd: true,
		Linger: o.Impair.Delay + o.Impair.Jitter + 300*time.Millisecond,
		OnDatagram: func(a udpio.Arrival) {
			if a.Outcome != stats.Duplicate && a.Header.Seq < uint64(o.Count) {
				lat[a.Header.Seq] = float64(a.ArrivalNS-a.Header.SentNS) / 1e6
			}
		},
	})
	if err != nil {
		return Side{}, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan udpio.Result, 1)
	go func() {
		res, _ := r.Run(rctx)
		done <- res
	}()
	so := udpio.SendOptions{Conn: sc, To: rc.LocalAddr().String(), Count: uint64(o.Count), Size: o.Size, Rate: o.Rate, RunID: runID}
	if atSocket {
		so.Impair = o.Impair
	}
	if o.Progress != nil {
		so.Progress = func(sent uint64) { o.Progress("udp", int(sent), o.Count) }
	}
	if _, err := udpio.Send(ctx, so); err != nil {
		cancel()
		<-done
		return Side{}, err
	}
	var res udpio.Result
	select {
	case res = <-done:
	case <-time.After(o.Timeout):
		cancel()
		res = <-done
	}
	sentAt := make([]float64, o.Count)
	interval := 1000 / o.Rate
	for i := range sentAt {
		sentAt[i] = float64(i) * interval
	}
	s := Side{LatencyByMsg: lat, SentAtMS: sentAt}
	if len(res.Senders) > 0 {
		finish(&s, res.Senders[0].Stream, o.Count)
	} else {
		finish(&s, new(stats.Stream), o.Count)
	}
	return s, nil
}
