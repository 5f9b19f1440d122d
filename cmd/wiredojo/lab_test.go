package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lab reset N resets lab N only: it needs --yes when it cannot ask, and
// removes the lab's files so its check fails again; other labs keep theirs.
func TestLabResetOneLab(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("WIREDOJO_LAB_DIR", "")
	labs := filepath.Join(state, "wiredojo", "labs")
	nine, three := filepath.Join(labs, "09-osi-tcpip"), filepath.Join(labs, "03-events")
	for _, d := range []string{nine, three} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	answers := "Ethernet: 2 link\nIPv4: 3 internet\nTCP: 4 transport\nUDP: 4 transport\nHTTP: 7 application\nWebSocket: 7 application\n"
	if err := os.WriteFile(filepath.Join(nine, "answers.txt"), []byte(answers), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(three, "ack.txt"), []byte(`"ping"`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, e := chatRun(t, "", "lab", "check", "9"); code != 0 {
		t.Fatalf("lab check 9 before the reset: exit %d\n%s%s", code, out, e)
	}
	if code, out, e := chatRun(t, "y\n", "lab", "reset", "9"); code != exitUsage || !strings.Contains(e, "--yes") {
		t.Fatalf("lab reset 9 without a terminal and without --yes: exit %d, want 2 and a word on --yes\n%s%s", code, out, e)
	}
	if _, err := os.Stat(filepath.Join(nine, "answers.txt")); err != nil {
		t.Fatalf("the refused reset removed files: %v", err)
	}
	if code, out, e := chatRun(t, "", "lab", "reset", "--yes", "9"); code != 0 || !strings.Contains(out, "lab 9 reset") {
		t.Fatalf("lab reset 9 --yes: exit %d\n%s%s", code, out, e)
	}
	// The folder stays, empty: a text's first step may write into it
	// (lab 10's tee, lab 4's accept.txt) before any lab command runs.
	if ents, err := os.ReadDir(nine); err != nil || len(ents) != 0 {
		t.Fatalf("lab 9's folder after its reset: %v, %d entries; want it there and empty", err, len(ents))
	}
	b, _ := os.ReadFile(filepath.Join(state, "wiredojo", "progress.json"))
	if strings.Contains(string(b), `"9"`) {
		t.Fatalf("lab 9's progress survived its reset: %s", b)
	}
	if code, out, e := chatRun(t, "", "lab", "check", "9"); code != exitRuntime || !strings.Contains(out, "answers.txt is missing") {
		t.Fatalf("lab check 9 after the reset: exit %d, want 1 and answers.txt missing\n%s%s", code, out, e)
	}
	if _, err := os.Stat(filepath.Join(three, "ack.txt")); err != nil {
		t.Fatalf("lab reset 9 touched lab 3: %v", err)
	}
	// Flags after the number are read too (urfave/cli alone stops at it).
	if err := os.WriteFile(filepath.Join(nine, "answers.txt"), []byte(answers), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, e := chatRun(t, "", "lab", "reset", "9", "--yes"); code != 0 || !strings.Contains(out, "lab 9 reset") {
		t.Fatalf("lab reset 9 --yes: exit %d, want 0 and a reset\n%s%s", code, out, e)
	}
	if _, err := os.Stat(filepath.Join(nine, "answers.txt")); err == nil {
		t.Fatal("lab reset 9 --yes left answers.txt")
	}
	if code, _, e := chatRun(t, "", "lab", "reset", "9", "--bogus"); code != exitUsage || !strings.Contains(e, "bogus") {
		t.Fatalf("lab reset 9 --bogus: exit %d, want 2 naming the flag: %s", code, e)
	}
	if code, _, e := chatRun(t, "", "lab", "reset"); code != exitUsage {
		t.Fatalf("lab reset without N: exit %d %s", code, e)
	}
}
