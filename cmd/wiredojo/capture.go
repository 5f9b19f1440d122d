package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/net/bpf"

	"github.com/wiredojo/wiredojo/capture"
	"github.com/wiredojo/wiredojo/capture/analysis"
	"github.com/wiredojo/wiredojo/capture/filter"
	"github.com/wiredojo/wiredojo/capture/pipeline"
	"github.com/wiredojo/wiredojo/capture/render"
	"github.com/wiredojo/wiredojo/capture/source"
)

func init() { register(captureCommand) }

// captureFilterProgram is what the capture commands need from capture/filter.
type captureFilterProgram interface {
	MatchWire(pkt []byte, wireLen int) bool
	Dump() string
	RawInstructions() ([]bpf.RawInstruction, error)
}

// captureCompileFilter compiles a tcpdump expression for a link type and
// snaplen with capture/filter.
func captureCompileFilter(expr string, lt layers.LinkType, snaplen int) (captureFilterProgram, error) {
	p, err := filter.Compile(expr, lt, snaplen)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func captureViewFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "filter", Aliases: []string{"f"}, Usage: "tcpdump filter expression (`EXPR`), e.g. 'tcp port 7070'"},
		&cli.BoolFlag{Name: "filter-dump", Usage: "print the compiled BPF program (like tcpdump -d) and exit"},
		&cli.StringFlag{Name: "write", Aliases: []string{"w"}, Usage: "also save the kept packets to `FILE` (.pcapng or pcap)"},
		&cli.IntFlag{Name: "count", Aliases: []string{"c"}, Usage: "stop after `N` packets"},
		&cli.BoolFlag{Name: "json", Usage: "one JSON object per line and packet, every layer with its OSI and TCP/IP placement"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "layered detail view: each layer with its OSI and TCP/IP layer"},
		&cli.StringFlag{Name: "model", Usage: "group the detail view by `osi` or `tcpip` (implies -v)"},
		&cli.BoolFlag{Name: "hex", Usage: "hex and ASCII dump (tcpdump -X), bytes coloured by layer; with colour, a legend of the colours heads the output"},
		&cli.IntFlag{Name: "follow", Value: -1, Usage: "print TCP stream `N` (0-based) reassembled, or its messages and events"},
		&cli.BoolFlag{Name: "stats", Usage: "print conversations, endpoints and the protocol hierarchy"},
		&cli.BoolFlag{Name: "absolute-seq", Aliases: []string{"S"}, Usage: "print raw TCP sequence numbers (tcpdump -S) instead of relative ones"},
		&cli.BoolFlag{Name: "no-reassembly", Usage: "decode link to transport only (no TCP reassembly or applications)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "decode but print only the packet count (timing, --write)"},
	}
}

func captureCommand() *cli.Command {
	return &cli.Command{
		Name:  "capture",
		Usage: "capture and decode packets against the OSI and TCP/IP models",
		Subcommands: []*cli.Command{
			{
				Name:      "read",
				Usage:     "decode a pcap or pcapng file (- reads standard input)",
				ArgsUsage: "FILE",
				Description: "A file of 32 MiB or more read while stdout goes to a file or a pipe shows its progress\n" +
					"(bytes read of the file's size) on stderr when stderr is a terminal.",
				Flags:  captureViewFlags(),
				Action: captureRead,
			},
			{
				Name:        "live",
				Usage:       "capture from an interface (root or CAP_NET_RAW; otherwise inside the wiredojo sandbox, see `wiredojo sandbox`)",
				Description: "Ctrl-C (or --count, --duration) stops and flushes the --write file.",
				Flags: append(captureViewFlags(),
					&cli.StringFlag{Name: "iface", Aliases: []string{"i"}, Usage: "interface `IFACE`, e.g. lo, or any for every interface (required)"},
					&cli.DurationFlag{Name: "duration", Usage: "stop after `D` (e.g. 10s)"},
					&cli.IntFlag{Name: "snaplen", Aliases: []string{"s"}, Usage: "keep at most `BYTES` of each packet (default: all)"},
				),
				Action: captureLive,
			},
		},
	}
}

// captureView is what to print, from the flags.
type captureView struct {
	json, verbose, hex, stats bool
	quiet                     bool
	model                     render.Model
	follow                    int
}

func captureViewFrom(c *cli.Context) (captureView, error) {
	v := captureView{quiet: c.Bool("quiet"), json: c.Bool("json"), verbose: c.Bool("verbose"), hex: c.Bool("hex"), stats: c.Bool("stats"), follow: c.Int("follow")}
	switch c.String("model") {
	case "":
	case "osi":
		v.verbose = true
	case "tcpip":
		v.verbose, v.model = true, render.ModelTCPIP
	default:
		return v, usagef("--model %q: choose osi or tcpip", c.String("model"))
	}
	if v.json && (v.verbose || v.hex) {
		return v, usagef("--json prints its own format: drop -v, --model and --hex")
	}
	if v.follow < -1 {
		return v, usagef("--follow %d: streams are numbered from 0", v.follow)
	}
	if n := c.Int("count"); n < 0 {
		return v, usagef("--count %d: give a number of packets above 0 (or leave it out for all)", n)
	}
	if c.IsSet("duration") && c.Duration("duration") <= 0 {
		return v, usagef("--duration %v: give a time above 0, e.g. 10s", c.Duration("duration"))
	}
	return v, nil
}

// captureProgressMin is the file size from which capture read shows its
// progress (on a terminal stderr, while stdout goes elsewhere).
const captureProgressMin = 32 << 20

// readProgress wraps r, a file of size bytes, so that reading it shows the
// bytes read so far against size on w; finish ends the line.
func readProgress(r io.Reader, w io.Writer, size int64) (io.Reader, func()) {
	bar := progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("reading"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionEnableColorCodes(false),
	)
	pr := progressbar.NewReader(r, bar)
	return &pr, func() { _ = bar.Finish() }
}

func captureRead(c *cli.Context) error {
	if c.Args().Len() != 1 {
		return usagef("capture read takes one FILE (a .pcap or .pcapng)")
	}
	v, err := captureViewFrom(c)
	if err != nil {
		return err
	}
	name := c.Args().First()
	var src source.Source
	if name == "-" {
		src, err = source.NewReader(c.App.Reader, "standard input")
	} else if fi, serr := os.Stat(name); serr == nil && fi.IsDir() {
		return usagef("%s is a directory: give a capture file (.pcap or .pcapng) in it", name)
	} else if fi, serr := os.Stat(name); serr == nil && fi.Size() >= captureProgressMin && isTTY(c.App.ErrWriter) && !isTTY(c.App.Writer) {
		// A large file read to a pipe or a file: show how far it is.
		f, oerr := os.Open(name)
		if oerr != nil {
			return fmt.Errorf("capture: %w", oerr)
		}
		defer f.Close()
		r, finish := readProgress(f, c.App.ErrWriter, fi.Size())
		defer finish()
		src, err = source.NewReader(r, name)
	} else {
		src, err = source.OpenFile(name)
	}
	if err != nil {
		return err
	}
	defer src.Close()
	filt, done, err := captureSetupFilter(c, src.LinkType(0), src.Snaplen())
	if err != nil || done {
		return err
	}
	return captureRun(c, c.Context, src, v, filt, false)
}

func captureLive(c *cli.Context) error {
	if c.Args().Len() > 0 {
		return usagef("capture live takes no arguments, got %q", c.Args().First())
	}
	if c.String("iface") == "" {
		return usagef("capture live needs --iface IFACE (see `ip link`; lo for loopback)")
	}
	v, err := captureViewFrom(c)
	if err != nil {
		return err
	}
	if handled, err := inSandbox(c, capNetRaw, "capture live"); handled { // sandbox.go
		return err
	}
	snaplen := c.Int("snaplen")
	if snaplen < 0 {
		return usagef("--snaplen %d: give a positive number of bytes", snaplen)
	}
	if snaplen == 0 {
		snaplen = source.MaxSnaplen
	}
	var kernel []bpf.RawInstruction
	var filt pipeline.Filter
	if c.String("iface") == source.AnyInterface {
		// Cooked packets from every interface: filter them in user space,
		// compiled for their SLL2 headers.
		var done bool
		if filt, done, err = captureSetupFilter(c, layers.LinkTypeLinuxSLL2, snaplen); err != nil || done {
			return err
		}
	} else if expr := c.String("filter"); expr != "" {
		prog, err := captureCompileFilter(expr, layers.LinkTypeEthernet, snaplen)
		if err != nil {
			return captureFilterError(err)
		}
		if c.Bool("filter-dump") {
			fmt.Fprint(c.App.Writer, prog.Dump())
			return nil
		}
		if kernel, err = prog.RawInstructions(); err != nil {
			return fmt.Errorf("capture: %w", err)
		}
	} else if c.Bool("filter-dump") {
		return usagef("--filter-dump needs --filter EXPR")
	}
	ctx := c.Context
	if d := c.Duration("duration"); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	src, err := source.OpenLive(ctx, c.String("iface"), source.LiveOptions{Snaplen: snaplen, Filter: kernel})
	if err != nil {
		return err
	}
	defer src.Close()
	// As tcpdump does, once the socket is open: from here on nothing is missed.
	lt := "EN10MB (Ethernet)"
	if src.LinkType(0) == layers.LinkTypeLinuxSLL2 {
		lt = "LINUX_SLL2 (Linux cooked v2)"
	}
	fmt.Fprintf(c.App.ErrWriter, "listening on %s, link-type %s, snapshot length %d bytes\n", c.String("iface"), lt, snaplen)
	return captureRun(c, ctx, src, v, filt, true)
}

// captureFilterError makes a bad expression a usage error (exit 2); the
// syntax error's text already points at the column.
func captureFilterError(err error) error {
	var se *filter.SyntaxError
	if errors.As(err, &se) {
		return &usageError{err: err, hint: "Filters use tcpdump's language, e.g. 'tcp port 7070 and host 127.0.0.1'."}
	}
	return fmt.Errorf("capture: %w", err)
}

// captureSetupFilter compiles --filter for a file (one program per link type) and
// handles --filter-dump (done=true).
func captureSetupFilter(c *cli.Context, lt layers.LinkType, snaplen int) (pipeline.Filter, bool, error) {
	expr := c.String("filter")
	if expr == "" {
		if c.Bool("filter-dump") {
			return nil, true, usagef("--filter-dump needs --filter EXPR")
		}
		return nil, false, nil
	}
	if snaplen <= 0 {
		snaplen = source.MaxSnaplen
	}
	progs := map[layers.LinkType]captureFilterProgram{}
	prog, err := captureCompileFilter(expr, lt, snaplen)
	if err != nil {
		return nil, true, captureFilterError(err)
	}
	if c.Bool("filter-dump") {
		fmt.Fprint(c.App.Writer, prog.Dump())
		return nil, true, nil
	}
	progs[lt] = prog
	return func(pkt []byte, wireLen int, lt layers.LinkType) (bool, error) {
		p, ok := progs[lt]
		if !ok {
			var err error
			if p, err = captureCompileFilter(expr, lt, snaplen); err != nil {
				return false, err
			}
			progs[lt] = p
		}
		return p.MatchWire(pkt, wireLen), nil
	}, false, nil
}

// captureRun runs the pipeline and prints what the captureView asks for. Packets
// printed before an error stay printed (the output is flushed first).
func captureRun(c *cli.Context, ctx context.Context, src source.Source, v captureView, filt pipeline.Filter, live bool) (err error) {
	out := bufio.NewWriterSize(c.App.Writer, 64<<10)
	defer func() {
		if ferr := out.Flush(); err == nil && ferr != nil {
			err = fmt.Errorf("capture: writing output: %w", ferr)
		}
	}()
	opt := pipeline.Options{Filter: filt, Count: c.Int("count")}
	opt.Decode.NoReassembly = c.Bool("no-reassembly")
	if name := c.String("write"); name != "" {
		w, err := source.Create(name, src.Snaplen())
		if err != nil {
			return err
		}
		// Close flushes the file: it runs on every way out, Ctrl-C included.
		defer func() {
			if cerr := w.Close(); err == nil && cerr != nil {
				err = cerr
			}
		}()
		opt.Write = w
	}
	pal := render.NewPalette()
	pal.AbsoluteSeq = c.Bool("absolute-seq")
	var stats *analysis.Stats
	var follow *analysis.Follow
	buf := make([]byte, 0, 4096)
	switch {
	case v.quiet:
		opt.Handle = nil
	case v.stats:
		stats = analysis.NewStats()
		opt.Handle = func(p *capture.Packet) error { stats.Add(p); return nil }
	case v.follow >= 0:
		follow = analysis.NewFollow(v.follow)
		opt.Decode.OnStream = follow.OnStream
		opt.Handle = func(p *capture.Packet) error { follow.Add(p); return nil }
	default:
		opt.Handle = func(p *capture.Packet) error {
			buf = buf[:0]
			if v.hex {
				buf = pal.AppendHexLegend(buf)
			}
			switch {
			case v.json:
				buf = render.AppendJSON(buf, p)
			case v.verbose:
				buf = pal.AppendDetail(buf, p, v.model)
			default:
				buf = pal.AppendLine(buf, p)
			}
			if v.hex {
				buf = pal.AppendHex(buf, p)
				buf = append(buf, '\n')
			}
			if _, err := out.Write(buf); err != nil {
				return fmt.Errorf("capture: writing output: %w", err)
			}
			if live {
				return out.Flush()
			}
			return nil
		}
	}
	n, runErr := pipeline.Run(ctx, src, opt)
	if stats != nil {
		if err := stats.Write(out); err != nil {
			return err
		}
	}
	if follow != nil && runErr == nil {
		if err := follow.Write(out); err != nil {
			return err
		}
	}
	if v.quiet {
		fmt.Fprintf(out, "%d packets\n", n)
	} else if live && !v.json {
		fmt.Fprintf(c.App.ErrWriter, "%d packets captured\n", n)
	}
	if runErr != nil && !errors.Is(runErr, io.EOF) {
		return runErr
	}
	return nil
}
