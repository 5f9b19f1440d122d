package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fatih/color"
	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/internal/sandbox"
	"github.com/wiredojo/wiredojo/udpcast/compare"
	"github.com/wiredojo/wiredojo/udpcast/impair"
	udpreport "github.com/wiredojo/wiredojo/udpcast/report"
)

// The parts of the demo beyond the chat itself: a capture of the demo's own
// traffic (when this user may capture), and a short TCP-versus-UDP
// comparison. Both run the same code as the commands a learner types next,
// and print the command line first.

// demoCapture is a live capture of the demo's chat port into a file, run
// as a `wiredojo capture live` child process exactly as a learner would.
type demoCapture struct {
	file string
	cmd  *exec.Cmd
}

// demoSandboxed runs the whole demo again inside a one-shot sandbox when
// this process may not capture (not root, no CAP_NET_RAW) and a sandbox can
// be made: its chat server, clients and capture then share the sandbox's
// loopback, where it is root, and it records and decodes its own packets as
// it does as root. The demo inside writes to this process's own streams
// (the terminal itself: it decides on colour as this one did), hears Ctrl-C
// with it (and SIGINT from RunSelf when this process alone is interrupted)
// and ends with the sandbox. ran is true when it ran there, with its exit
// status in code. Otherwise noCapture says why this process will not
// record the demo's packets ("" when it may).
func demoSandboxed(c *cli.Context, out io.Writer) (ran bool, code int, noCapture string, err error) {
	if !needsSandbox(capNetRaw) { // sandbox.go
		return false, 0, "", nil
	}
	const notRoot = "not root"
	if demoSelf() == "" {
		return false, 0, notRoot, nil // a test binary: it would run its tests
	}
	args := []string{"demo", "--pace", c.Duration("pace").String()}
	if color.NoColor {
		args = append([]string{"--no-color"}, args...)
	}
	say := func(note string) { fmt.Fprintln(out, newChatPaint().s(styleDim, note)) }
	code, err = runOneShot(c.Context, "the demo", "so that it can record and decode its own packets (its chat is on the sandbox's own loopback)",
		args, c.App.Reader, c.App.Writer, c.App.ErrWriter, say) // sandbox.go
	if errors.Is(err, sandbox.ErrUnavailable) {
		return false, 0, notRoot + ", and no sandbox can be made here (" + err.Error() + ")", nil
	}
	return true, code, "", err
}

// demoSelf returns the path of the wiredojo binary, or "" when this is not
// it (a test binary would run its tests).
func demoSelf() string {
	self, err := os.Executable()
	if err != nil || strings.HasSuffix(self, ".test") {
		return ""
	}
	return self
}

// startDemoCapture starts `capture live` on lo for the chat's port; when
// noCapture says why it may not, it says so and returns nil.
func startDemoCapture(out io.Writer, paint chatPaint, port, noCapture string) *demoCapture {
	if noCapture != "" {
		fmt.Fprintln(out, paint.s(styleDim, "("+noCapture+": no capture of the demo's own packets; as root, or in a sandbox, the demo records and decodes them)"))
		return nil
	}
	self := demoSelf()
	if self == "" {
		return nil
	}
	dir, err := os.MkdirTemp("", "wiredojo-demo")
	if err != nil {
		return nil
	}
	file := filepath.Join(dir, "demo.pcapng")
	args := []string{"capture", "live", "--iface", "lo", "--filter", "tcp port " + port, "--write", file, "--quiet"}
	fmt.Fprintf(out, "%s\n", paint.s(styleDim, "recording the demo's own packets: $ wiredojo capture live --iface lo --filter 'tcp port "+port+"' --write "+file))
	cmd := exec.Command(self, args...)
	// If the demo dies without its clean-up (SIGKILL), the capture ends too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(out, "(no capture: %v)\n", err)
		os.RemoveAll(dir)
		return nil
	}
	time.Sleep(500 * time.Millisecond) // the socket is open before the first client connects
	return &demoCapture{file: file, cmd: cmd}
}

// stop ends the capture (as Ctrl-C: it flushes the file; killed if it has
// not ended within 5 s) and waits for it. Only the first call does anything.
func (dc *demoCapture) stop() {
	if dc == nil || dc.cmd == nil {
		return
	}
	_ = dc.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() {
		_ = dc.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = dc.cmd.Process.Kill()
		<-done
	}
	dc.cmd = nil
	os.RemoveAll(filepath.Dir(dc.file))
}

// show stops the capture and prints its packets decoded by layer.
func (dc *demoCapture) show(out io.Writer, paint chatPaint, step func(string, ...any) error) error {
	if dc == nil {
		return nil
	}
	_ = dc.cmd.Process.Signal(os.Interrupt) // as Ctrl-C: it flushes the file
	_ = dc.cmd.Wait()
	dc.cmd = nil
	defer os.RemoveAll(filepath.Dir(dc.file))
	if err := step("The capture of this demo, decoded layer by layer: TCP handshake, our frames and events, HTTP, WebSocket"); err != nil {
		return err
	}
	args := []string{"wiredojo", "capture", "read", dc.file}
	fmt.Fprintf(out, "%s\n", paint.s(styleDim, "$ "+strings.Join(args, " ")+"   (first 24 packets)"))
	var buf strings.Builder
	noColor := color.NoColor
	run(context.Background(), args, strings.NewReader(""), &buf, io.Discard)
	color.NoColor = noColor // the nested run decided colour for its own buffer
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	for i, l := range lines {
		if i == 24 {
			fmt.Fprintf(out, "   %s\n", paint.f(styleDim, "… %d more", len(lines)-24))
			break
		}
		fmt.Fprintf(out, "   %s\n", l)
	}
	return nil
}

// demoCompare runs a short comparison of TCP and UDP through the same 5%
// loss, 10 ms ± 2 ms delay, and prints its table and chart. Both cross an
// impaired link between namespaces: as root here, otherwise in a private
// sandbox, as `wiredojo compare` does, never with TCP left unimpaired.
func demoCompare(ctx context.Context, out io.Writer, paint chatPaint, step func(string, ...any) error) error {
	if err := step("TCP versus UDP through the same impairment (5%% loss, 10 ms ± 2 ms): UDP loses, TCP waits"); err != nil {
		return err
	}
	args := []string{"compare", "--count", "300", "--size", "200", "--rate", "500", "--loss", "5%", "--delay", "10ms", "--jitter", "2ms"}
	fmt.Fprintf(out, "%s\n", paint.s(styleDim, "$ wiredojo "+strings.Join(args, " ")))
	if needsSandbox(capNetAdmin) { // sandbox.go
		return demoCompareSandboxed(ctx, out, paint, args)
	}
	res, err := compare.Run(ctx, compare.Options{
		Count: 300, Size: 200, Rate: 500,
		Impair: impair.Config{Loss: 0.05, Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 1},
		Link:   compare.LinkNetns, // an error rather than TCP unimpaired
	})
	if err != nil {
		return fmt.Errorf("demo: comparison: %w", err)
	}
	udpreport.Terminal(out, res, udpreport.TermOptions{Color: paint.on, Width: 80})
	return nil
}

// demoCompareSandboxed runs args (the compare command line) again inside a
// one-shot sandbox, its output in the demo's. Where no sandbox can be made
// it says so and leaves the comparison out rather than show it one-sided.
func demoCompareSandboxed(ctx context.Context, out io.Writer, paint chatPaint, args []string) error {
	say := func(note string) { fmt.Fprintln(out, paint.s(styleDim, note)) }
	stdout := out
	if dw, ok := out.(*demoWriter); ok && paint.on {
		if f, ok := dw.w.(*os.File); ok {
			stdout = f // the terminal itself, so that compare colours its table too
		}
	}
	var errb strings.Builder
	code, err := runOneShot(ctx, "compare", "so nothing on this machine changes", args, strings.NewReader(""), stdout, &errb, say) // sandbox.go
	switch {
	case errors.Is(err, sandbox.ErrUnavailable):
		fmt.Fprintf(out, "%s\n%s\n", paint.s(styleWarn, "Left out: not root, and no sandbox can be made here ("+err.Error()+")."),
			"Without one, TCP cannot cross an impaired link, and a comparison with only UDP impaired would be\n"+
				"one-sided. As root, `sudo wiredojo compare --loss 5% --delay 10ms --jitter 2ms` impairs both.")
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return fmt.Errorf("demo: comparison: %w", err)
	case code != 0:
		return fmt.Errorf("demo: comparison: compare in the sandbox exited with %d: %s", code, strings.TrimSpace(errb.String()))
	}
	return nil
}

// demoNext is the closing list of what to try next.
func demoNext(out io.Writer, paint chatPaint) {
	fmt.Fprintf(out, "\n%s\n", paint.s(styleOK, "What to try next:"))
	for _, l := range [][2]string{
		{"wiredojo chat serve", "then open http://127.0.0.1:7070/ in a browser and `wiredojo chat client --room lobby` in a terminal"},
		{"wiredojo lab list", "eleven labs with checks: handshake, framing, events, WebSocket, queues, rooms, Redis, TCP vs UDP, OSI, multicast, socket.io"},
		{"wiredojo sandbox start; wiredojo sandbox -- wiredojo capture live --iface lo --filter 'tcp port 7070'", "watch a chat session layer by layer, without sudo (the chat must run in the sandbox too: see README, A first session)"},
		{"wiredojo compare --loss 5% --delay 10ms --jitter 2ms --report compare.html", "the comparison as a page with charts"},
		{"wiredojo udp recv --addr :9999 --until-end", "a lossy UDP stream, measured: once it prints \"listening on\", in a second terminal: wiredojo udp send --to 127.0.0.1:9999 --loss 5% --seed 1"},
		{"wiredojo ws dial ws://127.0.0.1:7070/ws", "WebSocket frames by hand"},
	} {
		fmt.Fprintf(out, "  %s\n      %s\n", paint.s(styleName, l[0]), paint.s(styleDim, l[1]))
	}
}
