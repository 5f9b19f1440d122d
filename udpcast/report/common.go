package report

import (
	"fmt"
	"math"

	"github.com/wiredojo/wiredojo/udpcast/compare"
	"github.com/wiredojo/wiredojo/udpcast/impair"
)

// row is one line of the side-by-side table.
type row struct {
	name     string
	tcp, udp string
}

func ms(v float64) string { return fmt.Sprintf("%.2f ms", v) }

func rows(res compare.Result) []row {
	t, u := res.TCP, res.UDP
	hol := "—"
	switch {
	case t.HOLBlockingMS == nil:
	case t.HOLBlocked == 0:
		hol = "0 waited"
	default:
		hol = fmt.Sprintf("%d waited, mean %.2f ms, max %.1f ms", t.HOLBlocked, *t.HOLBlockingMS, t.HOLMaxMS)
	}
	return []row{
		{"delivered", fmt.Sprintf("%.2f%% (%d/%d)", t.DeliveredPct, t.Received, t.Sent), fmt.Sprintf("%.2f%% (%d/%d)", u.DeliveredPct, u.Received, u.Sent)},
		{"lost", fmt.Sprint(t.Lost), fmt.Sprint(u.Lost)},
		{"duplicates", fmt.Sprint(t.Duplicates), fmt.Sprint(u.Duplicates)},
		{"reordered", fmt.Sprint(t.Reordered), fmt.Sprint(u.Reordered)},
		{"latency p50", ms(t.LatencyMS.P50), ms(u.LatencyMS.P50)},
		{"latency p90", ms(t.LatencyMS.P90), ms(u.LatencyMS.P90)},
		{"latency p99", ms(t.LatencyMS.P99), ms(u.LatencyMS.P99)},
		{"latency max", ms(t.LatencyMS.Max), ms(u.LatencyMS.Max)},
		{"jitter (RFC 3550)", ms(t.JitterMS), ms(u.JitterMS)},
		{"throughput", impair.FormatBits(t.ThroughputBPS), impair.FormatBits(u.ThroughputBPS)},
		{"head-of-line blocking", hol, "— (no ordering)"},
	}
}

// histogram bins both sides' latencies into n equal bins over [0, top].
func histogram(res compare.Result, n int) (edges []float64, tcp, udp []int) {
	top := 0.0
	for _, s := range []compare.Side{res.TCP, res.UDP} {
		top = max(top, s.LatencyMS.P99)
	}
	top, _ = niceScale(top * 1.05) // round bin edges
	edges = make([]float64, n+1)
	for i := range edges {
		edges[i] = top * float64(i) / float64(n)
	}
	bin := func(v []float64) []int {
		c := make([]int, n)
		for _, x := range v {
			if math.IsNaN(x) {
				continue
			}
			i := int(x / top * float64(n))
			c[min(max(i, 0), n-1)]++ // the last bin holds everything above
		}
		return c
	}
	return edges, bin(res.TCP.LatencyByMsg), bin(res.UDP.LatencyByMsg)
}

func settings(res compare.Result) string {
	o := res.Options
	where := "UDP impaired at the socket, TCP unimpaired on loopback"
	if res.Link == compare.LinkNetns {
		where = "both over a link between namespaces, impaired A->B (ACKs return clean)"
	}
	return fmt.Sprintf("%d messages of %d B at %.0f/s; impairment: %s\n%s", o.Count, o.Size, o.Rate, o.Impair.String(), where)
}
