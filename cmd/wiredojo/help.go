package main

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
	"github.com/wiredojo/wiredojo/internal/editdist"
)

// This file holds the CLI-wide machinery of help and flags: the help
// templates (with EXAMPLES), `help CMD SUB`, global flags after the
// subcommand, "did you mean" suggestions, the version, and flag defaults
// shown once.

func init() {
	register(versionCommand)
	// -v is --verbose wherever a command has it; the version is --version
	// (or `wiredojo version`) only.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version and exit", DisableDefaultText: true}
	cli.FlagStringer = flagString(cli.FlagStringer)
	orig := cli.HelpPrinter
	cli.HelpPrinter = func(w io.Writer, templ string, data any) {
		var b bytes.Buffer
		orig(&b, templ, data)
		out := b.String()
		for strings.Contains(out, "\n\n\n") {
			out = strings.ReplaceAll(out, "\n\n\n", "\n\n")
		}
		io.WriteString(w, out)
	}
}

// globalBoolFlags are the app's flags; they are accepted anywhere before a
// `--`, as tcpdump and iperf3 accept their options in any order.
var globalBoolFlags = []string{"--no-color"}

// normalizeArgs rewrites the command line before urfave/cli parses it:
// global flags after a subcommand move to the front, `help CMD SUB`
// becomes `CMD SUB --help` (urfave/cli shows only the first level), and a
// command's flags may follow its positional arguments (flagsFirst).
func normalizeArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	var globals, rest []string
	for i, a := range args[1:] {
		if a == "--" {
			rest = append(rest, args[1+i:]...)
			break
		}
		if isGlobalFlag(a) {
			globals = append(globals, a)
			continue
		}
		rest = append(rest, a)
	}
	out := append([]string{args[0]}, globals...)
	// Find `help` and the command among the leading command words.
	cmds := app.Commands
	var cmd *cli.Command
	path := ""
	i := 0
	for ; i < len(rest); i++ {
		w := rest[i]
		if strings.HasPrefix(w, "-") {
			break
		}
		if (w == "help" || w == "h") && i+1 < len(rest) && !strings.HasPrefix(rest[i+1], "-") {
			rest = append(append(append([]string{}, rest[:i]...), rest[i+1:]...), "--help")
			return append(out, rest...)
		}
		c := findCommand(cmds, w)
		if c == nil {
			break
		}
		cmd, cmds = c, c.Subcommands
		path = strings.TrimPrefix(path+" "+c.Name, " ")
	}
	leaf := cmd != nil && !slices.ContainsFunc(cmd.Subcommands, func(s *cli.Command) bool { return s.Name != "help" })
	if leaf || commandLineArgs[path] {
		rest = append(rest[:i:i], flagsFirst(cmd, rest[i:], commandLineArgs[path])...)
	}
	return append(out, rest...)
}

// commandLineArgs are the commands whose positional arguments are a
// command line of their own: its flags are never the command's.
var commandLineArgs = map[string]bool{"sandbox": true}

// flagsFirst lets flags follow the positional arguments, as tcpdump,
// iperf3 and wscat users expect (`capture read FILE --json`, `lab reset 4
// --yes`, `ws dial URL --origin O`): urfave/cli stops parsing flags at the
// first positional argument, so args (what follows the command words of
// cmd) are put in the order it reads: cmd's flags with their values, then
// "--" when a positional argument starts with "-" (a negative number),
// then the positional arguments in their order. Nothing after a "--" moves,
// nor, when command is set, anything after the first positional argument.
// A flag cmd does not know moves too, taken to have no value, so that
// urfave/cli names it (with "did you mean"). With --help the positional
// arguments go. The shell-completion request stays last, where urfave/cli
// looks for it.
func flagsFirst(cmd *cli.Command, args []string, command bool) []string {
	const completion = "--generate-bash-completion"
	if n := len(args); n > 0 && args[n-1] == completion {
		return append(flagsFirst(cmd, args[:n-1], command), completion)
	}
	var flags, pos []string
	dash := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || command && len(pos) > 0 {
			pos = append(pos, args[i:]...)
			dash = dash || a == "--"
			break
		}
		if !isFlag(a) {
			dash = dash || strings.HasPrefix(a, "-") && a != "-"
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		if name := strings.TrimLeft(a, "-"); !strings.Contains(name, "=") && flagTakesValue(cmd, name) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	// With --help, urfave/cli would take the first positional argument
	// for a subcommand to explain: the help is the command's own.
	if len(pos) == 0 || slices.ContainsFunc(flags, isHelpFlag) {
		return flags
	}
	if dash && pos[0] != "--" {
		flags = append(flags, "--")
	}
	return append(flags, pos...)
}

// isFlag tells a flag from a positional argument: "-" (standard input) and
// negative numbers ("-5", a JSON argument of chat emit) are positional.
func isFlag(a string) bool {
	return len(a) > 1 && a[0] == '-' && !(a[1] >= '0' && a[1] <= '9') && a != "--"
}

func isHelpFlag(a string) bool { return a == "-h" || a == "--help" || a == "-help" }

// cmdFlag returns cmd's flag called name (or with name as an alias), nil
// if cmd has none.
func cmdFlag(cmd *cli.Command, name string) cli.Flag {
	for _, f := range cmd.Flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// flagTakesValue says whether cmd's flag name reads the next argument as
// its value (every flag but a bool one does).
func flagTakesValue(cmd *cli.Command, name string) bool {
	f := cmdFlag(cmd, name)
	if f == nil {
		return false
	}
	if d, ok := f.(cli.DocGenerationFlag); ok {
		return d.TakesValue()
	}
	return true
}

func isGlobalFlag(a string) bool {
	for _, g := range globalBoolFlags {
		if a == g || strings.HasPrefix(a, g+"=") || a == g[1:] || strings.HasPrefix(a, g[1:]+"=") {
			return true
		}
	}
	return false
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// suggest returns the candidate closest to s, or "" when none is close
// enough to be what the user meant.
func suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editdist.Distance(s, c)
		if strings.HasPrefix(c, s) && len(s) >= 2 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(1, min(3, len(s)/3)) {
		return best
	}
	return ""
}

// commandNames lists the names (and aliases) of the visible commands.
func commandNames(cmds []*cli.Command) []string {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	return names
}

// unknownCommand is the usage error for name not being one of cmds.
func unknownCommand(name, parent string, cmds []*cli.Command) error {
	msg := fmt.Errorf("unknown command %q", name)
	hint := "Run `wiredojo help` for the list of commands."
	if parent != "wiredojo" {
		msg = fmt.Errorf("unknown command %q for %q", name, parent)
		hint = fmt.Sprintf("Run `%s --help` for its commands.", parent)
	}
	if s := suggest(name, commandNames(cmds)); s != "" {
		hint = fmt.Sprintf("Did you mean %q?\n%s", s, hint)
	}
	return &usageError{err: msg, hint: hint}
}

var (
	reUndefinedFlag = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^flag provided but not defined: -+(.+)$`) })
	reInvalidValue  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^invalid value "(.*)" for flag -+([^:]+): (.*)$`) })
	reNumber        = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`) })
)

// flagUsageError rewrites urfave/cli's flag errors for a person: long flags
// with two dashes, a suggestion for a misspelt flag, and what a duration
// looks like.
func flagUsageError(c *cli.Context, err error) error {
	root := c.Command.HelpName == "" || c.Command.HelpName == c.App.Name
	hint := fmt.Sprintf("Run `%s --help` for usage.", c.Command.HelpName)
	flags := c.Command.Flags
	if root {
		hint = "Run `wiredojo --help` for usage."
		flags = c.App.Flags
	}
	msg := err.Error()
	if m := reUndefinedFlag().FindStringSubmatch(msg); m != nil {
		var names []string
		for _, f := range flags {
			names = append(names, f.Names()...)
		}
		names = append(names, "help")
		out := fmt.Errorf("unknown flag %s", dashed(m[1]))
		if root && m[1] == "v" {
			hint = "-v is --verbose, on the commands that have it; the version is --version.\n" + hint
		}
		if s := suggest(m[1], names); s != "" && len(m[1]) > 1 {
			hint = fmt.Sprintf("Did you mean %s?\n%s", dashed(s), hint)
		}
		return &usageError{err: out, hint: hint}
	}
	if m := reInvalidValue().FindStringSubmatch(msg); m != nil {
		value, name := m[1], m[2]
		why := m[3]
		if f := flagNamed(flags, name); f != nil {
			switch f.(type) {
			case *cli.DurationFlag:
				why = "not a duration"
				if reNumber().MatchString(value) {
					why = fmt.Sprintf("a duration needs a unit, e.g. %sms or %ss", value, value)
				}
			case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
				why = "not a whole number"
			case *cli.Float64Flag:
				why = "not a number"
			}
		}
		return &usageError{err: fmt.Errorf("%s %s: %s", dashed(name), value, why), hint: hint}
	}
	return &usageError{err: err, hint: hint}
}

func flagNamed(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// dashed writes a flag name as typed: -v, --verbose.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

var reDefault = regexp.MustCompile(` \(default: [^()]*(\([^()]*\)[^()]*)*\)`)

// flagString wraps urfave/cli's flag stringer so that help shows each
// default once: no "(default: false)" on switches, no "(default: 0s)" or
// empty defaults, and nothing added when the usage text already states its
// default. A flag without a `PLACEHOLDER` gets one from its type.
func flagString(orig cli.FlagStringFunc) cli.FlagStringFunc {
	return func(f cli.Flag) string {
		s := orig(f)
		usage := ""
		if d, ok := f.(cli.DocGenerationFlag); ok {
			usage = d.GetUsage()
		}
		if m := reDefault.FindString(s); m != "" {
			v := strings.TrimSuffix(strings.TrimPrefix(m, " (default: "), ")")
			_, isBool := f.(*cli.BoolFlag)
			if (isBool && v == "false") || v == `""` || v == "0s" || v == "[]" || strings.Contains(usage, "default") {
				s = strings.Replace(s, m, "", 1)
			}
		}
		if p := placeholderFor(f); p != "" {
			for _, n := range f.Names() {
				s = strings.ReplaceAll(s, dashed(n)+" value", dashed(n)+" "+p)
			}
		}
		return s
	}
}

func placeholderFor(f cli.Flag) string {
	switch f.(type) {
	case *cli.DurationFlag:
		return "D"
	case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag, *cli.Float64Flag:
		return "N"
	case *cli.StringFlag, *cli.StringSliceFlag:
		return "VALUE"
	}
	return ""
}

// The help templates: urfave/cli's, with EXAMPLES after the options, and a
// group's USAGE line naming its `command`.
const (
	leafHelpTemplate = `NAME:
   {{template "helpNameTemplate" .}}

USAGE:
   {{template "usageTemplate" .}}{{if .Description}}

DESCRIPTION:
   {{template "descriptionTemplate" .}}{{end}}{{if .VisibleFlagCategories}}

OPTIONS:{{template "visibleFlagCategoryTemplate" .}}{{else if .VisibleFlags}}

OPTIONS:{{template "visibleFlagTemplate" .}}{{end}}
`
	groupHelpTemplate = `NAME:
   {{template "helpNameTemplate" .}}

USAGE:
   {{.HelpName}} command [command options]{{if .ArgsUsage}}
   {{.HelpName}} {{.ArgsUsage}}{{end}}{{if .Description}}

DESCRIPTION:
   {{template "descriptionTemplate" .}}{{end}}

COMMANDS:{{template "visibleCommandTemplate" .}}{{if .VisibleFlags}}

OPTIONS:{{template "visibleFlagTemplate" .}}{{end}}
`
)

// examplesSection renders the EXAMPLES of the command at path ("chat
// serve"), escaped for a template.
func examplesSection(path string) string {
	ex := commandExamples[path]
	if len(ex) == 0 {
		return ""
	}
	width := 0
	for _, e := range ex {
		width = max(width, len(e.cmd))
	}
	var b strings.Builder
	b.WriteString("\nEXAMPLES:\n")
	for _, e := range ex {
		if e.what == "" {
			fmt.Fprintf(&b, "   %s\n", e.cmd)
			continue
		}
		if width > 60 {
			fmt.Fprintf(&b, "   %s\n       %s\n", e.cmd, e.what)
			continue
		}
		fmt.Fprintf(&b, "   %-*s  %s\n", width, e.cmd, e.what)
	}
	return strings.ReplaceAll(b.String(), "{{", `{{"{{"}}`)
}

// prepareCommand gives every command (and subcommand) the usage-error
// handler and its help template, and makes a group called with an unknown
// subcommand a usage error.
func prepareCommand(c *cli.Command, parent string) {
	path := strings.TrimPrefix(parent+" "+c.Name, " ")
	c.OnUsageError = onUsageError
	if len(c.Subcommands) > 0 {
		c.CustomHelpTemplate = groupHelpTemplate + examplesSection(path)
		if c.Action == nil {
			c.Action = func(ctx *cli.Context) error {
				if ctx.Args().Len() > 0 {
					return unknownCommand(ctx.Args().First(), ctx.Command.HelpName, ctx.Command.Subcommands)
				}
				return cli.ShowSubcommandHelp(ctx)
			}
		}
	} else {
		c.CustomHelpTemplate = leafHelpTemplate + examplesSection(path)
	}
	for _, s := range c.Subcommands {
		prepareCommand(s, path)
	}
}

// buildVersion is the version printed by --version and `wiredojo version`.
func buildVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(version, bi)
}

// versionOf picks the version of a build: the one set at link time (make
// build and make install set it from git describe), else the module version
// of `go install ...@version`, else the VCS revision go build stamped.
func versionOf(linked string, bi *debug.BuildInfo) string {
	if linked != "dev" || bi == nil {
		return linked
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return linked
	}
	v := "devel " + rev[:min(12, len(rev))]
	if dirty {
		v += "+dirty"
	}
	if when != "" {
		v += " " + when
	}
	return v
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, the Go version and the build's VCS revision",
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usagef("version takes no arguments, got %q", c.Args().First())
			}
			fmt.Fprintf(c.App.Writer, "wiredojo %s\n", buildVersion())
			if bi, ok := debug.ReadBuildInfo(); ok {
				fmt.Fprintf(c.App.Writer, "built with %s\n", bi.GoVersion)
				keys := []string{}
				set := map[string]string{}
				for _, s := range bi.Settings {
					if strings.HasPrefix(s.Key, "vcs.") {
						keys = append(keys, s.Key)
						set[s.Key] = s.Value
					}
				}
				sort.Strings(keys)
				for _, k := range keys {
					fmt.Fprintf(c.App.Writer, "%s=%s\n", k, set[k])
				}
			}
			return nil
		},
	}
}
