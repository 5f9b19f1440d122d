package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

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

// TestReportHints pins that report adds the CLI's hint to each library
// error it knows, however deeply the error is wrapped, and to no other.
func TestReportHints(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("outer context: %w", err) }
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&framing.TooLargeError{Len: 9, Max: 4}, "(raise the limit with --max-frame)"},
		{link.ErrPrivilege, "run it inside `wiredojo sandbox --` (after `wiredojo sandbox start`), with sudo, or use `compare --link none`"},
		{link.ErrExists, "run `wiredojo link down` first or pick another --name"},
		{udpio.ErrNoDestination, "give an address, --broadcast or --group"},
		{fmt.Errorf("udpio: send to x: %w: %w", udpio.ErrBroadcastOff, syscall.EACCES), "(a broadcast address needs --broadcast)"},
		{fmt.Errorf("%w 239.1.1.1: %w", udpio.ErrJoin, syscall.ENODEV), "try --iface)"},
		{fmt.Errorf("permission denied opening lo: %w", source.ErrPermission), "live capture needs root or CAP_NET_RAW; run it inside `wiredojo sandbox --` (after `wiredojo sandbox start`), with sudo, or read a file"},
		{fmt.Errorf("%w 7 in this capture", analysis.ErrNoStream), "; see --stats"},
		{fmt.Errorf("%w: no $HOME", storeopen.ErrNoDefaultPath), "; pass --store bolt:PATH"},
		{fmt.Errorf("%w: Redis at x: refused", store.ErrUnreachable), "(is redis-server running?)"},
		{&tcpchat.DialError{Addr: "127.0.0.1:1", Err: syscall.ECONNREFUSED}, "(is `wiredojo chat serve` running there?)"},
		{&tcpchat.DialError{Addr: "socketio://127.0.0.1:1", Err: fmt.Errorf("%w: open packet without ping timings", client.ErrProtocol)}, "(is it a Socket.IO server?"},
		{&tcpchat.DialError{Addr: "127.0.0.1:1", Err: fmt.Errorf("tls handshake: %w", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}})}, "(a self-signed server: trust its certificate with --tls-ca FILE)"},
		{fmt.Errorf("%w: %w", tcpchat.ErrHandshake, &tcpchat.ServerError{Code: wire.CodeUnauthorized, Reason: "token refused"}), "(give the server's --token)"},
	} {
		for _, err := range []error{tc.err, wrap(tc.err)} {
			var b bytes.Buffer
			if code := report(nil, err, &b); code != exitRuntime {
				t.Errorf("report(%v) = exit %d, want %d", err, code, exitRuntime)
			}
			if out := b.String(); !strings.Contains(out, tc.want) || strings.Count(out, "\n") != 1 {
				t.Errorf("report(%v) printed %q, want one line containing %q", err, out, tc.want)
			}
		}
	}
	var b bytes.Buffer
	report(nil, &tcpchat.ServerError{Code: wire.CodeBadPacket, Reason: "bad"}, &b)
	report(nil, errors.New("plain"), &b)
	if out := b.String(); strings.Contains(out, "--") || strings.Contains(out, "(is ") {
		t.Errorf("report added a hint to errors that have none: %q", out)
	}
}

// TestFrameTooLargeHintPerCommand: a frame over the bound is told to raise
// --max-frame by every command that has the flag, chat serve and the chat
// client commands (listen, emit, client: their bound is on what the server
// sends), and by no other (compare's receiver has none). Before, chat
// listen, emit and client were told to use a flag they did not have.
func TestFrameTooLargeHintPerCommand(t *testing.T) {
	const hint = "(raise the limit with --max-frame)"
	err := fmt.Errorf("chat emit: %w", &framing.TooLargeError{Len: 2 << 20, Max: 1 << 20})
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	for _, path := range [][]string{{"chat", "serve"}, {"chat", "listen"}, {"chat", "emit"}, {"chat", "client"}, {"compare"}} {
		cmds, cmd := app.Commands, (*cli.Command)(nil)
		for _, name := range path {
			if cmd = findCommand(cmds, name); cmd == nil {
				t.Fatalf("no command %q", path)
			}
			cmds = cmd.Subcommands
		}
		var b bytes.Buffer
		report(cmd, err, &b)
		has := cmdFlag(cmd, "max-frame") != nil
		if got := strings.Contains(b.String(), hint); got != has || has != (path[0] == "chat") {
			t.Errorf("%q (has --max-frame: %v) printed %q: want the hint %q from the chat commands alone, each with the flag", path, has, b.String(), hint)
		}
	}
}

// TestChatEmitMaxFrame: chat emit's --max-frame bounds what the server
// sends: an echo's ack over it ends the emit with the hint to raise it, and
// raised, the same emit gets its ack.
func TestChatEmitMaxFrame(t *testing.T) {
	addr := chatServer(t)
	arg := `"` + strings.Repeat("x", 2000) + `"`
	code, _, stderr := chatRun(t, "", "chat", "emit", "--addr", addr, "--event", "echo", "--ack", "--max-frame", "1024", arg)
	if code != exitRuntime || !strings.Contains(stderr, "exceeds the limit of 1024 bytes (raise the limit with --max-frame)") {
		t.Fatalf("an ack over --max-frame 1024: exit %d, stderr %q; want %d, the bound and the hint", code, stderr, exitRuntime)
	}
	code, stdout, stderr := chatRun(t, "", "chat", "emit", "--addr", addr, "--event", "echo", "--ack", "--max-frame", "4096", arg)
	if code != 0 || !strings.Contains(stdout, "ack ["+arg+"]") {
		t.Fatalf("the same ack under --max-frame 4096: exit %d, stdout %q, stderr %q; want its ack", code, stdout, stderr)
	}
	if code, _, stderr := chatRun(t, "", "chat", "listen", "--addr", addr, "--max-frame", "63"); code != exitUsage || !strings.Contains(stderr, "--max-frame 63 is too small") {
		t.Fatalf("chat listen --max-frame 63: exit %d, stderr %q; want %d, too small", code, stderr, exitUsage)
	}
}

// TestLibraryErrorsNameNoFlags fails if an error message built in a library
// package (errors.New or fmt.Errorf outside cmd/ and the tests) names a
// command-line flag: flags belong to the CLI, which adds them as hints in
// report. labs is left out: its exercises are about the CLI.
func TestLibraryErrorsNameNoFlags(t *testing.T) {
	root := filepath.Join("..", "..")
	skip := map[string]bool{"cmd": true, "labs": true, "bench": true, "testdata": true, ".git": true}
	flag := regexp.MustCompile(`--[a-zA-Z]`)
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			if skip[strings.Split(filepath.ToSlash(rel), "/")[0]] || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files++
		check := func(lit *ast.BasicLit) {
			if s, err := strconv.Unquote(lit.Value); err == nil && flag.MatchString(s) {
				t.Errorf("%s: library error names a flag: %q (say it in the library's terms; add the flag as a hint in report)", fset.Position(lit.Pos()), s)
			}
		}
		for _, decl := range f.Decls {
			// Every string in an Error method is part of an error message.
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Recv != nil && fd.Name.Name == "Error" {
				ast.Inspect(fd, func(n ast.Node) bool {
					if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						check(lit)
					}
					return true
				})
				continue
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				pkg, ok := sel.X.(*ast.Ident)
				if !ok || !(pkg.Name == "errors" && sel.Sel.Name == "New" || pkg.Name == "fmt" && sel.Sel.Name == "Errorf") {
					return true
				}
				if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					check(lit)
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("walked only %d library .go files from %s; the walk is broken", files, root)
	}
}
