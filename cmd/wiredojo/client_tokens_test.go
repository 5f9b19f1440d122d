package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat"
	"github.com/wiredojo/wiredojo/tcpchat/builtin"
	"github.com/wiredojo/wiredojo/tcpchat/chattest"
	"github.com/wiredojo/wiredojo/tcpchat/store"
)

// chat listen --client-id keeps the resume token the server issued (file
// 0600 in a 0700 directory) and gives it back on the next listen; without
// it the id is refused to anyone else.
func TestChatListenKeepsResumeToken(t *testing.T) {
	t.Parallel()
	st := store.NewMemory(store.Options{})
	t.Cleanup(func() { st.Close() })
	addr := chattest.NewServer(t, tcpchat.NewServer(tcpchat.Options{Store: st, NewNamespace: builtin.Install}))
	id := fmt.Sprintf("zed-%d", os.Getpid()) // the state directory is the test binary's

	for i := range 2 {
		_, lerr, lstop := chatStart(t, strings.NewReader(""), "chat", "listen", "--addr", addr, "--client-id", id)
		chatWaitFor(t, fmt.Sprintf("listen %d", i), lerr, regexp.MustCompile(`(listening)`))
		if code := lstop(); code != 0 {
			t.Fatalf("listen %d: exit %d: %s", i, code, lerr.String())
		}
	}
	ct, err := openClientTokens()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ct.get(id)
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(tok) || tok == strings.Repeat("0", 32) {
		t.Fatalf("kept token %q, %v", tok, err)
	}
	for path, want := range map[string]os.FileMode{ct.dir: 0o700 | os.ModeDir, ct.path(): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Fatalf("%s: %v, %v; want mode %v", path, fi.Mode(), err, want)
		}
	}
	ctx := context.Background()
	if _, err := tcpchat.Dial(ctx, addr, tcpchat.ClientOptions{ClientID: id, NoReconnect: true}); !errors.Is(err, tcpchat.ErrClientIDTaken) {
		t.Fatalf("another client without the token: %v, want ErrClientIDTaken", err)
	}
	if code, _, e := chatRun(t, "", "chat", "listen", "--addr", addr, "--client-id", id, "--resume-token", strings.Repeat("0", 32)); code != exitRuntime || !strings.Contains(e, "--resume-token") {
		t.Fatalf("listen with a wrong --resume-token: %d %s", code, e)
	}
	if code, _, e := chatRun(t, "", "chat", "listen", "--addr", addr, "--resume-token", tok); code != exitUsage {
		t.Fatalf("--resume-token without --client-id: %d %s", code, e)
	}
}

// Two savers of different ids at once both keep theirs.
func TestClientTokensConcurrentPut(t *testing.T) {
	t.Parallel()
	ct := clientTokens{dir: t.TempDir() + "/wiredojo"}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if err := ct.put(fmt.Sprint("id", i), fmt.Sprint("tok", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	m, err := ct.read()
	if err != nil || len(m) != 8 || m["id7"] != "tok7" {
		t.Fatalf("tokens %v, %v; want 8", m, err)
	}
}
