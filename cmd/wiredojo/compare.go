package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/udpcast/compare"
	udpreport "github.com/wiredojo/wiredojo/udpcast/report"
)

func init() { register(compareCommand) }

func compareCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.IntFlag{Name: "count", Value: 1000, Usage: "messages per protocol"},
		&cli.IntFlag{Name: "size", Value: 512, Usage: "bytes per message, the 32-byte header included"},
		&cli.Float64Flag{Name: "rate", Value: 1000, Usage: "send `N` messages per second, paced smoothly"},
		&cli.StringFlag{Name: "link", Value: "auto", Usage: "where to impair: `auto` or netns (both protocols over an impaired link between namespaces; in a private sandbox when not root), none (UDP at the socket; TCP unimpaired)"},
		&cli.BoolFlag{Name: "json", Usage: `print {"tcp": {...}, "udp": {...}}`},
		&cli.StringFlag{Name: "report", Usage: "write a self-contained HTML report with SVG charts to `FILE.html`"},
	}
	return &cli.Command{
		Name:  "compare",
		Usage: "send the same message stream over TCP and over UDP through the same impairment, side by side",
		Description: "Measures each message: delivered, duplicates, reordered, one-way latency\n" +
			"p50/p90/p99/max, jitter, throughput, and for TCP the delay head-of-line\n" +
			"blocking added. Both run over an impaired link between two network\n" +
			"namespaces (real kernel TCP, cubic, no offloads): as root directly; as any\n" +
			"other user inside a private sandbox (user + network namespace) that compare\n" +
			"makes and removes itself, saying so. Where such sandboxes are not allowed it\n" +
			"says what is missing and stops. --link none impairs only UDP, at the socket,\n" +
			"and TCP runs unimpaired over loopback.\n\n" +
			wrapText(compare.HOLDefinition+".", 78),
		Flags: append(flags, impairFlags()...),
		Action: func(c *cli.Context) error {
			cfg, err := impairConfig(c)
			if err != nil {
				return err
			}
			o := compare.Options{
				Count:  c.Int("count"),
				Size:   c.Int("size"),
				Rate:   c.Float64("rate"),
				Impair: cfg,
				Link:   compare.LinkMode(c.String("link")),
			}
			if o.Rate <= 0 {
				return usagef("--rate must be above 0 messages per second")
			}
			if o.Link == compare.LinkAuto || o.Link == compare.LinkNetns {
				if handled, err := inOneShotSandbox(c, capNetAdmin, "compare"); handled { // sandbox.go
					return err
				}
			}
			errw := c.App.ErrWriter
			if !c.Bool("json") {
				fmt.Fprintf(errw, "comparing %d messages over TCP, then UDP (about %.1f s each)…\n", o.Count, float64(o.Count)/o.Rate)
			}
			if isTTY(errw) && !c.Bool("json") {
				bar := newCompareBar(errw, o.Count)
				o.Progress = bar.update
				defer bar.finish()
			}
			res, err := compare.Run(c.Context, o)
			if err != nil {
				if errors.Is(err, compare.ErrOptions) {
					return usagef("%v", err)
				}
				return err
			}
			if c.Context.Err() != nil {
				fmt.Fprintln(errw, "interrupted: the figures cover what was sent before Ctrl-C")
			}
			if path := c.String("report"); path != "" {
				f, err := os.Create(path)
				if err != nil {
					return fmt.Errorf("compare: report: %w", err)
				}
				if err := udpreport.HTML(f, res); err != nil {
					f.Close()
					return fmt.Errorf("compare: report: %w", err)
				}
				if err := f.Close(); err != nil {
					return fmt.Errorf("compare: report: %w", err)
				}
				if !c.Bool("json") {
					defer fmt.Fprintf(c.App.Writer, "\nreport written to %s\n", styleName.Sprint(path))
				}
			}
			if c.Bool("json") {
				if res.Notice != "" {
					fmt.Fprintln(errw, "note: "+res.Notice)
				}
				return json.NewEncoder(c.App.Writer).Encode(res)
			}
			udpreport.Terminal(c.App.Writer, res, udpreport.TermOptions{Color: !color.NoColor, Width: 80})
			return nil
		},
	}
}

// compareBar shows compare's progress on a terminal (stderr): one bar per
// protocol.
type compareBar struct {
	w     io.Writer
	total int
	proto string
	bar   *progressbar.ProgressBar
}

func newCompareBar(w io.Writer, total int) *compareBar { return &compareBar{w: w, total: total} }

func (b *compareBar) update(proto string, sent, total int) {
	if proto != b.proto {
		b.finish()
		b.proto = proto
		b.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription(strings.ToUpper(proto)+" messages sent"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionEnableColorCodes(false),
		)
	}
	_ = b.bar.Set(sent)
}

func (b *compareBar) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
		fmt.Fprintln(b.w)
		b.bar = nil
	}
}

// wrapText breaks s into lines of at most width columns at spaces.
func wrapText(s string, width int) string {
	var out, line []string
	n := 0
	for _, word := range strings.Fields(s) {
		if n > 0 && n+1+len(word) > width {
			out = append(out, strings.Join(line, " "))
			line, n = nil, 0
		}
		if n > 0 {
			n++
		}
		line = append(line, word)
		n += len(word)
	}
	return strings.Join(append(out, strings.Join(line, " ")), "\n")
}
