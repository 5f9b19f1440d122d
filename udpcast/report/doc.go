// Package report renders a udpcast/compare Result for people: a
// side-by-side table and a terminal chart (latency distribution and a
// latency timeline), and a self-contained HTML page with SVG charts and no
// external assets (no scripts, fonts or styles fetched from anywhere).
//
// It measures nothing and does no I/O beyond writing to the io.Writer it is
// given.
//
// Example:
//
//	report.Terminal(os.Stdout, res, report.TermOptions{Color: true, Width: 80})
//	err := report.HTML(f, res)
package report
