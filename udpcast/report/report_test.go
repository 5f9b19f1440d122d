package report_test

import (
	"bytes"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/udpcast/compare"
	"github.com/wiredojo/wiredojo/udpcast/impair"
	"github.com/wiredojo/wiredojo/udpcast/report"
	"github.com/wiredojo/wiredojo/udpcast/stats"
)

func sample() compare.Result {
	n := 200
	tcp := make([]float64, n)
	udp := make([]float64, n)
	for i := range n {
		tcp[i] = 10 + float64(i%7)
		udp[i] = 10 + float64(i%5)
	}
	tcp[50] = 250 // blocked behind a retransmission
	udp[60] = math.NaN()
	hol := 1.2
	return compare.Result{
		Options: compare.Options{Count: n, Size: 512, Rate: 1000, Impair: impair.Config{Loss: 0.05, Delay: 10 * time.Millisecond, Seed: 1}},
		Link:    compare.LinkNone,
		Notice:  "UDP-only <impairment>",
		TCP: compare.Side{Summary: stats.Summary{Sent: 200, Received: 200, LatencyMS: stats.Latency{P50: 13, P90: 16, P99: 16, Max: 250}},
			DeliveredPct: 100, HOLBlockingMS: &hol, HOLBlocked: 1, HOLMaxMS: 237, LatencyByMsg: tcp},
		UDP: compare.Side{Summary: stats.Summary{Sent: 200, Received: 199, Lost: 1, LatencyMS: stats.Latency{P50: 12, P90: 14, P99: 14, Max: 14}},
			DeliveredPct: 99.5, LatencyByMsg: udp},
	}
}

func TestTerminal(t *testing.T) {
	var b bytes.Buffer
	report.Terminal(&b, sample(), report.TermOptions{Width: 80})
	out := b.String()
	for _, want := range []string{"TCP", "UDP", "delivered", "100.00% (200/200)", "99.50% (199/200)", "head-of-line blocking", "1.20 ms/msg", "latency distribution", "latency over the stream", "×", "note: UDP-only"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes without Color")
	}
	for _, line := range strings.Split(out, "\n") {
		if n := len([]rune(line)); n > 100 {
			t.Errorf("line of %d columns: %q", n, line)
		}
	}
}

func TestHTMLSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := report.HTML(&b, sample()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"<!DOCTYPE html>", "<svg", "polyline", "<rect", "TCP", "UDP", "UDP-only &lt;impairment&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// No external assets: nothing fetched by src/href/url()/@import, no
	// scripts. (The SVG namespace URI is a name, not a fetch.)
	bad := regexp.MustCompile(`(?i)<script|\bsrc=|\bhref=|url\(|@import|<link\b`)
	if m := bad.FindString(page); m != "" {
		t.Errorf("page refers to something external: %q", m)
	}
	if c := strings.Count(page, "<svg"); c != 2 {
		t.Errorf("%d SVG charts, want 2", c)
	}
}
