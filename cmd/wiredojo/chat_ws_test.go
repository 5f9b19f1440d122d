package main

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/internal/testkit"
)

// writeSelfSigned writes a certificate for 127.0.0.1 and its key as PEM
// files and returns their paths.
func writeSelfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	der, key := testkit.SelfSigned(t)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestChatOverWebSocketAndTLS: one `chat serve --tls-cert --tls-key
// --plaintext` port;
// a plain framed client, a --ws client, a wss:// client and a framed TLS
// client talk in one room.
func TestChatOverWebSocketAndTLS(t *testing.T) {
	cert, key := writeSelfSigned(t)
	out, _, stop := chatStart(t, strings.NewReader(""), "chat", "serve", "--addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key, "--plaintext", "--origin", "*.example.com")
	addr := chatWaitFor(t, "serve", out, regexp.MustCompile(`serving on (\S+)`))
	chatWaitFor(t, "serve", out, regexp.MustCompile(`(browser page at https://\S+/ .*TLS on the same port.*plaintext accepted too)`))
	t.Cleanup(func() {
		if code := stop(); code != 0 {
			t.Errorf("chat serve exited with %d", code)
		}
	})

	type listener struct {
		name string
		out  *testkit.Buffer
		in   *io.PipeWriter
	}
	var ls []listener
	for _, c := range []struct{ name, how string }{
		{"bob", "--ws"},
		{"cy", "--tls"},
		{"dee", "wss"},
	} {
		args := []string{"chat", "client", "--addr", addr, "--name", c.name, "--room", "lobby"}
		switch c.how {
		case "--ws":
			args = append(args, "--ws")
		case "--tls":
			args = append(args, "--tls-ca", cert)
		case "wss":
			args[3] = "wss://" + addr + "/ws"
			args = append(args, "--tls-ca", cert)
		}
		in, w := io.Pipe()
		t.Cleanup(func() { w.Close() })
		o, _, _ := chatStart(t, in, args...)
		chatWaitFor(t, c.name, o, regexp.MustCompile(`(connected)`))
		io.WriteString(w, "/ack echo \"ready\"\n") // the join went first
		chatWaitFor(t, c.name, o, regexp.MustCompile(`ack (\["ready"\])`))
		ls = append(ls, listener{c.name, o, w})
	}

	code, stdout, stderr := chatRun(t, "/join lobby\nhello all\n/quit\n", "chat", "client", "--addr", addr, "--name", "ann")
	if code != 0 {
		t.Fatalf("ann: %d %s %s", code, stdout, stderr)
	}
	for _, l := range ls {
		chatWaitFor(t, l.name, l.out, regexp.MustCompile(`(ann \[lobby\]: hello all)`))
	}
	io.WriteString(ls[2].in, "over wss\n")
	for _, l := range ls[:2] {
		chatWaitFor(t, l.name, l.out, regexp.MustCompile(`(dee \[lobby\]: over wss)`))
	}
}

// TestChatEmitListenOverTLS: `chat listen` and `chat emit` reach a TLS-only
// server with --tls-ca (framed TLS and wss://), as `chat client` does.
func TestChatEmitListenOverTLS(t *testing.T) {
	cert, key := writeSelfSigned(t)
	out, _, stop := chatStart(t, strings.NewReader(""), "chat", "serve", "--addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key)
	addr := chatWaitFor(t, "serve", out, regexp.MustCompile(`serving on (\S+)`))
	t.Cleanup(func() {
		if code := stop(); code != 0 {
			t.Errorf("chat serve exited with %d", code)
		}
	})
	lo, le, _ := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", addr, "--tls-ca", cert, "--room", "lobby")
	chatWaitFor(t, "listen", le, regexp.MustCompile(`(listening on /chat room lobby)`))
	wo, we, _ := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", addr, "--ws", "--tls-ca", cert, "--room", "lobby")
	chatWaitFor(t, "listen --ws", we, regexp.MustCompile(`(listening on /chat room lobby at wss://)`))

	for _, how := range [][]string{{"--tls-ca", cert}, {"--ws", "--tls-ca", cert}} {
		text := "hi over " + strings.Join(how[:len(how)-2], "") + "tls"
		args := append([]string{"chat", "emit", "--addr", addr, "--room", "lobby", "--event", "message", `{"text":"` + text + `"}`}, how...)
		if code, stdout, stderr := chatRun(t, "", args...); code != 0 {
			t.Fatalf("%q: exit %d %s %s", args, code, stdout, stderr)
		}
		chatWaitFor(t, "listen", lo, regexp.MustCompile(`(message .*`+text+`)`))
		chatWaitFor(t, "listen --ws", wo, regexp.MustCompile(`(message .*`+text+`)`))
	}
	// Without --tls-ca the server's certificate is not trusted, and
	// without TLS at all a TLS-only server refuses the client.
	for _, args := range [][]string{
		{"chat", "emit", "--addr", addr, "--event", "x", "--tls"},
		{"chat", "emit", "--addr", addr, "--event", "x"},
	} {
		if code, _, stderr := chatRun(t, "", args...); code == 0 || stderr == "" {
			t.Errorf("%q: exit %d, stderr %q; want a failure with a reason", args, code, stderr)
		}
	}
}

func TestChatWSUsageErrors(t *testing.T) {
	cert, _ := writeSelfSigned(t)
	for _, args := range [][]string{
		{"chat", "serve", "--addr", "127.0.0.1:0", "--tls-cert", cert}, // no key
		{"chat", "serve", "--addr", "127.0.0.1:0", "--origin", "[bad"}, // bad pattern
		{"chat", "client", "--addr", "ftp://127.0.0.1:1"},              // not HOST:PORT nor a ws:// or Socket.IO URL
		{"chat", "client", "--addr", "ws://127.0.0.1:1/ws", "--tls"},   // plain URL with --tls
	} {
		code, _, stderr := chatRun(t, "", args...)
		if code != 2 || stderr == "" {
			t.Errorf("%q: exit %d, stderr %q; want a usage error (2)", args, code, stderr)
		}
	}
	code, _, stderr := chatRun(t, "", "chat", "serve", "--addr", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", cert)
	if code != 1 || !strings.Contains(stderr, "load the TLS certificate") {
		t.Errorf("cert as key: exit %d, stderr %q; want 1 and an explanation", code, stderr)
	}
}
