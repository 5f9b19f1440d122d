package repocheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docRef matches a cited document: an upper-case Markdown file name
// (README.md, PROTOCOL.md, ARCHITECTURE.md), with the path before it if any.
var docRef = regexp.MustCompile(`(?:[A-Za-z0-9_.-]+/)*[A-Z][A-Z0-9_]*\.md`)

// scanned is which files may cite documents: code, help text, scripts,
// pages and the documents themselves.
var scanned = map[string]bool{".go": true, ".md": true, ".sh": true, ".js": true, ".html": true, "": true}

// repoFiles lists the files git knows (tracked, and new ones not ignored),
// relative to the repository root.
func repoFiles(t *testing.T) (root string, files []string) {
	t.Helper()
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse --show-toplevel: %v (the check reads the repository with git)", err)
	}
	root = strings.TrimSpace(string(out))
	cmd := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f == "" || strings.Contains(f, "node_modules/") || strings.HasPrefix(f, "bench/") && strings.Contains(f, "/vendor/") {
			continue
		}
		files = append(files, f)
	}
	return root, files
}

// TestCitedDocumentsExist fails when code, help text, a script or a
// document names a document (docs/PROTOCOL.md, ARCHITECTURE.md, ...) that
// the repository does not have: a bare name is looked for beside the citing
// file, at the root and in docs/; a path from the citing file's folder or
// from the root.
func TestCitedDocumentsExist(t *testing.T) {
	root, files := repoFiles(t)
	have := make(map[string]bool, len(files))
	for _, f := range files {
		have[f] = true
	}
	checked := 0
	for _, f := range files {
		base := filepath.Base(f)
		ext := filepath.Ext(base)
		if !scanned[ext] || ext == "" && base != "Makefile" || strings.HasPrefix(f, "internal/repocheck/") {
			continue // this package's own tests cite missing documents on purpose
		}
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the working tree, not yet in the index
			}
			t.Fatal(err)
		}
		for i, line := range bytes.Split(data, []byte("\n")) {
			for _, m := range docRef.FindAll(line, -1) {
				ref := string(m)
				checked++
				if !resolves(have, filepath.Dir(f), ref) {
					t.Errorf("%s:%d cites %s, which the repository does not have", f, i+1, ref)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no document citations found: the scan is broken")
	}
	t.Logf("%d citations in %d files checked", checked, len(files))
}

func resolves(have map[string]bool, dir, ref string) bool {
	ref = strings.TrimPrefix(ref, "./")
	cands := []string{filepath.Join(dir, ref), ref}
	if !strings.Contains(ref, "/") {
		cands = append(cands, filepath.Join("docs", ref))
	}
	for _, c := range cands {
		if have[filepath.Clean(c)] {
			return true
		}
	}
	return false
}

func TestResolves(t *testing.T) {
	have := map[string]bool{"docs/PROTOCOL.md": true, "README.md": true, "testdata/captures/README.md": true}
	for _, c := range []struct {
		dir, ref string
		want     bool
	}{
		{"tcpchat", "docs/PROTOCOL.md", true},
		{"tcpchat", "PROTOCOL.md", true},
		{"docs", "PROTOCOL.md", true},
		{"cmd/wiredojo", "README.md", true},
		{"testdata/captures", "README.md", true},
		{"capture", "DESIGN.md", false},
		{"docs", "docs/NOPE.md", false},
	} {
		if got := resolves(have, c.dir, c.ref); got != c.want {
			t.Errorf("resolves(%q, %q) = %v, want %v", c.dir, c.ref, got, c.want)
		}
	}
}
