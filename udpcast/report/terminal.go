package report

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/wiredojo/wiredojo/udpcast/compare"
)

// TermOptions controls terminal output.
type TermOptions struct {
	Color bool // ANSI colours
	Width int  // columns available (default 80)
}

const (
	ansiTCP   = "\x1b[36m"
	ansiUDP   = "\x1b[33m"
	ansiLost  = "\x1b[31m"
	ansiDim   = "\x1b[2m"
	ansiBold  = "\x1b[1m"
	ansiReset = "\x1b[0m"
)

func paint(on bool, code, s string) string {
	if !on {
		return s
	}
	return code + s + ansiReset
}

// Terminal writes the side-by-side table and the charts.
func Terminal(w io.Writer, res compare.Result, o TermOptions) {
	if o.Width <= 0 {
		o.Width = 80
	}
	c := o.Color
	for _, line := range strings.Split(settings(res), "\n") {
		fmt.Fprintln(w, paint(c, ansiDim, line))
	}
	if res.Congestion != "" {
		fmt.Fprintln(w, paint(c, ansiDim, "TCP congestion control: "+res.Congestion))
	}
	if res.Notice != "" {
		fmt.Fprintln(w, paint(c, ansiLost, "note: "+res.Notice))
	}
	fmt.Fprintln(w)
	rs := rows(res)
	wn, wt := 0, 3
	for _, r := range rs {
		wn = max(wn, len(r.name))
		wt = max(wt, len(r.tcp))
	}
	fmt.Fprintf(w, "%-*s  %s  %s\n", wn, "", paint(c, ansiBold+ansiTCP, fmt.Sprintf("%-*s", wt, "TCP")), paint(c, ansiBold+ansiUDP, "UDP"))
	for _, r := range rs {
		fmt.Fprintf(w, "%-*s  %-*s  %s\n", wn, r.name, wt, r.tcp, r.udp)
	}
	fmt.Fprintln(w, paint(c, ansiDim, wrap(compare.HOLDefinition+".", o.Width)))
	fmt.Fprintln(w)
	latencyChart(w, res, o)
	fmt.Fprintln(w)
	timeline(w, res, o)
}

// latencyChart draws the latency distribution: one row per bin, a TCP bar
// and a UDP bar.
func latencyChart(w io.Writer, res compare.Result, o TermOptions) {
	c := o.Color
	const bins = 10
	edges, tcp, udp := histogram(res, bins)
	most := 1
	for i := range tcp {
		most = max(most, tcp[i], udp[i])
	}
	label := func(i int) string {
		if i == bins-1 {
			return fmt.Sprintf("≥%6.1f ms", edges[i])
		}
		return fmt.Sprintf("%7.1f ms", edges[i])
	}
	barW := max((o.Width-38)/2, 8)
	fmt.Fprintln(w, "latency distribution (messages per bin; "+paint(c, ansiTCP, "█ TCP")+" "+paint(c, ansiUDP, "░ UDP")+")")
	for i := range tcp {
		tb := strings.Repeat("█", int(math.Ceil(float64(tcp[i])*float64(barW)/float64(most))))
		ub := strings.Repeat("░", int(math.Ceil(float64(udp[i])*float64(barW)/float64(most))))
		fmt.Fprintf(w, "%s │%s %6d │%s %6d\n", label(i), paint(c, ansiTCP, fmt.Sprintf("%-*s", barW, tb)), tcp[i],
			paint(c, ansiUDP, fmt.Sprintf("%-*s", barW, ub)), udp[i])
	}
}

// timeline draws latency over the message stream as sparklines: one
// column per group of messages, the height its worst latency; × marks a
// group where a message was lost.
func timeline(w io.Writer, res compare.Result, o TermOptions) {
	c := o.Color
	cols := min(o.Width-8, 72)
	top := max(res.TCP.LatencyMS.Max, res.UDP.LatencyMS.Max, 1e-9)
	levels := []rune(" ▁▂▃▄▅▆▇█")
	// line returns the sparkline of the delivered messages and a row with
	// × under each column that lost one, so losses never hide latencies.
	line := func(s compare.Side) (string, string, int) {
		n := len(s.LatencyByMsg)
		if n == 0 {
			return "", "", 0
		}
		cols := min(cols, n)
		var b, l strings.Builder
		losses := 0
		for col := range cols {
			lo, hi := col*n/cols, (col+1)*n/cols
			worst, lost, got := 0.0, false, false
			for _, v := range s.LatencyByMsg[lo:hi] {
				if math.IsNaN(v) {
					lost = true
					losses++
					continue
				}
				worst, got = max(worst, v), true
			}
			switch {
			case got:
				b.WriteRune(levels[max(min(int(math.Ceil(worst/top*8)), 8), 1)])
			default:
				b.WriteRune(' ')
			}
			if lost {
				l.WriteRune('×')
			} else {
				l.WriteRune(' ')
			}
		}
		return b.String(), strings.TrimRight(l.String(), " "), losses
	}
	fmt.Fprintf(w, "latency over the stream (worst per column, top = %.1f ms)\n", top)
	fmt.Fprintln(w, "× below a column: a message lost there")
	for _, sd := range []struct {
		name, code string
		side       compare.Side
	}{{"TCP", ansiTCP, res.TCP}, {"UDP", ansiUDP, res.UDP}} {
		spark, lost, n := line(sd.side)
		fmt.Fprintf(w, "%s │%s\n", paint(c, sd.code, sd.name), paint(c, sd.code, spark))
		if n > 0 {
			fmt.Fprintf(w, "    │%s  %s\n", paint(c, ansiLost, lost), paint(c, ansiDim, fmt.Sprintf("%d lost", n)))
		}
	}
}

// wrap breaks s into lines of at most width columns at spaces.
func wrap(s string, width int) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(s) {
		if i > 0 && n+1+len([]rune(word)) > width {
			b.WriteByte('\n')
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len([]rune(word))
	}
	return b.String()
}
