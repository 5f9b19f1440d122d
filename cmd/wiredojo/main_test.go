package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestExitStatusAndHelp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		out  string // in stdout or stderr
	}{
		{"help", []string{"help"}, exitOK, "COMMANDS:"},
		{"group help", []string{"chat", "--help"}, exitOK, "serve"},
		{"subcommand help", []string{"capture", "read", "--help"}, exitOK, "--filter"},
		{"unknown command", []string{"bogus"}, exitUsage, `unknown command "bogus"`},
		{"unknown subcommand", []string{"lab", "bogus"}, exitUsage, `unknown command "bogus"`},
		{"unknown flag", []string{"chat", "emit", "--bogus"}, exitUsage, "unknown flag --bogus"},
		{"bad argument", []string{"completion", "fish"}, exitUsage, "choose bash or zsh"},
		{"completion", []string{"completion", "bash"}, exitOK, "complete -o bashdefault"},
		{"lab without number", []string{"lab", "check"}, exitUsage, "needs one lab number"},
		{"runtime error", []string{"capture", "read", "/nonexistent/file.pcap"}, exitRuntime, "file.pcap"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := chatRun(t, "", tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
			}
			if !strings.Contains(out+errs, tc.out) {
				t.Fatalf("output lacks %q\nstdout: %s\nstderr: %s", tc.out, out, errs)
			}
		})
	}
}

func TestNoColorWhenNotATerminal(t *testing.T) {
	// Without --no-color or NO_COLOR, a buffer (not a terminal) still gets
	// no escape sequences.
	t.Setenv("NO_COLOR", "")
	os.Unsetenv("NO_COLOR")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"wiredojo", "lab", "list"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Fatalf("colour escape in non-terminal output: %q", out.String())
	}
}

// eachCommand calls f with the path (["chat", "serve"]) of every command and
// subcommand but urfave/cli's own help.
func eachCommand(t *testing.T, f func(path []string, c *cli.Command)) {
	t.Helper()
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Name == "help" {
				continue
			}
			p := append(append([]string{}, prefix...), c.Name)
			f(p, c)
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp(strings.NewReader(""), io.Discard, io.Discard).Commands)
}

func TestHelpOfGroupsAndSubcommands(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"help", "chat"}, []string{"USAGE:\n   wiredojo chat command [command options]", "COMMANDS:", "serve ", "listen ", "queue "}},
		{[]string{"help", "chat", "serve"}, []string{"wiredojo chat serve - run a chat server", "--store", "EXAMPLES:"}},
		{[]string{"chat", "help", "serve"}, []string{"wiredojo chat serve - run a chat server"}},
		{[]string{"help", "chat", "queue", "peek"}, []string{"wiredojo chat queue peek [command options] CLIENT-ID"}},
		{[]string{"help"}, []string{"USAGE:\n   wiredojo [global options] command", "EXAMPLES:"}},
		{[]string{"capture", "--help"}, []string{"wiredojo capture command [command options]", "read "}},
		{[]string{"help", "sandbox"}, []string{"wiredojo sandbox command [command options]\n   wiredojo sandbox [-- COMMAND [ARG...]]"}},
	} {
		code, out, errs := chatRun(t, "", tc.args...)
		if code != exitOK {
			t.Errorf("%v: exit %d: %s", tc.args, code, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
}

func TestUsageErrorsSayWhatWasMeant(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		want     []string
		wantCode int
	}{
		{[]string{"chta"}, []string{`unknown command "chta"`, `Did you mean "chat"?`}, exitUsage},
		{[]string{"chat", "serv"}, []string{`unknown command "serv" for "wiredojo chat"`, `Did you mean "serve"?`}, exitUsage},
		{[]string{"help", "chat", "serv"}, []string{`Did you mean "serve"?`}, exitUsage},
		{[]string{"chat", "emit", "--evnt", "x"}, []string{"unknown flag --evnt", "Did you mean --event?"}, exitUsage},
		{[]string{"udp", "send", "--to", "127.0.0.1:9", "--delay", "10"}, []string{"--delay 10: a duration needs a unit, e.g. 10ms"}, exitUsage},
		{[]string{"demo", "--pace", "soon"}, []string{"--pace soon: not a duration"}, exitUsage},
		{[]string{"-v"}, []string{"unknown flag -v", "the version is --version"}, exitUsage},
	} {
		code, out, errs := chatRun(t, "", tc.args...)
		if code != tc.wantCode {
			t.Errorf("%v: exit %d, want %d: %s", tc.args, code, tc.wantCode, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%v: stderr lacks %q:\nstdout: %s\nstderr: %s", tc.args, w, out, errs)
			}
		}
	}
}

func TestGlobalFlagAfterTheSubcommand(t *testing.T) {
	for _, args := range [][]string{
		{"wiredojo", "lab", "list", "--no-color"},
		{"wiredojo", "lab", "--no-color", "list"},
		{"wiredojo", "--no-color", "lab", "list"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, strings.NewReader(""), &out, &errb); code != exitOK {
			t.Errorf("%v: exit %d: %s", args, code, errb.String())
		}
	}
}

func TestMessagesForAPerson(t *testing.T) {
	for in, want := range map[string]string{
		"--loss: impair: bad value: \"200%\" is not between 0% and 100%": "wiredojo: --loss: \"200%\" is not between 0% and 100%",
		"wiredojo lab run 1 stopped at once":                             "wiredojo lab run 1 stopped at once",
		"link: no link with this name is up":                             "wiredojo: no link with this name is up",
		"dial tcp 127.0.0.1:9: connection refused":                       "wiredojo: dial tcp 127.0.0.1:9: connection refused",
	} {
		if got := forPerson(in); got != want {
			t.Errorf("forPerson(%q) = %q, want %q", in, got, want)
		}
	}
	// And through the CLI: a library's bad value.
	_, _, errs := chatRun(t, "", "udp", "send", "--to", "127.0.0.1:9", "--count", "1", "--loss", "200%")
	if strings.Contains(errs, "impair:") || !strings.Contains(errs, "200%") {
		t.Errorf("stderr names the package or lacks the value: %s", errs)
	}
}

func TestHelpShowsEachDefaultOnce(t *testing.T) {
	eachCommand(t, func(path []string, c *cli.Command) {
		_, out, _ := chatRun(t, "", append(path, "--help")...)
		for _, line := range strings.Split(out, "\n") {
			if strings.Count(line, "default") > 1 && strings.Contains(line, "(default:") {
				t.Errorf("%s: default stated twice: %s", strings.Join(path, " "), line)
			}
			for _, noise := range []string{"(default: false)", `(default: "")`, "(default: 0s)"} {
				if strings.Contains(line, noise) {
					t.Errorf("%s: %s in %s", strings.Join(path, " "), noise, line)
				}
			}
			if strings.Contains(line, " value ") && strings.HasPrefix(strings.TrimSpace(line), "--") {
				t.Errorf("%s: flag without a placeholder: %s", strings.Join(path, " "), line)
			}
		}
	})
}

func TestVerboseIsTheOnlyDashV(t *testing.T) {
	for _, n := range cli.VersionFlag.Names() {
		if n == "v" {
			t.Errorf("-v is the version flag")
		}
	}
	eachCommand(t, func(path []string, c *cli.Command) {
		for _, f := range c.Flags {
			for _, n := range f.Names() {
				if n == "v" && f.Names()[0] != "verbose" {
					t.Errorf("%s: -v is --%s", strings.Join(path, " "), f.Names()[0])
				}
			}
		}
	})
}

func TestEveryCommandHasExamples(t *testing.T) {
	seen := map[string]bool{}
	eachCommand(t, func(path []string, c *cli.Command) {
		key := strings.Join(path, " ")
		seen[key] = true
		ex := commandExamples[key]
		if len(ex) == 0 {
			t.Errorf("%q has no examples: add them to commandExamples in examples.go", key)
			return
		}
		_, out, _ := chatRun(t, "", append(path, "--help")...)
		if !strings.Contains(out, "\nEXAMPLES:\n") {
			t.Errorf("%s --help has no EXAMPLES section:\n%s", key, out)
		}
		for _, l := range strings.Split(c.Description, "\n") {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, "Example") || strings.HasPrefix(l, "wiredojo ") || strings.HasPrefix(l, "sudo wiredojo ") {
				t.Errorf("%s: an example in the description (%q); keep examples in commandExamples only", key, l)
			}
		}
		for _, e := range ex {
			checkExample(t, key, c, e.cmd)
		}
	})
	for key := range commandExamples {
		if key != "" && !seen[key] {
			t.Errorf("commandExamples has %q, which is no command", key)
		}
	}
	for _, e := range commandExamples[""] {
		if !strings.HasPrefix(e.cmd, "wiredojo ") {
			t.Errorf("top-level example %q does not run wiredojo", e.cmd)
		}
	}
}

// checkExample checks that an example runs the command it illustrates (or,
// for a group, one of its subcommands) with flags that command defines.
func checkExample(t *testing.T, key string, c *cli.Command, line string) {
	t.Helper()
	i := strings.Index(line, "wiredojo ")
	if i < 0 {
		t.Errorf("%s: example %q does not run wiredojo", key, line)
		return
	}
	words := strings.Fields(strings.Trim(line[i:], ")"))[1:]
	if words[0] == "help" {
		words = words[1:]
	}
	want := strings.Fields(key)
	if len(words) < len(want) || strings.Join(words[:len(want)], " ") != key {
		t.Errorf("%s: example %q runs another command", key, line)
		return
	}
	target, rest := c, words[len(want):]
	for len(rest) > 0 && len(target.Subcommands) > 0 && rest[0] != "--" {
		s := findCommand(target.Subcommands, rest[0])
		if s == nil {
			t.Errorf("%s: example %q: no subcommand %q", key, line, rest[0])
			return
		}
		target, rest = s, rest[1:]
	}
	for _, w := range rest {
		if w == "--" {
			break // what follows is another program's command line
		}
		if !strings.HasPrefix(w, "-") || w == "-" {
			continue
		}
		name := strings.SplitN(strings.TrimLeft(w, "-"), "=", 2)[0]
		if flagNamed(target.Flags, name) == nil {
			t.Errorf("%s: example %q uses %s, which %s does not define", key, line, w, target.Name)
		}
	}
}

func TestVersionOfABuild(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "22038e79f1c6ff40edaf603172f95bb434f91edd"}, {Key: "vcs.time", Value: "2026-12-04T15:25:05Z"}, {Key: "vcs.modified", Value: "true"}}
	for _, tc := range []struct {
		linked string
		bi     *debug.BuildInfo
		want   string
	}{
		{"v1.4.0", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "v1.4.0"},
		{"dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.3.0"}}, "v1.3.0"},
		{"dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs}, "devel 22038e79f1c6+dirty 2026-12-04T15:25:05Z"},
		{"dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
	} {
		if got := versionOf(tc.linked, tc.bi); got != tc.want {
			t.Errorf("versionOf(%q, %+v) = %q, want %q", tc.linked, tc.bi.Main, got, tc.want)
		}
	}
	old := version
	version = "v9.8.7"
	t.Cleanup(func() { version = old })
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, errs := chatRun(t, "", args...)
		if code != exitOK || !strings.Contains(out, "v9.8.7") {
			t.Errorf("wiredojo %v: exit %d, %q %s", args, code, out, errs)
		}
	}
}

// TestOneNamePerConcept: a flag's placeholder names its concept the same
// way in every command: an address to listen on or dial is HOST:PORT, an
// interface IFACE, a client id CLIENT-ID (chat emit's --to included), a
// file to write FILE (--write: tcp send's bytes are --data), a run of udp
// send ID, a duration D, and no value is left as urfave/cli's bare
// VALUE or a placeholder X.
func TestOneNamePerConcept(t *testing.T) {
	eachCommand(t, func(path []string, c *cli.Command) {
		_, out, _ := chatRun(t, "", append(path, "--help")...)
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) < 2 || !strings.HasPrefix(f[0], "--") {
				continue
			}
			name, ph := strings.TrimSuffix(f[0], ","), strings.TrimSuffix(f[1], ",")
			want, ok := map[string]string{"--addr": "HOST:PORT", "--to": "HOST:PORT", "--iface": "IFACE", "--client-id": "CLIENT-ID", "--write": "FILE", "--run-id": "ID"}[name]
			if name == "--to" && strings.Join(path, " ") == "chat emit" {
				want = "CLIENT-ID" // chat emit --durable --to queues for a client, not an address
			}
			if ok && ph != want {
				t.Errorf("%s: %s %s, want %s %s", strings.Join(path, " "), name, ph, name, want)
			}
			// Every value is named (urfave/cli's default says VALUE), and a
			// duration is D everywhere.
			if ph == "VALUE" || ph == "DURATION" || ph == "X" {
				t.Errorf("%s: %s %s, want a placeholder that names the value (a duration is D)", strings.Join(path, " "), name, ph)
			}
		}
	})
}

// TestDescriptionsAreFilled: no line of a description is cut short in the
// middle of a paragraph: a line shorter than half the widest, not ending a
// sentence, followed by more of the paragraph, is a reflow gone wrong
// (sandbox --help had "It cannot reach this" alone on a line).
func TestDescriptionsAreFilled(t *testing.T) {
	eachCommand(t, func(path []string, c *cli.Command) {
		lines := strings.Split(c.Description, "\n")
		width := 0
		for _, l := range lines {
			width = max(width, len([]rune(l)))
		}
		for i := 0; i+1 < len(lines); i++ {
			cur, next := lines[i], lines[i+1]
			if strings.TrimSpace(cur) == "" || strings.HasPrefix(cur, " ") || next == "" || strings.HasPrefix(next, " ") || strings.HasPrefix(next, "\t") || strings.HasPrefix(next, "-") {
				continue // a paragraph's end, an indented or listed line
			}
			if strings.HasSuffix(cur, ".") || strings.HasSuffix(cur, ":") {
				continue // a sentence may end a line on purpose
			}
			if first := strings.Fields(next)[0]; 2*len([]rune(cur)) < width && len([]rune(cur))+1+len([]rune(first)) <= width {
				t.Errorf("%s: description line %d %q could take %q from the next line", strings.Join(path, " "), i+1, cur, first)
			}
		}
	})
}
