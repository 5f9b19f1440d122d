package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompareCLI(t *testing.T) {
	html := filepath.Join(t.TempDir(), "r.html")
	code, out, errs := udpRunCLI(context.Background(), "--no-color", "compare", "--count", "300", "--size", "100", "--rate", "2000",
		"--loss", "5%", "--delay", "10ms", "--jitter", "2ms", "--link", "none", "--report", html)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	for _, want := range []string{"TCP", "UDP", "delivered", "head-of-line blocking", "latency distribution", "report written to"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	page, err := os.ReadFile(html)
	if err != nil || !strings.Contains(string(page), "<svg") {
		t.Fatalf("report: %v", err)
	}
	code, out, errs = udpRunCLI(context.Background(), "compare", "--count", "100", "--rate", "2000", "--link", "none", "--json")
	if code != 0 {
		t.Fatalf("--json exit %d: %s", code, errs)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if _, ok := m["tcp"]["hol_blocking_ms"]; !ok || m["udp"]["sent"] != float64(100) {
		t.Errorf("json %s", out)
	}
	for _, args := range [][]string{{"compare", "--size", "8"}, {"compare", "--link", "wormhole"}, {"compare", "--loss", "7"}, {"compare", "--rate", "0"}} {
		if code, _, _ := udpRunCLI(context.Background(), args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
