package main

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// Every command reads its flags after its positional arguments as well as
// before them (`ws dial URL --origin O`, `chat emit '"hi"' --event e`), by
// the one rewrite of normalizeArgs: this walks every command and every flag
// of it, with the actions replaced by one that records what urfave/cli
// parsed. A sandbox's command line after "--" keeps its own flags.
func TestFlagsAfterPositionalArguments(t *testing.T) {
	type parsed struct {
		args []string
		set  bool
	}
	var got parsed
	var flag string
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	var record func(cmds []*cli.Command)
	record = func(cmds []*cli.Command) {
		for _, c := range cmds {
			c.Action = func(c *cli.Context) error {
				got = parsed{args: c.Args().Slice(), set: flag != "" && c.IsSet(flag)}
				return nil
			}
			record(c.Subcommands)
		}
	}
	record(app.Commands)
	parse := func(args ...string) (parsed, error) {
		got = parsed{}
		err := app.RunContext(context.Background(), normalizeArgs(app, append([]string{"wiredojo"}, args...)))
		return got, err
	}
	commands := 0
	eachCommand(t, func(path []string, c *cli.Command) {
		if len(c.Subcommands) > 0 {
			return
		}
		commands++
		for _, f := range c.Flags {
			flag = f.Names()[0]
			args := slices.Clone(path)
			for _, r := range c.Flags {
				if rf, ok := r.(cli.RequiredFlag); ok && rf.IsRequired() && r != f {
					args = append(args, "--"+r.Names()[0], valueFor(r))
				}
			}
			args = append(args, "POS", "--"+flag)
			if d, ok := f.(cli.DocGenerationFlag); ok && d.TakesValue() {
				args = append(args, valueFor(f))
			}
			args = append(args, "-7") // a negative number stays positional
			p, err := parse(args...)
			if err != nil || !p.set || !slices.Equal(p.args, []string{"POS", "-7"}) {
				t.Errorf("wiredojo %s: flag set %v, arguments %q, error %v; want --%s set and [POS -7]",
					strings.Join(args, " "), p.set, p.args, err, flag)
			}
		}
	})
	if commands < 30 {
		t.Fatalf("walked %d commands; the walk lost some", commands)
	}

	flag = ""
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"sandbox", "--", "wiredojo", "chat", "serve", "--addr", "x", "-v"}, []string{"wiredojo", "chat", "serve", "--addr", "x", "-v"}},
		{[]string{"sandbox", "ip", "-br", "link"}, []string{"ip", "-br", "link"}},
		{[]string{"capture", "read", "-", "--json"}, []string{"-"}},
		{[]string{"chat", "emit", "--event", "e", "--", "--not-a-flag"}, []string{"--not-a-flag"}},
	} {
		p, err := parse(tc.args...)
		if err != nil || !slices.Equal(p.args, tc.want) {
			t.Errorf("wiredojo %s: arguments %q, error %v; want %q", strings.Join(tc.args, " "), p.args, err, tc.want)
		}
	}
	// --help after an argument shows the command's help, not nothing.
	code, out, errs := chatRun(t, "", "ws", "dial", "ws://127.0.0.1:1/", "--help")
	if code != exitOK || !strings.Contains(out, "wiredojo ws dial - ") {
		t.Errorf("ws dial URL --help: exit %d, %q %q", code, out, errs)
	}
	// An unknown flag after an argument is named as such.
	code, _, errs = chatRun(t, "", "ws", "dial", "ws://127.0.0.1:1/", "--orign", "x")
	if code != exitUsage || !strings.Contains(errs, "--orign") || !strings.Contains(errs, "--origin") {
		t.Errorf("ws dial URL --orign x: exit %d, %q; want a usage error suggesting --origin", code, errs)
	}
}

// valueFor is a value flag f accepts: every value flag of the CLI takes a
// small number, but a duration.
func valueFor(f cli.Flag) string {
	if _, ok := f.(*cli.DurationFlag); ok {
		return "1s"
	}
	return "3"
}
