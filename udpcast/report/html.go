package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/wiredojo/wiredojo/udpcast/compare"
)

const (
	colTCP  = "#1f77b4"
	colUDP  = "#ff7f0e"
	colLost = "#d62728"
)

// page is parsed on first use: a process that writes no report (every
// wiredojo command but compare --report) does not pay for it at start.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>wiredojo compare: TCP vs UDP</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 960px; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; }
h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: .3em .5em; border-bottom: 1px solid #ddd; text-align: left; }
th.tcp { color: ` + colTCP + `; } th.udp { color: ` + colUDP + `; }
.note { background: #fff3cd; padding: .5em 1em; border-left: 4px solid #e0a800; }
.dim { color: #666; font-size: .9em; }
.wide { overflow-x: auto; }
svg { background: #fafafa; border: 1px solid #eee; width: 100%; min-width: 640px; height: auto; }
svg text { font-size: 15px; fill: #444; }
</style>
</head>
<body>
<h1>TCP vs UDP through the same impairment</h1>
<p class="dim">{{.Settings}}<br>{{.When}}{{if .Congestion}} · TCP congestion control: {{.Congestion}}{{end}}</p>
{{if .Notice}}<p class="note">{{.Notice}}</p>{{end}}
<div class="wide"><table>
<tr><th></th><th class="tcp">TCP</th><th class="udp">UDP</th></tr>
{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.TCP}}</td><td>{{.UDP}}</td></tr>
{{end}}</table></div>
<p class="dim">{{.HOL}}</p>
<h2>Latency over the message stream</h2>
<p class="dim">Each message's one-way latency by sequence number. Red ticks below the axis: UDP messages that never arrived. TCP's spikes are messages waiting in order behind a retransmission (head-of-line blocking).</p>
<div class="wide">{{.Timeline}}</div>
<h2>Latency distribution</h2>
<p class="dim">Messages per latency bin (the last bin holds everything above it).</p>
<div class="wide">{{.Histogram}}</div>
<p class="dim">Written by wiredojo compare. This page is self-contained: no scripts, fonts or styles are loaded from anywhere.</p>
</body>
</html>
`))
})

type htmlRow struct{ Name, TCP, UDP string }

// HTML writes a self-contained HTML page with the table and SVG charts.
func HTML(w io.Writer, res compare.Result) error {
	var rs []htmlRow
	for _, r := range rows(res) {
		rs = append(rs, htmlRow{r.name, r.tcp, r.udp})
	}
	when := res.Started
	if when.IsZero() {
		when = time.Now()
	}
	return page().Execute(w, map[string]any{
		"Settings":   strings.ReplaceAll(settings(res), "\n", " · "),
		"When":       when.UTC().Format(time.RFC1123),
		"Congestion": res.Congestion,
		"Notice":     res.Notice,
		"HOL":        strings.ToUpper(compare.HOLDefinition[:1]) + compare.HOLDefinition[1:] + ".",
		"Rows":       rs,
		"Timeline":   template.HTML(timelineSVG(res)),
		"Histogram":  template.HTML(histogramSVG(res)),
	})
}

const (
	svgW, svgH   = 900, 320
	padL, padR   = 60, 20
	padT, padB   = 20, 50
	plotW, plotH = svgW - padL - padR, svgH - padT - padB
)

// niceScale returns a round top at or above v and the step between its
// ticks (1, 2 or 5 times a power of ten), for about four ticks.
func niceScale(v float64) (top, step float64) {
	if !(v > 0) {
		v = 1
	}
	raw := v / 4
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if step = m * p; step >= raw {
			break
		}
	}
	return math.Ceil(v/step-1e-9) * step, step
}

// axes draws both axes: y from 0 to yMax (a niceScale top) in steps of
// yStep, x ticks at the given fractions of the width.
func axes(b *strings.Builder, xLabel, yLabel string, yMax, yStep float64, xTicks []tick) {
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, padL, padT+plotH, padL+plotW, padT+plotH)
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, padL, padT, padL, padT+plotH)
	for v := 0.0; v <= yMax+yStep/2; v += yStep {
		y := float64(padT+plotH) - float64(plotH)*v/yMax
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>`, padL+1, y, padL+plotW, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, y+4, trimFloat(v))
	}
	for _, t := range xTicks {
		x := float64(padL) + float64(plotW)*t.at
		anchor := "middle"
		if t.at > 0.97 {
			anchor = "end" // the last label stays inside the chart
		}
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#888"/>`, x, padT+plotH, x, padT+plotH+4)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="%s">%s</text>`, x, padT+plotH+18, anchor, template.HTMLEscapeString(t.label))
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, padL+plotW/2, svgH-8, template.HTMLEscapeString(xLabel))
	fmt.Fprintf(b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>`, padT+plotH/2, padT+plotH/2, template.HTMLEscapeString(yLabel))
}

// tick is an x-axis label at a fraction of the plot's width.
type tick struct {
	at    float64
	label string
}

// roundTicks labels 0..max at round steps, placed by scale (the value at
// the plot's right edge).
func roundTicks(maxV, scale float64, unit string) []tick {
	_, step := niceScale(maxV)
	var ts []tick
	for v := 0.0; v <= maxV+step*1e-9; v += step {
		ts = append(ts, tick{v / scale, trimFloat(v) + unit})
	}
	return ts
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

func legend(b *strings.Builder) {
	fmt.Fprintf(b, `<rect x="%d" y="6" width="12" height="12" fill="%s"/><text x="%d" y="17">TCP</text>`, svgW-150, colTCP, svgW-134)
	fmt.Fprintf(b, `<rect x="%d" y="6" width="12" height="12" fill="%s"/><text x="%d" y="17">UDP</text>`, svgW-85, colUDP, svgW-69)
}

func timelineSVG(res compare.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="latency by message">`, svgW, svgH, svgW, svgH)
	n := max(len(res.TCP.LatencyByMsg), len(res.UDP.LatencyByMsg), 1)
	yMax, yStep := niceScale(max(res.TCP.LatencyMS.Max, res.UDP.LatencyMS.Max))
	axes(&b, "message number", "latency (ms)", yMax, yStep, roundTicks(float64(n-1), float64(max(n-1, 1)), ""))
	x := func(i int) float64 { return padL + float64(plotW)*float64(i)/float64(max(n-1, 1)) }
	y := func(v float64) float64 { return padT + float64(plotH)*(1-v/yMax) }
	line := func(s compare.Side, col string) {
		var pts strings.Builder
		flush := func() {
			if pts.Len() > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1" points="%s"/>`, col, pts.String())
				pts.Reset()
			}
		}
		for i, v := range s.LatencyByMsg {
			if math.IsNaN(v) {
				flush()
				continue
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(i), y(v))
		}
		flush()
	}
	line(res.TCP, colTCP)
	line(res.UDP, colUDP)
	for i, v := range res.UDP.LatencyByMsg {
		if math.IsNaN(v) {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`, x(i), padT+plotH+2, x(i), padT+plotH+8, colLost)
		}
	}
	legend(&b)
	b.WriteString(`</svg>`)
	return b.String()
}

func histogramSVG(res compare.Result) string {
	const bins = 20
	edges, tcp, udp := histogram(res, bins)
	most := 1
	for i := range tcp {
		most = max(most, tcp[i], udp[i])
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="latency distribution">`, svgW, svgH, svgW, svgH)
	yMax, yStep := niceScale(float64(most))
	axes(&b, "latency (ms)", "messages", yMax, yStep, roundTicks(edges[bins], edges[bins], " ms"))
	bw := float64(plotW) / bins
	for i := range tcp {
		for k, c := range []struct {
			n   int
			col string
		}{{tcp[i], colTCP}, {udp[i], colUDP}} {
			h := float64(plotH) * float64(c.n) / yMax
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d</title></rect>`,
				padL+bw*float64(i)+bw*float64(k)/2+1, float64(padT+plotH)-h, bw/2-2, h, c.col, []string{"TCP", "UDP"}[k], c.n)
		}
	}
	legend(&b)
	b.WriteString(`</svg>`)
	return b.String()
}
