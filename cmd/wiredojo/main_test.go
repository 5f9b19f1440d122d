package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
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
		{"unknown flag", []string{"chat", "emit", "--bogus"}, exitUsage, "flag provided but not defined"},
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
