package report_test

import (
	"bytes"
	"math"
	"regexp"
	"strconv"
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
	for _, want := range []string{"TCP", "UDP", "delivered", "100.00% (200/200)", "99.50% (199/200)", "head-of-line blocking", "1 waited, mean 1.20 ms, max 237.0 ms", "behind an earlier message still missing", "latency distribution", "█ TCP", "░ UDP", "latency over the stream", "×", "1 lost", "note: UDP-only"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes without Color")
	}
	for _, line := range strings.Split(out, "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line of %d columns: %q", n, line)
		}
	}
}

// TestTerminalChartsWithoutColour: without colour the two series differ by
// glyph, each bar shows its count, and a loss does not blank the UDP
// sparkline (it is marked on a row of its own).
func TestTerminalChartsWithoutColour(t *testing.T) {
	var b bytes.Buffer
	report.Terminal(&b, sample(), report.TermOptions{Width: 80})
	lines := strings.Split(b.String(), "\n")
	bars := 0
	for _, l := range lines {
		if strings.Contains(l, " ms │") && strings.Contains(l, "█") {
			f := strings.Fields(l)
			if _, err := strconv.Atoi(f[len(f)-1]); err != nil {
				t.Errorf("bar row without a count: %q", l)
			}
			bars++
		}
	}
	if bars == 0 {
		t.Error("no TCP bars drawn")
	}
	for i, l := range lines {
		if strings.HasPrefix(l, "UDP │") {
			if strings.Contains(l, "×") || strings.Contains(l, " ") && strings.TrimSpace(strings.TrimPrefix(l, "UDP │")) != strings.TrimPrefix(l, "UDP │") {
				t.Errorf("the UDP sparkline has a hole or a loss mark in it: %q", l)
			}
			if i+1 >= len(lines) || !strings.Contains(lines[i+1], "×") {
				t.Errorf("no loss row under the UDP sparkline")
			}
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

// TestHTMLRoundTicksAndNarrow: the y axes are labelled at round steps, and
// the page reads on a narrow screen: table cells wrap between words (they
// broke inside them, "throughpu t", with overflow-wrap: anywhere), and a
// chart keeps 640 px, its text about 11 px, in a box that scrolls sideways
// (scaled to a phone's 358 px its labels were 5 px). Screenshots at 390
// and 1280 px were checked by eye with headless Chromium.
func TestHTMLRoundTicksAndNarrow(t *testing.T) {
	var b bytes.Buffer
	if err := report.HTML(&b, sample()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"width: 100%; min-width: 640px; height: auto", ".wide { overflow-x: auto; }", "Head-of-line blocking: the time"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "overflow-wrap: anywhere") {
		t.Error("table cells break inside words (overflow-wrap: anywhere)")
	}
	if n := strings.Count(page, `<div class="wide"><table>`) + strings.Count(page, `<div class="wide"><svg`); n != 3 {
		t.Errorf("%d of the table and two charts in a sideways-scrolling box, want 3", n)
	}
	for _, svg := range strings.Split(page, "<svg")[1:] {
		var ys []float64
		for _, m := range regexp.MustCompile(`text-anchor="end">([0-9.]+)<`).FindAllStringSubmatch(svg, -1) {
			v, _ := strconv.ParseFloat(m[1], 64)
			ys = append(ys, v)
		}
		if len(ys) < 3 {
			t.Fatalf("y axis labels %v", ys)
		}
		step := ys[1] - ys[0]
		mant := step / math.Pow(10, math.Floor(math.Log10(step)))
		if math.Abs(mant-1) > 1e-9 && math.Abs(mant-2) > 1e-9 && math.Abs(mant-2.5) > 1e-9 && math.Abs(mant-5) > 1e-9 {
			t.Errorf("y ticks %v: step %v is not round", ys, step)
		}
		for i := 1; i < len(ys); i++ {
			if math.Abs(ys[i]-ys[i-1]-step) > 1e-9 {
				t.Errorf("y ticks %v are not evenly spaced", ys)
			}
		}
	}
}
