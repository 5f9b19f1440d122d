package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/udpcast/impair"
	"github.com/wiredojo/wiredojo/udpcast/stats"
	"github.com/wiredojo/wiredojo/udpcast/udpio"
)

func init() { register(udpCommand) }

func udpCommand() *cli.Command {
	return &cli.Command{
		Name:  "udp",
		Usage: "send and receive lossy UDP (unicast, broadcast, multicast) and measure delivery",
		Subcommands: []*cli.Command{
			udpSendCommand(),
			udpRecvCommand(),
		},
	}
}

// impairFlags are the impairment flags shared by `udp send`, `compare` and
// `link up`: one name per concept, so the link's rate is --link-rate
// everywhere (--rate paces the sender in udp send and compare). rateAliases
// are other names accepted for it (link up also takes --rate, its old name).
func impairFlags(rateAliases ...string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "loss", Usage: "drop datagrams with this probability (`P`: 5% or 0.05)", Category: "Impairment"},
		&cli.StringFlag{Name: "burst", Usage: "bursty loss, Gilbert-Elliott: a mean burst length in packets (with --loss), or `p,r,1-h,1-k` as netem's gemodel", Category: "Impairment"},
		&cli.StringFlag{Name: "dup", Usage: "duplicate datagrams with this probability (`P`)", Category: "Impairment"},
		&cli.StringFlag{Name: "reorder", Usage: "send datagrams ahead of the delay with this probability (`P`)", Category: "Impairment"},
		&cli.DurationFlag{Name: "delay", Usage: "one-way delay (`D`, e.g. 10ms)", Category: "Impairment"},
		&cli.DurationFlag{Name: "jitter", Usage: "delay varies uniformly by ± this (`J`)", Category: "Impairment"},
		&cli.StringFlag{Name: "link-rate", Aliases: rateAliases, Usage: "link rate limit (`R`: 10mbit, 500kbit)", Category: "Impairment"},
		&cli.IntFlag{Name: "limit", Usage: "packets the impaired link holds at once (`N`, default 1000)", Category: "Impairment"},
		&cli.Uint64Flag{Name: "seed", Usage: "seed of the impairment's random decisions (`S`; the same seed drops the same wiredojo-udp datagrams, by sequence number)", Value: 1, Category: "Impairment"},
	}
}

// impairConfig reads the impairment flags; mistakes are usage errors.
func impairConfig(c *cli.Context) (impair.Config, error) {
	const rateName = "link-rate"
	var cfg impair.Config
	prob := func(name string, dst *float64) error {
		if !c.IsSet(name) {
			return nil
		}
		v, err := impair.ParseProb(c.String(name))
		if err != nil {
			return usagef("--%s: %v", name, err)
		}
		*dst = v
		return nil
	}
	if err := prob("loss", &cfg.Loss); err != nil {
		return cfg, err
	}
	if err := prob("dup", &cfg.Duplicate); err != nil {
		return cfg, err
	}
	if err := prob("reorder", &cfg.Reorder); err != nil {
		return cfg, err
	}
	if c.IsSet("burst") {
		g, err := impair.ParseBurst(c.String("burst"), cfg.Loss)
		if err != nil {
			return cfg, usagef("--burst: %v", err)
		}
		cfg.Burst = g
	}
	cfg.Delay, cfg.Jitter = c.Duration("delay"), c.Duration("jitter")
	if c.IsSet(rateName) {
		r, err := impair.ParseRate(c.String(rateName))
		if err != nil {
			return cfg, usagef("--%s: %v", rateName, err)
		}
		cfg.Rate = r
	}
	cfg.Limit = c.Int("limit")
	cfg.Seed = c.Uint64("seed")
	if err := cfg.Validate(); err != nil {
		return cfg, usagef("%v", err)
	}
	return cfg, nil
}

// parseSendRate reads --rate: datagrams per second ("1000", "1000pps") or a
// bit rate ("10mbit"), which becomes datagrams per second for size bytes.
func parseSendRate(s string, size int) (float64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	if t == "" || t == "0" {
		return 0, nil
	}
	if v, err := strconv.ParseFloat(strings.TrimSuffix(t, "pps"), 64); err == nil {
		if v < 0 {
			return 0, fmt.Errorf("rate %q is negative", s)
		}
		return v, nil
	}
	bps, err := impair.ParseRate(s)
	if err != nil {
		return 0, fmt.Errorf("rate %q: write datagrams per second (1000 or 1000pps) or a bit rate (10mbit)", s)
	}
	return bps / float64(size*8), nil
}

func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// runIDFlag is --run-id of udp send and udp recv: one name and one
// format, the 16 hex digits udp send prints (run ...) and writes in its
// JSON (run_id).
func runIDFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "run-id", Usage: "run `ID`, in hex as udp send prints it: " + usage}
}

// runID reads --run-id; 0 when it is not given.
func runID(c *cli.Context) (uint64, error) {
	if !c.IsSet("run-id") {
		return 0, nil
	}
	s := c.String("run-id")
	id, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 64)
	if err != nil || id == 0 {
		return 0, usagef("--run-id %q: give the run id in hex as udp send prints it, e.g. 3f2a9c01d4e5b687 (not 0)", s)
	}
	return id, nil
}

func udpSendCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "to", Usage: "destination `HOST:PORT` (unicast, a subnet broadcast with --broadcast, or a multicast group)"},
		&cli.BoolFlag{Name: "broadcast", Usage: "allow broadcast (SO_BROADCAST); without --to, send to 255.255.255.255"},
		&cli.StringFlag{Name: "group", Usage: "send to this IPv4 multicast `GROUP` (with --port)"},
		&cli.IntFlag{Name: "port", Value: 9999, Usage: "destination port for --broadcast and --group"},
		&cli.StringFlag{Name: "iface", Usage: "`IFACE` for multicast (default: the routing table's choice)"},
		&cli.IntFlag{Name: "ttl", Value: 1, Usage: "multicast TTL (1 = this subnet only)"},
		&cli.BoolFlag{Name: "no-loopback", Usage: "do not deliver our multicast to receivers on this host"},
		&cli.Uint64Flag{Name: "count", Usage: "datagrams to send (default 1000 unless --duration)"},
		&cli.DurationFlag{Name: "duration", Usage: "send for this long"},
		&cli.IntFlag{Name: "size", Value: 512, Usage: fmt.Sprintf("bytes per datagram, header included (%d to %d)", 32, udpio.MaxDatagram)},
		&cli.StringFlag{Name: "rate", Usage: "pace: datagrams per second (`PPS`: 1000) or a bit rate (10mbit); default as fast as possible"},
		&cli.BoolFlag{Name: "no-batch", Usage: "one system call per datagram instead of sendmmsg batches"},
		&cli.BoolFlag{Name: "no-gso", Usage: "no UDP segmentation offload (by default unimpaired unicast hands the kernel up to 64 datagrams per buffer)"},
		runIDFlag("stamp on every datagram (default random)"),
		&cli.BoolFlag{Name: "json", Usage: "print the result as one JSON object"},
	}
	return &cli.Command{
		Name:  "send",
		Usage: "send numbered, timestamped datagrams through an optional impairment",
		Description: "Sends wiredojo-udp datagrams (docs/PROTOCOL.md) paced smoothly, after the\n" +
			"seeded impairment pipeline (loss, duplicate, reorder, delay+jitter, rate,\n" +
			"queue limit, in netem's order), and prints a counter per stage.",
		Flags: append(flags, impairFlags()...),
		Action: func(c *cli.Context) error {
			o := udpio.SendOptions{
				Broadcast:           c.Bool("broadcast"),
				Interface:           c.String("iface"),
				TTL:                 c.Int("ttl"),
				NoMulticastLoopback: c.Bool("no-loopback"),
				Count:               c.Uint64("count"),
				Duration:            c.Duration("duration"),
				Size:                c.Int("size"),
				NoBatch:             c.Bool("no-batch"),
				NoGSO:               c.Bool("no-gso"),
			}
			var err error
			if o.RunID, err = runID(c); err != nil {
				return err
			}
			port := strconv.Itoa(c.Int("port"))
			switch {
			case c.IsSet("to") && c.IsSet("group"):
				return usagef("give --to or --group, not both")
			case c.IsSet("to"):
				o.To = c.String("to")
			case c.IsSet("group"):
				o.To = c.String("group") + ":" + port
			case o.Broadcast:
				o.To = "255.255.255.255:" + port
			default:
				return usagef("no destination: give --to HOST:PORT, --broadcast or --group G")
			}
			if o.Size < 32 || o.Size > udpio.MaxDatagram {
				return usagef("--size %d: a datagram holds 32 (the header) to %d bytes", o.Size, udpio.MaxDatagram)
			}
			if c.IsSet("duration") && o.Duration <= 0 {
				return usagef("--duration %v: give a time above 0, e.g. 10s", o.Duration)
			}
			if t := c.Int("ttl"); t < 1 || t > 255 {
				return usagef("--ttl %d: a TTL is 1 to 255 (1 = this subnet only)", t)
			}
			if o.Count == 0 && o.Duration == 0 {
				o.Count = 1000
			}
			if o.Rate, err = parseSendRate(c.String("rate"), o.Size); err != nil {
				return usagef("--rate: %v", err)
			}
			if o.Impair, err = impairConfig(c); err != nil {
				return err
			}
			errw := c.App.ErrWriter
			var bar *progressbar.ProgressBar
			if isTTY(errw) && !c.Bool("json") && longSend(o) {
				bar = newSendBar(errw, o)
				start := time.Now()
				o.Progress = func(sent uint64) {
					if o.Count > 0 {
						_ = bar.Set64(int64(sent))
					} else {
						_ = bar.Set64(min(time.Since(start), o.Duration).Milliseconds())
					}
				}
			}
			res, err := udpio.Send(c.Context, o)
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprintln(errw)
			}
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printSendJSON(c.App.Writer, res, o)
			}
			printSend(c.App.Writer, res, o)
			return nil
		},
	}
}

// longSend reports whether a send takes long enough to deserve a progress
// bar (about two seconds or more).
func longSend(o udpio.SendOptions) bool {
	if o.Duration >= 2*time.Second {
		return true
	}
	return o.Count > 0 && o.Rate > 0 && float64(o.Count)/o.Rate >= 2
}

func newSendBar(w io.Writer, o udpio.SendOptions) *progressbar.ProgressBar {
	max, desc := int64(o.Count), "sending"
	if o.Count == 0 {
		max, desc = o.Duration.Milliseconds(), "sending (ms)"
	}
	return progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionEnableColorCodes(false),
	)
}

func printSend(w io.Writer, r udpio.SendResult, o udpio.SendOptions) {
	mark := styleOK.Sprint("✓")
	if r.Errors > 0 || r.PortUnreachable {
		mark = styleWarn.Sprint("!")
	}
	fmt.Fprintf(w, "%s sent %d datagrams of %d B to %s in %v (run %s)\n",
		mark, r.Sent, o.Size, styleName.Sprint(r.To), r.Elapsed.Round(time.Millisecond), styleName.Sprintf("%016x", r.RunID))
	batching := "sendmmsg batches"
	switch {
	case o.NoBatch:
		batching = "one datagram per system call"
	case r.GSO:
		batching = "sendmmsg + UDP GSO"
	}
	fmt.Fprintf(w, "  on the wire: %d datagrams, %d B, %.0f datagrams/s, %s (%s)\n",
		r.Datagrams, r.Bytes, r.PPS(), impair.FormatBits(float64(r.Bytes)*8/max(r.Elapsed.Seconds(), 1e-9)), batching)
	if r.PortUnreachable {
		fmt.Fprintf(w, "  %s nobody is listening on %s (port unreachable)", styleWarn.Sprint("!"), r.To)
		if r.Unreachable > 0 {
			fmt.Fprintf(w, ": %d datagrams refused by the kernel after ICMP port-unreachable replies", r.Unreachable)
		}
		fmt.Fprintln(w, "; UDP does not care, the send went on")
	}
	if other := r.Errors - r.Unreachable; other > 0 {
		fmt.Fprintf(w, "  %s the kernel refused %d datagrams (ENOBUFS: its send buffer was full)\n", styleWarn.Sprint("!"), other)
	}
	if r.Errors > 0 {
		fmt.Fprintf(w, "  %s\n", styleDim.Sprintf("%d on the wire + %d refused = %d offered", r.Datagrams, r.Errors, r.Datagrams+r.Errors))
	}
	if r.Impaired {
		st := r.Impair
		fmt.Fprintf(w, "  impairment: %s\n", styleDim.Sprint(o.Impair.String()))
		fmt.Fprintf(w, "    %-14s %8d\n", "in", st.In)
		fmt.Fprintf(w, "    %-14s %8d  (%.2f%%)\n", "lost", st.Lost, pctOf(st.Lost, st.In))
		fmt.Fprintf(w, "    %-14s %8d\n", "duplicated", st.Duplicated)
		fmt.Fprintf(w, "    %-14s %8d\n", "reordered", st.Reordered)
		fmt.Fprintf(w, "    %-14s %8d\n", "delayed", st.Delayed)
		fmt.Fprintf(w, "    %-14s %8d\n", "rate-delayed", st.RateDelayed)
		fmt.Fprintf(w, "    %-14s %8d\n", "queue-dropped", st.QueueDropped)
		fmt.Fprintf(w, "    %-14s %8d\n", "out", st.Out)
	}
}

func pctOf(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) * 100 / float64(b)
}

func printSendJSON(w io.Writer, r udpio.SendResult, o udpio.SendOptions) error {
	out := struct {
		RunID     string        `json:"run_id"`
		To        string        `json:"to"`
		Size      int           `json:"size"`
		Sent      uint64        `json:"sent"`
		Datagrams uint64        `json:"datagrams"`
		Bytes     uint64        `json:"bytes"`
		Errors    uint64        `json:"errors"`
		Unreach   uint64        `json:"refused_port_unreachable"`
		NoOne     bool          `json:"port_unreachable"`
		ElapsedMS float64       `json:"elapsed_ms"`
		PPS       float64       `json:"pps"`
		GSO       bool          `json:"gso"`
		Impair    *impair.Stats `json:"impairment,omitempty"`
		Config    string        `json:"impairment_config,omitempty"`
	}{fmt.Sprintf("%016x", r.RunID), r.To, o.Size, r.Sent, r.Datagrams, r.Bytes, r.Errors, r.Unreachable, r.PortUnreachable,
		float64(r.Elapsed) / 1e6, r.PPS(), r.GSO, nil, ""}
	if r.Impaired {
		st := r.Impair
		out.Impair, out.Config = &st, o.Impair.String()
	}
	return json.NewEncoder(w).Encode(out)
}

func udpRecvCommand() *cli.Command {
	return &cli.Command{
		Name:  "recv",
		Usage: "receive wiredojo-udp datagrams and measure loss, duplicates, reordering, jitter and latency",
		Description: "Runs until Ctrl-C, --duration, --count datagrams, or (--until-end) every\n" +
			"sender's end marker, then prints the summary (--json: one JSON object).\n" +
			"It listens on loopback (127.0.0.1:9999) unless --addr says otherwise, as chat\n" +
			"serve does; 0.0.0.0:9999 hears other hosts and broadcasts. The summary says\n" +
			"where the datagrams received were addressed: unicast, broadcast, the group\n" +
			"joined, another group (the kernel tells each datagram's destination).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:9999", Usage: "listen on `HOST:PORT`: loopback only by default, as chat serve; 0.0.0.0:9999 hears other hosts and broadcasts (with --group only the port counts)"},
			&cli.StringFlag{Name: "group", Usage: "join this IPv4 multicast `GROUP` (on --addr's port)"},
			&cli.StringFlag{Name: "iface", Usage: "interface (`IFACE`) to join the group on"},
			&cli.Uint64Flag{Name: "count", Usage: "stop after this many distinct datagrams"},
			&cli.DurationFlag{Name: "duration", Usage: "stop after this long"},
			&cli.BoolFlag{Name: "until-end", Usage: "stop once every sender has finished (its end marker arrived), or after 2s of silence"},
			runIDFlag("only measure this run; count others apart"),
			&cli.BoolFlag{Name: "no-gro", Usage: "no UDP receive offload (one datagram per buffer; kernel drops then count datagrams exactly)"},
			&cli.BoolFlag{Name: "json", Usage: "print the summary as one JSON object"},
		},
		Action: func(c *cli.Context) error {
			o := udpio.RecvOptions{
				NoGRO:     c.Bool("no-gro"),
				Addr:      c.String("addr"),
				Group:     c.String("group"),
				Interface: c.String("iface"),
				Count:     c.Uint64("count"),
				Duration:  c.Duration("duration"),
				UntilEnd:  c.Bool("until-end"),
			}
			if c.IsSet("duration") && o.Duration <= 0 {
				return usagef("--duration %v: give a time above 0, e.g. 10s", o.Duration)
			}
			var err error
			if o.RunID, err = runID(c); err != nil {
				return err
			}
			w := c.App.Writer
			var view liveView
			if isTTY(w) && !c.Bool("json") {
				view.w = w
				o.Progress = view.update
			}
			r, err := udpio.Listen(o)
			if err != nil {
				if errors.Is(err, udpio.ErrNotMulticast) {
					return usagef("%v", err)
				}
				return err
			}
			if c.Bool("json") { // the summary alone on standard output
				fmt.Fprintf(c.App.ErrWriter, "listening on %s", r.Addr())
				if o.Group != "" {
					fmt.Fprintf(c.App.ErrWriter, " (group %s)", o.Group)
				}
				fmt.Fprintln(c.App.ErrWriter)
			} else {
				fmt.Fprintf(w, "listening on %s", styleName.Sprint(r.Addr()))
				if o.Group != "" {
					fmt.Fprintf(w, " (group %s)", styleName.Sprint(o.Group))
				}
				fmt.Fprintln(w, styleDim.Sprint(" — Ctrl-C to stop"))
			}
			res, err := r.Run(c.Context)
			view.clear()
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return json.NewEncoder(w).Encode(recvJSON(res, o.Group))
			}
			printRecv(w, res, o.Group)
			return nil
		},
	}
}

// recvSummary is the JSON summary of `udp recv --json`: the fields of docs/ARCHITECTURE.md ("Compare JSON")
// for all senders together, then what was counted apart, the multicast
// group the receiver joined (--group), if any, and where the received
// datagrams were addressed.
type recvSummary struct {
	stats.Summary
	KernelDrops  uint64             `json:"kernel_drops"`
	Invalid      udpio.Invalid      `json:"invalid"`
	Senders      int                `json:"senders"`
	Group        string             `json:"group,omitempty"`
	Destinations udpio.Destinations `json:"destinations"`
}

func recvJSON(res udpio.Result, group string) recvSummary {
	return recvSummary{Summary: res.Total, KernelDrops: res.KernelDrops, Invalid: res.Invalid, Senders: len(res.Senders), Group: group,
		Destinations: res.Destinations}
}

// liveView redraws a few lines of running totals in place on a terminal.
type liveView struct {
	w     io.Writer
	lines int
}

func (v *liveView) update(res udpio.Result) {
	v.clear()
	lines := []string{
		fmt.Sprintf("  %s %d senders, %d datagrams read, %v", styleDim.Sprint("live"), len(res.Senders), res.Datagrams, res.Elapsed.Round(time.Second)),
	}
	for i, s := range res.Senders {
		if i == 5 {
			lines = append(lines, fmt.Sprintf("  … %d more", len(res.Senders)-5))
			break
		}
		m := s.Summary
		lines = append(lines, fmt.Sprintf("  %-21s recv %-8d lost %-6d (%5.2f%%) dup %-5d reord %-5d jitter %6.3f ms  p50 %7.3f ms",
			s.From, m.Received, m.Lost, m.LossPercent(), m.Duplicates, m.Reordered, m.JitterMS, m.LatencyMS.P50))
	}
	for _, l := range lines {
		fmt.Fprintln(v.w, l)
	}
	v.lines = len(lines)
}

func (v *liveView) clear() {
	if v.w == nil || v.lines == 0 {
		return
	}
	fmt.Fprintf(v.w, "\x1b[%dA\x1b[J", v.lines)
	v.lines = 0
}

func printRecv(w io.Writer, res udpio.Result, group string) {
	if len(res.Senders) == 0 {
		fmt.Fprintf(w, "%s no wiredojo-udp datagrams received in %v\n", styleWarn.Sprint("!"), res.Elapsed.Round(time.Millisecond))
	}
	for _, s := range res.Senders {
		fmt.Fprintf(w, "%s from %s run %s\n", styleOK.Sprint("●"), styleName.Sprint(s.From), styleName.Sprintf("%016x", s.RunID))
		printSummary(w, s.Summary, "  ")
	}
	if len(res.Senders) > 1 {
		fmt.Fprintf(w, "%s all senders\n", styleOK.Sprint("●"))
		printSummary(w, res.Total, "  ")
	}
	if d := res.Destinations; d.Total() > 0 {
		fmt.Fprintf(w, "%s\n", recvDestinations(d, group))
	}
	if res.KernelDrops > 0 {
		fmt.Fprintf(w, "%s kernel drops (our socket's buffer was full, SO_RXQ_OVFL): %d packets — not network loss; with GRO one packet can hold a run of up to 64 datagrams (--no-gro counts datagrams)\n", styleWarn.Sprint("!"), res.KernelDrops)
	} else {
		fmt.Fprintf(w, "%s\n", styleDim.Sprint("kernel drops (SO_RXQ_OVFL): 0"))
	}
	if inv := res.Invalid; inv.Total() > 0 {
		fmt.Fprintf(w, "%s not measured: short %d, not ours %d, bad version %d, truncated %d, other run %d, too many senders %d, wild seq %d, stale seq %d, run id 0 %d, implausible end markers %d\n",
			styleWarn.Sprint("!"), inv.Short, inv.BadMagic, inv.BadVersion, inv.Truncated, inv.OtherRun, inv.TooManySenders, inv.Wild, inv.Stale, inv.ZeroRun, inv.BadEnd)
		if inv.BadTime > 0 {
			fmt.Fprintf(w, "%s send time more than %v from arrival: %d datagrams counted as received, left out of latency and jitter\n",
				styleWarn.Sprint("!"), time.Duration(stats.MaxTransit), inv.BadTime)
		}
	}
}

// recvDestinations says where the received datagrams were addressed, as
// udp recv prints it.
func recvDestinations(d udpio.Destinations, group string) string {
	g := "group"
	if group != "" {
		g = "group " + group
	}
	line := fmt.Sprintf("  addressed to: unicast %d, broadcast %d, %s %d, other groups %d", d.Unicast, d.Broadcast, g, d.Group, d.OtherGroup)
	if d.Unknown > 0 {
		line += fmt.Sprintf(", not told %d", d.Unknown)
	}
	return line
}

func printSummary(w io.Writer, m stats.Summary, indent string) {
	lost := fmt.Sprintf("%d (%.2f%%)", m.Lost, m.LossPercent())
	if m.Lost > 0 {
		lost = styleWarn.Sprint(lost)
	}
	note := ""
	if !m.Ended {
		note = styleDim.Sprint(" (from sequence numbers; no end marker seen)")
	}
	fmt.Fprintf(w, "%ssent %d%s, received %d, lost %s, duplicates %d, reordered %d\n", indent, m.Sent, note, m.Received, lost, m.Duplicates, m.Reordered)
	fmt.Fprintf(w, "%sjitter %.3f ms (RFC 3550)   latency p50 %.3f  p90 %.3f  p99 %.3f  max %.3f ms   %s\n",
		indent, m.JitterMS, m.LatencyMS.P50, m.LatencyMS.P90, m.LatencyMS.P99, m.LatencyMS.Max, throughputOf(m))
}

// throughputOf formats m's throughput; with none measured (fewer than two
// datagrams, or all with one arrival time: one batch of the kernel's) it
// says why instead of "0 bit/s".
func throughputOf(m stats.Summary) string {
	switch {
	case m.ThroughputBPS > 0:
		return impair.FormatBits(m.ThroughputBPS)
	case m.Received > 1:
		return "throughput not measured (all arrived at once)"
	}
	return "throughput not measured (fewer than two datagrams)"
}
