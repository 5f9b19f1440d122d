// Command chatbench runs the chat-versus-NATS benchmarks of package
// natsbench and prints their results as markdown.
//
//	chatbench fanout [-n 1,10,100] [-deliveries 1000000] [-window 256] [-runs 1] [-paced 0]
//	chatbench idle-nats [-n 10000]   (prints bytes per connection: total heap stacks)
//	chatbench proc -nats-server PATH [-wiredojo bin/wiredojo] [-node-dir bench/node] [-n 1,10,100] [-windows 100,1000] [-runs 3] [-paced 10000] [-idle 10000]
//
//	chatbench sio [-wiredojo bin/wiredojo] [-node-dir bench/node] [-n 1,10,100] [-window 1000] [-runs 3] [-workers 2] [-server-cpus 0 -client-cpus 1] [-idle 10000]
//
// proc runs every server as a process of its own (`wiredojo chat serve`,
// nats-server, node socket.io), the clients in chatbench, and measures the
// server process's CPU time per delivery and its RSS per idle connection.
// sio does the same for `wiredojo chat serve`'s /socket.io/ and node's
// socket.io, both driven by socket.io-client on node (bench/node/client.js).
//
// Progress goes to stderr, results to stdout.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	natsbench "github.com/wiredojo/wiredojo/bench/nats"
)

func main() {
	if spec := os.Getenv(natsbench.IdleClientsEnv); spec != "" {
		os.Exit(natsbench.IdleClientsMain(spec, os.Stdin, os.Stdout, os.Stderr))
	}
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "chatbench:", err)
		os.Exit(1)
	}
}

func run(args []string, out, errw io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: chatbench fanout|idle-nats|proc|sio [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(errw)
	switch args[0] {
	case "fanout":
		ns := fs.String("n", "1,10,100", "subscriber counts, comma-separated")
		deliveries := fs.Int("deliveries", 1_000_000, "measured deliveries per case (events = deliveries / N)")
		window := fs.Int("window", 256, "events in flight ahead of the slowest subscriber (0: no bound)")
		runs := fs.Int("runs", 1, "runs of each case; the median by events/s is reported")
		paced := fs.Float64("paced", 0, "pace the publisher at this many deliveries per second in all (events/s = paced / N); 0: as fast as the window allows")
		timeout := fs.Duration("timeout", 30*time.Second, "bound of one case")
		systems := fs.String("systems", natsbench.Chat+","+natsbench.NATS, "systems to run, comma-separated (a table needs both)")
		cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		var counts []int
		for _, f := range strings.Split(*ns, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return fmt.Errorf("bad -n %q", *ns)
			}
			counts = append(counts, n)
		}
		return fanout(out, errw, counts, strings.Split(*systems, ","), *deliveries, *window, *runs, *paced, *timeout)
	case "proc":
		return procMain(args[1:], out, errw)
	case "sio":
		return sioMain(args[1:], out, errw)
	case "idle-nats":
		n := fs.Int("n", 10000, "idle connections")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		m, err := natsbench.MeasureIdleNATS(exe, *n)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%.0f %.0f %.0f\n", m.Total(), m.Heap, m.Stacks) // bytes per connection: total, heap, stacks
		return nil
	}
	return fmt.Errorf("unknown command %q (want fanout, idle-nats or proc)", args[0])
}

func fanout(out, errw io.Writer, counts []int, systems []string, deliveries, window, runs int, paced float64, timeout time.Duration) error {
	// row is one N: the runs with the median rate of each system, and the
	// ratio of each pair of runs (ours then NATS, back to back).
	type row struct {
		ours, nats natsbench.FanoutResult
		ratios     []float64
	}
	var rows []row
	for _, n := range counts {
		events := deliveries / n
		cfg := natsbench.FanoutConfig{Subscribers: n, Events: events, Warmup: max(events/10, 100), Window: window, Rate: paced / float64(n), Timeout: timeout}
		var res [2][]natsbench.FanoutResult
		for r := 0; r < runs; r++ {
			for i, sys := range []string{natsbench.Chat, natsbench.NATS} { // alternate, same run
				if !slices.Contains(systems, sys) {
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				x, err := natsbench.RunFanout(ctx, sys, cfg)
				cancel()
				if err != nil {
					return err
				}
				fmt.Fprintf(errw, "fanout: N=%d %s: %.0f events/s p50 %v p99 %v lost %d\n", n, sys, x.Rate(), x.P50, x.P99, x.Lost)
				res[i] = append(res[i], x)
			}
		}
		if len(res[0]) == 0 || len(res[1]) == 0 {
			continue // one system only: the progress lines are the result
		}
		var ratios []float64
		for r := range res[0] {
			ratios = append(ratios, ratio(res[0][r].Rate(), res[1][r].Rate()))
		}
		slices.Sort(ratios)
		rows = append(rows, row{median(res[0]), median(res[1]), ratios})
	}
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(out, "| N | events/N | wiredojo events/s | NATS events/s | ratio | wiredojo p50 / p99 | NATS p50 / p99 | lost (ours / NATS) | cuts (ours / NATS) |")
	fmt.Fprintln(out, "|---:|---:|---:|---:|---:|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(out, "| %d | %d | %s | %s | %s | %s / %s | %s / %s | %s / %s | %s / %s |\n",
			r.ours.Subscribers, r.ours.Events, grouped(r.ours.Rate()), grouped(r.nats.Rate()), ratioCell(r.ratios),
			dur(r.ours.P50), dur(r.ours.P99), dur(r.nats.P50), dur(r.nats.P99),
			lost(r.ours), lost(r.nats), cuts(r.ours), cuts(r.nats))
	}
	if window == 0 || paced > 0 {
		return nil // the goal is judged on the flow-controlled, unpaced table
	}
	fmt.Fprintln(out)
	fmt.Fprint(out, "Goal (wiredojo delivered events/s at least NATS core's):")
	for i, r := range rows {
		verdict := "met"
		if medianOf(r.ratios) < 1 || r.ours.Lost > 0 {
			verdict = "missed"
		}
		sep := ";"
		if i == len(rows)-1 {
			sep = "."
		}
		fmt.Fprintf(out, " N=%d %.3fx, %s%s", r.ours.Subscribers, medianOf(r.ratios), verdict, sep)
	}
	fmt.Fprintln(out)
	return nil
}

// median returns the result with the median delivered rate.
func median(rs []natsbench.FanoutResult) natsbench.FanoutResult {
	s := append([]natsbench.FanoutResult(nil), rs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j].Rate() < s[i].Rate() {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[(len(s)-1)/2]
}

// medianOf returns the median of sorted values.
func medianOf(sorted []float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)/2]
}

// ratioCell prints the median ratio and, over several runs, their range.
func ratioCell(sorted []float64) string {
	s := fmt.Sprintf("%.2fx", medianOf(sorted))
	if len(sorted) > 1 {
		s += fmt.Sprintf(" (%.2f–%.2f)", sorted[0], sorted[len(sorted)-1])
	}
	return s
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func grouped(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0f µs", float64(d)/1e3)
	}
}

func lost(r natsbench.FanoutResult) string {
	s := strconv.FormatInt(r.Lost, 10)
	if r.Stalled {
		s += " (stalled)"
	}
	return s
}

func cuts(r natsbench.FanoutResult) string {
	s := strconv.FormatInt(r.SlowConsumers, 10)
	if r.ClientDrops > 0 {
		s += fmt.Sprintf(" + %d client drops", r.ClientDrops)
	}
	return s
}
