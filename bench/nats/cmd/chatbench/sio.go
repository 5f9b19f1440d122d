package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	natsbench "github.com/wiredojo/wiredojo/bench/nats"
)

// sioMain is `chatbench sio`: `wiredojo chat serve` (its /socket.io/) and
// node's socket.io, each a process of its own, both driven by the
// official socket.io-client on node (bench/node/client.js), alternating
// case by case.
func sioMain(args []string, out, errw io.Writer) error {
	fs := flag.NewFlagSet("sio", flag.ContinueOnError)
	fs.SetOutput(errw)
	var p natsbench.Programs
	fs.StringVar(&p.Wiredojo, "wiredojo", "bin/wiredojo", "wiredojo binary (runs `chat serve`)")
	fs.StringVar(&p.Node, "node", "node", "node binary")
	fs.StringVar(&p.NodeDir, "node-dir", "bench/node", "directory of server.js and client.js with socket.io and socket.io-client installed")
	ns := fs.String("n", "1,10,100", "subscriber counts")
	window := fs.String("window", "1000", "events in flight ahead of the slowest subscriber: one count, or one per -n (1000 events are 1000 deliveries in flight at N=1, 100,000 at N=100: a capped server that is fast waits for the window at N=1, a slow one falls seconds behind at N=100)")
	deliveries := fs.String("deliveries", "200000", "measured deliveries per case (events = deliveries / N): one count, or one per -n (a capped server that is fast needs more for a run of a few quota periods)")
	runs := fs.Int("runs", 3, "runs of each case (medians are reported)")
	workers := fs.Int("workers", 2, "node worker threads of the publisher's process holding the subscribers (with -procs 0)")
	procs := fs.Int("procs", 0, "node processes of their own holding the subscribers (0: -workers threads)")
	fs.StringVar(&p.ServerCPUs, "server-cpus", "", "pin each server to these CPUs (a `taskset -c` list, e.g. 0; empty: not pinned)")
	fs.StringVar(&p.ClientCPUs, "client-cpus", "", "pin the socket.io-client harness and its processes to these CPUs (e.g. 1; empty: not pinned)")
	fs.Float64Var(&p.ServerQuota, "server-quota", 0, "cap each server's CPU time at this fraction of one CPU with a cgroup (e.g. 0.1; root and cgroup v1 needed; 0: no cap)")
	idle := fs.Int("idle", 10_000, "idle connections for the RSS measurement (0: none)")
	timeout := fs.Duration("timeout", 120*time.Second, "bound of one case")
	systems := fs.String("systems", natsbench.Chat+","+natsbench.SocketIO, "systems, comma-separated (the goals need both; one alone: its table only, for quick loops)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	counts, err := intList(*ns)
	if err != nil {
		return fmt.Errorf("bad -n: %w", err)
	}
	perN, err := intList(*deliveries)
	if err != nil || len(perN) != 1 && len(perN) != len(counts) {
		return fmt.Errorf("bad -deliveries %q: one count, or one per -n", *deliveries)
	}
	perW, err := intList(*window)
	if err != nil || len(perW) != 1 && len(perW) != len(counts) {
		return fmt.Errorf("bad -window %q: one count, or one per -n", *window)
	}
	if *workers < 1 || *procs < 0 {
		return fmt.Errorf("bad -workers %d or -procs %d", *workers, *procs)
	}
	var syss []string
	for _, s := range strings.Split(*systems, ",") {
		if s != natsbench.Chat && s != natsbench.SocketIO || slices.Contains(syss, s) {
			return fmt.Errorf("bad -systems %q (want %s and/or %s)", *systems, natsbench.Chat, natsbench.SocketIO)
		}
		syss = append(syss, s)
	}
	where := natsbench.SocketIOClients{Holders: *workers}
	if *procs > 0 {
		where = natsbench.SocketIOClients{Holders: *procs, Procs: true}
	}
	b := &procBench{sio: where, progs: p, systems: syss, runs: *runs, timeout: *timeout, errw: errw}
	var rows []procRow
	for i, n := range counts {
		events := max(perN[min(i, len(perN)-1)]/n, 1)
		cfg := natsbench.FanoutConfig{Subscribers: n, Events: events, Warmup: max(events/10, 100), Window: perW[min(i, len(perW)-1)], Timeout: *timeout}
		row, err := b.cell(cfg)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	b.table(out, rows, false)
	if len(syss) < 2 {
		return nil // no ratio, no goal, no idle comparison
	}
	fmt.Fprintln(out)
	fmt.Fprint(out, "Goal (at least 10x socket.io's deliveries/s):")
	rate := func(x natsbench.FanoutResult) float64 { return x.Rate() }
	for i, r := range rows {
		x := ratio(medianF(r.res[natsbench.Chat], rate), medianF(r.res[natsbench.SocketIO], rate))
		verdict := "met"
		if x < 10 {
			verdict = "missed"
		}
		if p.ServerQuota > 0 {
			// The ratio compares the servers only while each uses its
			// whole quota; below that the clients bound deliveries/s.
			ours := medianF(r.res[natsbench.Chat], cpuShare)
			theirs := medianF(r.res[natsbench.SocketIO], cpuShare)
			verdict += fmt.Sprintf(" (servers' CPU %.3f / %.3f of %.2g, in periods of %v", ours, theirs, p.ServerQuota, natsbench.QuotaPeriod(p.ServerQuota))
			if ours < 0.8*p.ServerQuota {
				verdict += ": wiredojo's below its quota, the clients bound it, a low bound"
			}
			verdict += ")"
		}
		end := ";"
		if i == len(rows)-1 {
			end = "."
		}
		fmt.Fprintf(out, " N=%d %.2fx, %s%s", r.cfg.Subscribers, x, verdict, end)
	}
	fmt.Fprintln(out)
	if *idle > 0 {
		fmt.Fprintf(out, "\nIdle connections: RSS of the server process before and after %d connected, idle socket.io-client connections (WebSocket; after: %v after the last one, once settled; chat serve returns its spare heap memory once still for 1 s, --release-idle; peak: the most it held before that, VmHWM):\n\n", *idle, natsbench.StillWait)
		fmt.Fprintln(out, "| system | RSS before | peak RSS | RSS after | KiB per connection at the peak | KiB per connection |")
		fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|")
		per := map[string]float64{}
		for _, sys := range b.systems {
			m, err := b.idle(sys, *idle, false)
			if err != nil {
				return err
			}
			per[sys] = m.PerConn()
			fmt.Fprintf(errw, "sio: idle %s: %.1f KiB/conn\n", sys, m.PerConn()/1024)
			fmt.Fprintf(out, "| %s | %.1f MiB | %.1f MiB | %.1f MiB | %.1f | %.1f |\n", sys, float64(m.Before)/(1<<20), float64(m.Peak)/(1<<20), float64(m.After)/(1<<20), m.PeakPerConn()/1024, m.PerConn()/1024)
		}
		verdict := "met"
		if per[natsbench.Chat]*3 > per[natsbench.SocketIO] {
			verdict = "missed"
		}
		fmt.Fprintf(out, "\nGoal (at most a third of socket.io's memory per connection): %.2fx, %s.\n", ratio(per[natsbench.Chat], per[natsbench.SocketIO]), verdict)
	}
	return nil
}

// cpuShare is the share of one CPU a case's server used while it ran: its
// CPU time over the measured span.
func cpuShare(r natsbench.FanoutResult) float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return r.ServerCPU.Seconds() / r.Elapsed.Seconds()
}
