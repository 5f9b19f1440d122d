package hostile_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
)

// fdChildEnv makes the test binary a chat server with a lowered descriptor
// limit (TestDescriptorLimit runs it).
const fdChildEnv = "WIREDOJO_HOSTILE_FD_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(fdChildEnv) != "" {
		os.Exit(fdChild())
	}
	goleak.VerifyTestMain(m)
}

// fdChild lowers RLIMIT_NOFILE to 128, serves a chat server (logging to
// stderr) on 127.0.0.1:0, prints its address and stops when stdin closes.
func fdChild() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r.Cur = 128
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := tcpchat.NewServer(tcpchat.Options{NewNamespace: builtin.Install,
		Logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go srv.Serve(l)
	fmt.Println(l.Addr())
	bufio.NewReader(os.Stdin).ReadString('\n')
	srv.Close()
	return 0
}
