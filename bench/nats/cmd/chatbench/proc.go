package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	natsbench "github.com/wiredojo/wiredojo/bench/nats"
)

// procSystems is the order in which the systems alternate.
var procSystems = []string{natsbench.Chat, natsbench.NATS, natsbench.SocketIO}

// procMain is `chatbench proc`: every server in a process of its own, the
// clients in this one, the systems alternating case by case.
func procMain(args []string, out, errw io.Writer) error {
	fs := flag.NewFlagSet("proc", flag.ContinueOnError)
	fs.SetOutput(errw)
	var p natsbench.Programs
	fs.StringVar(&p.Wiredojo, "wiredojo", "bin/wiredojo", "wiredojo binary (runs `chat serve`)")
	fs.StringVar(&p.NATSServer, "nats-server", "", "nats-server binary")
	fs.StringVar(&p.Node, "node", "node", "node binary")
	fs.StringVar(&p.NodeDir, "node-dir", "bench/node", "directory of server.js with socket.io installed")
	ns := fs.String("n", "1,10,100", "subscriber counts")
	windows := fs.String("windows", "100,1000", "windows (events in flight ahead of the slowest subscriber); none: no unpaced cases")
	deliveries := fs.Int("deliveries", 200_000, "measured deliveries per case (events = deliveries / N)")
	runs := fs.Int("runs", 3, "runs of each case (medians are reported)")
	paced := fs.Float64("paced", 10_000, "deliveries/s in all for the paced cases (0: none)")
	pacedFor := fs.Duration("paced-for", 3*time.Second, "length of a paced case")
	pacedRuns := fs.Int("paced-runs", 0, "runs of each paced case (0: as -runs); their deliveries are pooled for p50 and p99")
	idle := fs.Int("idle", 10_000, "idle connections for the RSS measurement (0: none)")
	idleWS := fs.Bool("idle-ws", false, "measure the wiredojo idle connections over WebSocket too")
	systems := fs.String("systems", strings.Join(procSystems, ","), "systems, comma-separated")
	timeout := fs.Duration("timeout", 60*time.Second, "bound of one case")
	slow := fs.Duration("slow", 0, "print, for each paced run, the episodes of deliveries slower than this (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	counts, err := intList(*ns)
	if err != nil {
		return fmt.Errorf("bad -n: %w", err)
	}
	var wins []int // "none": only the paced cases and the idle measurement
	if *windows != "none" {
		if wins, err = intList(*windows); err != nil {
			return fmt.Errorf("bad -windows: %w", err)
		}
	}
	var syss []string
	for _, s := range strings.Split(*systems, ",") {
		if !slices.Contains(procSystems, s) {
			return fmt.Errorf("unknown system %q (want some of %s)", s, strings.Join(procSystems, ","))
		}
		syss = append(syss, s)
	}
	if slices.Contains(syss, natsbench.NATS) && p.NATSServer == "" {
		return fmt.Errorf("-nats-server is required for %s", natsbench.NATS)
	}
	b := &procBench{progs: p, systems: syss, runs: *runs, slow: *slow, timeout: *timeout, errw: errw}

	fmt.Fprintf(out, "Systems: %s.\n\n", strings.Join(syss, ", "))
	// Fan-out with flow control.
	var cells []procRow
	for _, w := range wins {
		for _, n := range counts {
			events := max(*deliveries/n, 1)
			cfg := natsbench.FanoutConfig{Subscribers: n, Events: events, Warmup: max(events/10, 100), Window: w, Timeout: *timeout}
			row, err := b.cell(cfg)
			if err != nil {
				return err
			}
			cells = append(cells, row)
		}
	}
	if len(cells) > 0 {
		b.table(out, cells, false)
	}
	if *paced > 0 {
		if *pacedRuns > 0 {
			b.runs = *pacedRuns
		}
		var prow []procRow
		for _, n := range counts {
			rate := *paced / float64(n)
			events := max(int(rate*pacedFor.Seconds()), 10)
			keep := stallAbove // the runs line's; -slow's too, when lower
			if *slow > 0 {
				keep = min(keep, *slow)
			}
			cfg := natsbench.FanoutConfig{Subscribers: n, Events: events, Warmup: max(events/10, 10), Window: 1000, Rate: rate, Timeout: *timeout, SlowAbove: keep}
			row, err := b.cell(cfg)
			if err != nil {
				return err
			}
			prow = append(prow, row)
		}
		fmt.Fprintf(out, "\nPaced at %.0f deliveries/s in all (%.1f s per case, window 1000, %d runs; every cell the median of the runs):\n\n", *paced, pacedFor.Seconds(), b.runs)
		b.table(out, prow, true)
		b.runsLine(out, prow)
	}
	if *idle > 0 {
		fmt.Fprintf(out, "\nIdle connections: RSS of the server process before and after %d handshaken idle connections (after: %v after the last one, once settled; chat serve returns its spare heap memory once still for 1 s, --release-idle; peak: the most it held before that, VmHWM):\n\n", *idle, natsbench.StillWait)
		fmt.Fprintln(out, "| system | RSS before | peak RSS | RSS after | KiB per connection at the peak | KiB per connection |")
		fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|")
		for _, sys := range syss {
			for _, overWS := range []bool{false, true} {
				if overWS && (sys != natsbench.Chat || !*idleWS) {
					continue
				}
				name := sys
				if overWS {
					name += " (WebSocket)"
				}
				m, err := b.idle(sys, *idle, overWS)
				if err != nil {
					return err
				}
				fmt.Fprintf(errw, "proc: idle %s: %.1f KiB/conn\n", name, m.PerConn()/1024)
				fmt.Fprintf(out, "| %s | %.1f MiB | %.1f MiB | %.1f MiB | %.2f | %.2f |\n", name, float64(m.Before)/(1<<20), float64(m.Peak)/(1<<20), float64(m.After)/(1<<20), m.PeakPerConn()/1024, m.PerConn()/1024)
			}
		}
	}
	return nil
}

type procBench struct {
	// sio, when its Holders is positive, makes the clients
	// socket.io-client on node (bench/node/client.js): `chatbench sio`.
	sio     natsbench.SocketIOClients
	progs   natsbench.Programs
	systems []string
	runs    int
	slow    time.Duration // -slow: print the paced runs' stalls
	timeout time.Duration
	errw    io.Writer
}

// procRow is one case: each system's runs.
type procRow struct {
	cfg natsbench.FanoutConfig
	res map[string][]natsbench.FanoutResult
}

// cell runs one case runs times, the systems alternating within each run,
// each on a fresh server process. The order turns by one system from run
// to run, so that no system always follows the same one (whose ending
// server, and the garbage its clients left here, the next case meets).
func (b *procBench) cell(cfg natsbench.FanoutConfig) (procRow, error) {
	row := procRow{cfg: cfg, res: map[string][]natsbench.FanoutResult{}}
	for r := 0; r < b.runs; r++ {
		for i := range b.systems {
			sys := b.systems[(i+r)%len(b.systems)]
			x, err := b.one(sys, cfg)
			if err != nil {
				return row, err
			}
			clients := "" // measured for the socket.io-client harness only
			if b.sio.Holders > 0 {
				clients = fmt.Sprintf(" (clients %.2f)", us(clientCPUPerDelivery(x)))
			}
			fmt.Fprintf(b.errw, "proc: N=%d W=%d rate=%.0f %s: %.0f deliveries/s, %.2f µs CPU/delivery%s, %.2f syscalls/event (%d reads, %d writes), %.2f thread switches/event (%.2f preempted), waited for a CPU %v (server) %v (clients), steal %v, p50 %v p99 %v lost %d (%d subscribers cut)\n",
				cfg.Subscribers, cfg.Window, cfg.Rate, sys, x.Rate(), us(x.CPUPerDelivery()), clients, syscallsPerEvent(x), x.ServerReads, x.ServerWrites, perEvent(x, x.ServerSwitches), perEvent(x, x.ServerPreempted), x.ServerRunqWait.Round(time.Millisecond), x.ClientRunqWait.Round(time.Millisecond), x.Steal, x.P50, x.P99, x.Lost, x.Disconnected)
			row.res[sys] = append(row.res[sys], x)
			if b.slow > 0 && cfg.Rate > 0 {
				printSlow(b.errw, x, b.slow)
			}
		}
	}
	return row, nil
}

func (b *procBench) one(sys string, cfg natsbench.FanoutConfig) (natsbench.FanoutResult, error) {
	// The clients' garbage of the case before is collected now, not in
	// this one's measurement.
	runtime.GC()
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout+20*time.Second)
	defer cancel()
	srv, err := natsbench.StartServer(ctx, sys, b.progs)
	if err != nil {
		return natsbench.FanoutResult{}, err
	}
	defer srv.Stop()
	if b.sio.Holders > 0 {
		return natsbench.RunSocketIOClientFanout(ctx, srv, b.progs, cfg, b.sio)
	}
	return natsbench.RunFanoutProc(ctx, srv, cfg)
}

func (b *procBench) idle(sys string, n int, overWS bool) (natsbench.IdleRSS, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv, err := natsbench.StartServer(ctx, sys, b.progs)
	if err != nil {
		return natsbench.IdleRSS{}, err
	}
	defer srv.Stop()
	if b.sio.Holders > 0 {
		return natsbench.MeasureIdleRSSSocketIOClient(ctx, srv, b.progs, n)
	}
	return natsbench.MeasureIdleRSS(ctx, srv, n, overWS)
}

// clientCPUPerDelivery is the clients' CPU time per delivery (zero where
// it is not measured).
func clientCPUPerDelivery(x natsbench.FanoutResult) time.Duration {
	if x.Delivered <= 0 {
		return 0
	}
	return x.ClientCPU / time.Duration(x.Delivered)
}

// table prints one row per case: medians over the runs of deliveries/s,
// server CPU per delivery and latency, and wiredojo's ratios.
func (b *procBench) table(out io.Writer, rows []procRow, paced bool) {
	hdr := "| N | W |"
	sep := "|---:|---:|"
	for _, s := range b.systems {
		hdr += " " + s + " deliveries/s |"
		sep += "---:|"
	}
	for _, s := range b.systems[1:] {
		hdr += " " + b.systems[0] + " / " + s + " |"
		sep += "---:|"
	}
	hdr += " CPU µs/delivery (" + strings.Join(b.systems, " / ") + ") |"
	if b.sio.Holders > 0 {
		hdr += " client CPU µs/delivery (" + strings.Join(b.systems, " / ") + ") |"
		sep += "---|"
	}
	hdr += " read+write syscalls/event (" + strings.Join(b.systems, " / ") + ") | p50 (" + strings.Join(b.systems, " / ") + ") | p99 (" + strings.Join(b.systems, " / ") + ") | lost |"
	sep += "---|---|---|---|---|"
	fmt.Fprintln(out, hdr)
	fmt.Fprintln(out, sep)
	for _, r := range rows {
		line := fmt.Sprintf("| %d | %d |", r.cfg.Subscribers, r.cfg.Window)
		var rates []float64
		for _, s := range b.systems {
			v := medianF(r.res[s], func(x natsbench.FanoutResult) float64 { return x.Rate() })
			rates = append(rates, v)
			line += " " + grouped(v) + " |"
		}
		for i := range b.systems[1:] {
			line += fmt.Sprintf(" %.2fx |", ratio(rates[0], rates[i+1]))
		}
		var cpu, ccpu, sys, p50, p99, lost []string
		for _, s := range b.systems {
			cpu = append(cpu, fmt.Sprintf("%.2f", medianF(r.res[s], func(x natsbench.FanoutResult) float64 { return us(x.CPUPerDelivery()) })))
			ccpu = append(ccpu, fmt.Sprintf("%.2f", medianF(r.res[s], func(x natsbench.FanoutResult) float64 { return us(clientCPUPerDelivery(x)) })))
			sys = append(sys, fmt.Sprintf("%.2f", medianF(r.res[s], syscallsPerEvent)))
			p50 = append(p50, dur(time.Duration(medianF(r.res[s], func(x natsbench.FanoutResult) float64 { return float64(x.P50) }))))
			p99 = append(p99, dur(time.Duration(medianF(r.res[s], func(x natsbench.FanoutResult) float64 { return float64(x.P99) }))))
			var l, cut int64
			for _, x := range r.res[s] {
				l += x.Lost
				cut += x.Disconnected
			}
			ls := strconv.FormatInt(l, 10)
			if cut > 0 {
				ls += fmt.Sprintf(" (%d subscribers cut)", cut)
			}
			lost = append(lost, ls)
		}
		line += " " + strings.Join(cpu, " / ") + " |"
		if b.sio.Holders > 0 {
			line += " " + strings.Join(ccpu, " / ") + " |"
		}
		line += " " + strings.Join(sys, " / ") + " | " + strings.Join(p50, " / ") + " | " + strings.Join(p99, " / ") + " | " + strings.Join(lost, " / ") + " |"
		fmt.Fprintln(out, line)
	}
	if !slices.Contains(b.systems, natsbench.Chat) || !slices.Contains(b.systems, natsbench.NATS) {
		return
	}
	// The goals: deliveries/s at least NATS's and CPU per delivery at most
	// NATS's (unpaced); p99 no worse than NATS's (paced).
	fmt.Fprintln(out)
	if paced {
		fmt.Fprint(out, "Goal (p99 at most NATS's):")
	} else {
		fmt.Fprint(out, "Goal (deliveries/s at least NATS's, CPU per delivery at most NATS's):")
	}
	for i, r := range rows {
		ours, nats := r.res[natsbench.Chat], r.res[natsbench.NATS]
		verdict := "met"
		if paced {
			p99 := func(x natsbench.FanoutResult) float64 { return float64(x.P99) }
			if medianF(ours, p99) > medianF(nats, p99) {
				verdict = "missed"
			}
		} else {
			rate := func(x natsbench.FanoutResult) float64 { return x.Rate() }
			cpu := func(x natsbench.FanoutResult) float64 { return float64(x.CPUPerDelivery()) }
			if medianF(ours, rate) < medianF(nats, rate) || medianF(ours, cpu) > medianF(nats, cpu) {
				verdict = "missed"
			}
		}
		end := ";"
		if i == len(rows)-1 {
			end = "."
		}
		fmt.Fprintf(out, " N=%d W=%d %s%s", r.cfg.Subscribers, r.cfg.Window, verdict, end)
	}
	fmt.Fprintln(out)
}

// stallAbove is the latency above which the paced runs' deliveries are
// kept, to tell one stall from a tail (runsLine).
const stallAbove = time.Millisecond

// runsLine prints the p99 of every paced run, in the order they ran, with
// how much of the run's tail was one stall (of its deliveries slower than
// stallAbove, the share in its largest episode: events sent at most 10 ms
// apart), how long the server's and the clients' threads waited for a
// CPU in it and how long the host took the CPUs away (steal); then the p99 of all of a system's runs' deliveries pooled
// (where its clients kept every latency). A run whose p99 comes from one
// stall shows a high share; one whose threads waited long was slowed by
// the machine.
func (b *procBench) runsLine(out io.Writer, rows []procRow) {
	fmt.Fprintf(out, "\nEach run's p99, and in brackets the share of its deliveries slower than %d ms that came in its largest stall (events sent at most 10 ms apart) and the time the server's threads / the clients' threads spent runnable but waiting for a CPU during the run (/proc/PID/task/*/schedstat) / the host took the machine's CPUs away (steal, /proc/stat): what the machine added:", stallAbove.Milliseconds())
	for i, r := range rows {
		fmt.Fprintf(out, " N=%d", r.cfg.Subscribers)
		for j, sys := range b.systems {
			sep := ","
			if j == 0 {
				sep = ""
			}
			fmt.Fprintf(out, "%s %s", sep, sys)
			for k, x := range r.res[sys] {
				sep := ""
				if k > 0 {
					sep = ","
				}
				fmt.Fprintf(out, "%s %s (", sep, dur(x.P99))
				slow := slowerThan(x.Slow, stallAbove)
				if n := len(slow); n > 0 {
					largest := 0
					for _, e := range natsbench.SlowEpisodes(slow, 10*time.Millisecond) {
						largest = max(largest, e.Deliveries)
					}
					fmt.Fprintf(out, "%d%% of %d; ", largest*100/n, n)
				}
				fmt.Fprintf(out, "%d / %d / %d ms)", x.ServerRunqWait.Milliseconds(), x.ClientRunqWait.Milliseconds(), x.Steal.Milliseconds())
			}
		}
		var pooled []string
		for _, sys := range b.systems {
			if d, ok := natsbench.PooledQuantile(r.res[sys], 0.99); ok {
				pooled = append(pooled, dur(d))
			}
		}
		if len(pooled) == len(b.systems) {
			fmt.Fprintf(out, "; p99 of all runs' deliveries pooled %s", strings.Join(pooled, " / "))
		}
		end := ";"
		if i == len(rows)-1 {
			end = "."
		}
		fmt.Fprint(out, end)
	}
	fmt.Fprintln(out)
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }

// syscallsPerEvent is the server's read and write system calls per event
// published (each event is N deliveries).
func syscallsPerEvent(x natsbench.FanoutResult) float64 {
	if x.Delivered == 0 {
		return 0
	}
	events := float64(x.Delivered) / float64(x.Subscribers)
	return float64(x.ServerReads+x.ServerWrites) / events
}

// perEvent returns n per event published.
func perEvent(x natsbench.FanoutResult, n int64) float64 {
	if x.Delivered == 0 {
		return 0
	}
	return float64(n) / (float64(x.Delivered) / float64(x.Subscribers))
}

// medianF returns the median of f over rs.
func medianF(rs []natsbench.FanoutResult, f func(natsbench.FanoutResult) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, x := range rs {
		v[i] = f(x)
	}
	slices.Sort(v)
	return v[(len(v)-1)/2]
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// printSlow prints the episodes of one run's deliveries slower than above
// (events sent at most 10 ms apart make one), the longest first.
func printSlow(w io.Writer, x natsbench.FanoutResult, above time.Duration) {
	slow := slowerThan(x.Slow, above)
	eps := natsbench.SlowEpisodes(slow, 10*time.Millisecond)
	slices.SortFunc(eps, func(a, b natsbench.SlowEpisode) int { return b.Deliveries - a.Deliveries })
	fmt.Fprintf(w, "proc:   %s: %d deliveries slower than %v in %d episodes", x.System, len(slow), above, len(eps))
	for i, e := range eps {
		if i == 8 {
			fmt.Fprint(w, " ...")
			break
		}
		fmt.Fprintf(w, "; %s +%v %d max %v", e.First.UTC().Format("15:04:05.000"), e.Last.Sub(e.First).Round(100*time.Microsecond), e.Deliveries, e.Max.Round(10*time.Microsecond))
	}
	fmt.Fprintln(w)
}

// slowerThan returns the deliveries of slow (as FanoutResult.Slow) slower
// than d.
func slowerThan(slow []natsbench.SlowDelivery, d time.Duration) []natsbench.SlowDelivery {
	var out []natsbench.SlowDelivery
	for _, x := range slow {
		if x.Latency > d {
			out = append(out, x)
		}
	}
	return out
}
