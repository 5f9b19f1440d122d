// Package testdep lets tests require an external program (tshark, redis-server,
// chromium, iperf3, node, ...). It owns the rule the project follows for test
// dependencies: under CI=true a missing dependency fails the test; elsewhere the
// test is skipped with a message naming the package to install (`make test`
// installs them when run as root). It owns nothing else.
package testdep

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where a missing
// dependency is a failure, never a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require returns the path of program, or stops the test: t.Fatal under CI,
// t.Skip elsewhere. install names what provides it (a Debian package, or a
// command to run). In the quick pass (`make check`: go test -short, outside
// CI) a test that needs an external program is skipped even when it is
// installed, and says so: the full `make test` runs it.
func Require(t testing.TB, program, install string) string {
	t.Helper()
	if testing.Short() && !InCI() {
		t.Skipf("quick pass (-short): this test needs %s; make test runs it", program)
	}
	p, err := exec.LookPath(program)
	if err == nil {
		return p
	}
	Missing(t, program+" not found on PATH; install it with: "+install)
	return ""
}

// Missing stops the test because something it needs is absent: t.Fatal under
// CI, t.Skip elsewhere.
func Missing(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("missing test dependency (CI=true makes this a failure): %s", why)
	}
	t.Skipf("SKIP, missing test dependency: %s (make test installs it as root)", why)
}

// RequireRoot stops the test unless it runs as root (network namespaces, TUN
// devices and live capture need it).
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "this test needs root (network namespaces, TUN or raw sockets)")
	}
}

// NodeDir returns the absolute path of the repository's testdata/node, or
// stops the test (as Missing does) when node or one of the npm packages
// pinned there is not installed. scripts/deps.sh installs them.
func NodeDir(t testing.TB, packages ...string) string {
	t.Helper()
	Require(t, "node", "apt-get install nodejs")
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testdep: no go.mod above the test's directory")
		}
		dir = parent
	}
	dir = filepath.Join(dir, "testdata", "node")
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", p, "package.json")); err != nil {
			Missing(t, "the npm package "+p+" in testdata/node; run `npm install` there (make test does it)")
		}
	}
	return dir
}

// DebianPython returns Debian's python3 (/usr/bin/python3, whatever python3
// comes first on PATH) when it can import module, or stops the test (as
// Missing does) naming the Debian packages to install. Scripts run with it
// should get -I, so that a directory of the test's named like the module
// does not shadow it.
func DebianPython(t testing.TB, module, packages string) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-I", "-c", "import "+module).Run(); err != nil {
		Missing(t, "Debian's python3 module "+module+" (apt-get install "+packages+"; make test does it)")
	}
	return py
}
