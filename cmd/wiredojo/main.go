// Command wiredojo builds and shows what happens on the wire: an event chat
// over TCP and WebSocket, a lossy UDP broadcaster, a packet-capture viewer
// and terminal labs. Run `wiredojo help` for the commands.
//
// This package holds flags, output and colour only; every capability lives in
// a library package (framing, tcpchat, udpcast, capture, labs) so that Go
// programs can use it too.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/capture/analysis"
	"github.com/wiredojo/wiredojo/capture/source"
	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/socketio/client"
	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/storeopen"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
	"github.com/wiredojo/wiredojo/udpcast/link"
	"github.com/wiredojo/wiredojo/udpcast/udpio"
)

// Exit statuses of the CLI contract.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// version is set with -ldflags "-X main.version=..." by release builds.
var version = "dev"

// commandFactories holds one constructor per top-level command group; each
// command file registers its own from an init function, so adding a group
// touches only its own file.
var commandFactories []func() *cli.Command

// register adds a top-level command group.
func register(f func() *cli.Command) { commandFactories = append(commandFactories, f) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the CLI with the given arguments and streams and returns the
// exit status. Tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	// The command whose run ended with the error, for its hint; report
	// decides the status.
	var failed *cli.Command
	app.ExitErrHandler = func(c *cli.Context, err error) {
		if err != nil && failed == nil {
			failed = c.Command
		}
	}
	err := app.RunContext(ctx, normalizeArgs(app, args))
	return report(failed, err, stderr)
}

// report prints err, which ended command cmd (nil: not known), for a
// person and maps it to an exit status.
func report(cmd *cli.Command, err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ue *usageError
	var ec cli.ExitCoder
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s\n", forPerson(withHint(cmd, ue.err)))
		if ue.hint != "" {
			fmt.Fprintf(stderr, "%s\n", ue.hint)
		}
		return exitUsage
	case errors.As(err, &ec):
		if msg := withHint(cmd, err); msg != "" {
			fmt.Fprintf(stderr, "%s\n", forPerson(msg))
		}
		return ec.ExitCode()
	case strings.HasPrefix(err.Error(), "Required flag"):
		// urfave/cli reports a missing required flag with an unexported
		// type; it is a usage mistake all the same.
		fmt.Fprintf(stderr, "%s\nRun the command with --help for usage.\n", forPerson(err.Error()))
		return exitUsage
	default:
		fmt.Fprintf(stderr, "%s\n", forPerson(withHint(cmd, err)))
		return exitRuntime
	}
}

// hints are the CLI's advice for library errors. The libraries say what
// went wrong in their own terms (no flags, no commands); report adds the
// flag or command that helps, found with errors.Is/errors.As. The first
// match wins.
var hints = []struct {
	match func(error) bool
	hint  string // appended to the message as is
	flag  string // when set, the hint is given only for a command that has this flag
}{
	// The chat commands' bound (the server's on what clients send, a
	// client's on what the server sends); other commands that read frames
	// (compare's receiver, bounded by its own sender's size) have none to
	// raise.
	{isErr(framing.ErrFrameTooLarge), " (raise the limit with --max-frame)", "max-frame"},
	{isErr(link.ErrPrivilege), "; run it inside `wiredojo sandbox --` (after `wiredojo sandbox start`), with sudo, or use `compare --link none` for UDP-only impairment", ""},
	{isErr(link.ErrExists), "; run `wiredojo link down` first or pick another --name", ""},
	{isErr(udpio.ErrNoDestination), ": give an address, --broadcast or --group", ""},
	{isErr(udpio.ErrBroadcastOff), " (a broadcast address needs --broadcast)", ""},
	{isErr(udpio.ErrJoin), " (is there a multicast route? try --iface)", ""},
	{isErr(source.ErrPermission), "; run it inside `wiredojo sandbox --` (after `wiredojo sandbox start`), with sudo, or read a file", ""},
	{isErr(analysis.ErrNoStream), "; see --stats", ""},
	{isErr(storeopen.ErrNoDefaultPath), "; pass --store bolt:PATH", ""},
	{isErr(store.ErrUnreachable), " (is redis-server running?)", ""},
	{isErr(tcpchat.ErrNotOverSocketIO), " (leave out --client-id and --durable with a Socket.IO URL, or give the chat's HOST:PORT)", ""},
	{func(err error) bool { var v *tls.CertificateVerificationError; return errors.As(err, &v) }, " (a self-signed server: trust its certificate with --tls-ca FILE)", ""},
	{isErr(client.ErrProtocol), " (is it a Socket.IO server? a socketio://, http:// or https:// URL needs one, at its Engine.IO path; a chat server's HOST:PORT takes the framed protocol)", ""},
	{func(err error) bool { var d *tcpchat.DialError; return errors.As(err, &d) }, " (is `wiredojo chat serve` running there?)", ""},
	{func(err error) bool {
		var se *tcpchat.ServerError
		return errors.As(err, &se) && se.Code == wire.CodeUnauthorized
	}, " (give the server's --token)", ""},
	{isErr(tcpchat.ErrClientIDTaken), " (pass its --resume-token, or choose another --client-id)", ""},
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

// withHint returns err's message with the CLI's hint for it, if any. cmd
// is the command that met err (nil: not known): a hint that tells to use a
// flag is given only for a command that has it, or when cmd is not known.
func withHint(cmd *cli.Command, err error) string {
	msg := err.Error()
	for _, h := range hints {
		if h.flag != "" && cmd != nil && cmdFlag(cmd, h.flag) == nil {
			continue
		}
		if h.match(err) {
			return msg + h.hint
		}
	}
	return msg
}

// withHints returns args with each error replaced by its message with the
// CLI's hint (withHint), for a log line that carries an error: a client's
// reconnect lines give the hint the command's exit would.
func withHints(cmd *cli.Command, args []any) []any {
	out := slices.Clone(args)
	for i, a := range out {
		if err, ok := a.(error); ok && err != nil {
			out[i] = withHint(cmd, err)
		}
	}
	return out
}

// rePackagePrefix matches the "pkg: " prefix a library error starts with
// (impair: bad value, link: ...), at the start or after ": ".
var rePackagePrefix = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(^|: )(?:impair|link|udpio|udpcast|compare|tcpchat|store|storeopen|labs|framing|ws|wire|wsecho|filter|engineio|socketio/client|socketio|redisbus|capture|pcapio|decode|pipeline): `)
})

// forPerson turns an error message into the line the CLI prints: one
// "wiredojo: " prefix (none added when the message already starts with a
// wiredojo command line) and no library package names.
func forPerson(msg string) string {
	msg = rePackagePrefix().ReplaceAllString(msg, "$1")
	msg = strings.Replace(msg, "bad value: ", "", 1)
	if strings.HasPrefix(msg, "wiredojo ") || strings.HasPrefix(msg, "wiredojo: ") {
		return msg
	}
	return "wiredojo: " + msg
}

// usageError marks a mistake in how the command was called (exit status 2).
type usageError struct {
	err  error
	hint string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usage error (exit status 2) with a formatted message.
func usagef(format string, a ...any) error {
	return &usageError{err: fmt.Errorf(format, a...)}
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	cmds := make([]*cli.Command, 0, len(commandFactories))
	for _, f := range commandFactories {
		cmds = append(cmds, f())
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	for _, c := range cmds {
		prepareCommand(c, "")
	}
	app := &cli.App{
		Name:                 "wiredojo",
		Usage:                "see and build what happens on the wire",
		Version:              buildVersion(),
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		Commands:             cmds,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-color", Usage: "never colour the output (also: NO_COLOR=1)", EnvVars: []string{"WIREDOJO_NO_COLOR"}},
		},
		Before: func(c *cli.Context) error {
			setupColor(c.Bool("no-color"), stdout)
			return nil
		},
		OnUsageError:          onUsageError,
		CustomAppHelpTemplate: cli.AppHelpTemplate + examplesSection(""),
		CommandNotFound: func(c *cli.Context, name string) {
			// Reported through the returned error by ExitErrHandler below.
		},
		ExitErrHandler: func(*cli.Context, error) {}, // report() decides the status
	}
	app.Action = func(c *cli.Context) error {
		if c.Args().Len() > 0 {
			return unknownCommand(c.Args().First(), "wiredojo", c.App.Commands)
		}
		return cli.ShowAppHelp(c)
	}
	return app
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	return flagUsageError(c, err)
}
