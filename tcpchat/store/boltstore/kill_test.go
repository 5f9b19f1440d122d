package boltstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/boltstore"
)

// Child processes re-exec the test binary with one of these variables set.
const (
	envKillChild = "WIREDOJO_BOLTSTORE_KILL_CHILD" // path of the file to append to
	envFullChild = "WIREDOJO_BOLTSTORE_FULL_CHILD" // directory on a small tmpfs
)

// childMain runs a child's job and exits when the process is one; it
// returns false in the ordinary test process.
func childMain() bool {
	if p := os.Getenv(envKillChild); p != "" {
		killChild(p)
		os.Exit(0)
	}
	if d := os.Getenv(envFullChild); d != "" {
		if err := fullChild(d); err != nil {
			fmt.Println("FAIL", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	return false
}

// killChild appends forever from four goroutines and prints the id and
// offset of every append the store acknowledged, until it is killed.
func killChild(path string) {
	s, err := boltstore.Open(path, store.Options{Limits: store.Limits{MaxMessages: -1}})
	if err != nil {
		fmt.Println("FAIL", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				m := store.Message{Namespace: "/chat", Event: "e", Payload: []byte(fmt.Sprintf("%d-%d", w, i))}
				id, offs, err := s.Append(context.Background(), m, []string{"k"}, nil)
				if err != nil {
					fmt.Println("FAIL", err)
					os.Exit(1)
				}
				mu.Lock()
				// one write(2) per line: a SIGKILL never leaves half a line
				os.Stdout.WriteString("ok " + id.String() + " " + strconv.FormatUint(offs[0], 10) + "\n")
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestKill9KeepsAcknowledgedAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kill.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envKillChild+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make(map[store.ID]uint64)
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "ok" {
			t.Fatalf("child said %q", sc.Text())
		}
		id, err := store.ParseID(f[1])
		if err != nil {
			t.Fatal(err)
		}
		off, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		acked[id] = off
		if len(acked) == 300 && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	werr := cmd.Wait()
	if !killed {
		t.Fatalf("child ended before it was killed: %v", werr)
	}
	t.Logf("child acknowledged %d appends before SIGKILL", len(acked))

	s := open(t, path, store.Options{Limits: store.Limits{MaxMessages: -1}})
	msgs, err := s.Pending(context.Background(), "k", 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	stored := make(map[store.ID]uint64, len(msgs))
	for i, m := range msgs {
		if m.Offset != uint64(i+1) {
			t.Fatalf("message %d has offset %d: offsets must run 1, 2, 3, ... without holes", i, m.Offset)
		}
		stored[m.ID] = m.Offset
	}
	for id, off := range acked {
		got, ok := stored[id]
		if !ok {
			t.Fatalf("acknowledged message %s (offset %d) is missing after SIGKILL", id, off)
		}
		if got != off {
			t.Fatalf("acknowledged message %s has offset %d, child was told %d", id, got, off)
		}
	}
	if len(msgs) < len(acked) {
		t.Fatalf("%d stored < %d acknowledged", len(msgs), len(acked))
	}
	// and the store goes on from where it was
	_, offs, err := s.Append(context.Background(), store.Message{Namespace: "/chat", Event: "e"}, []string{"k"}, nil)
	if err != nil || offs[0] != uint64(len(msgs)+1) {
		t.Fatalf("append after reopen: offset %v, %v; want %d", offs, err, len(msgs)+1)
	}
}

// fullChild fills a store on a 2 MiB tmpfs until the disk is full and checks
// that the failed append left nothing behind.
func fullChild(dir string) error {
	path := filepath.Join(dir, "full.db")
	ctx := context.Background()
	s, err := boltstore.Open(path, store.Options{Limits: store.Limits{MaxMessages: -1}})
	if err != nil {
		return err
	}
	payload := make([]byte, 8<<10)
	ok := 0
	for {
		_, _, err = s.Append(ctx, store.Message{Namespace: "/chat", Event: "e", Payload: payload}, []string{"a", "b"}, nil)
		if err != nil {
			break
		}
		ok++
		if ok > 10000 {
			return errors.New("the 2 MiB disk never filled up")
		}
	}
	if !errors.Is(err, store.ErrDiskFull) || !strings.Contains(err.Error(), path) {
		return fmt.Errorf("error when the disk filled up = %v; want ErrDiskFull naming %s", err, path)
	}
	fullErr := err
	check := func(s *boltstore.Store) error {
		for _, c := range []string{"a", "b"} {
			msgs, err := s.Pending(ctx, c, 0, 0, nil)
			if err != nil {
				return err
			}
			if len(msgs) != ok {
				return fmt.Errorf("%s has %d messages after %d successful appends", c, len(msgs), ok)
			}
		}
		return nil
	}
	if err := check(s); err != nil {
		return err
	}
	if err := s.Close(); err != nil && !errors.Is(err, store.ErrDiskFull) {
		return err
	}
	s, err = boltstore.Open(path, store.Options{})
	if err != nil {
		return fmt.Errorf("reopen after disk full: %w", err)
	}
	defer s.Close()
	if err := check(s); err != nil {
		return err
	}
	fmt.Printf("DISKFULL-OK after %d appends: %v\n", ok, fullErr)
	return nil
}

func TestDiskFullIsCleanError(t *testing.T) {
	testdep.RequireRoot(t)
	unshare := testdep.Require(t, "unshare", "apt-get install util-linux")
	dir := t.TempDir()
	// a private mount namespace: the tmpfs disappears with the child
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs -o size=2m wiredojo-full "$1" && exec "$2" -test.run='^$'`, "sh", dir, os.Args[0])
	cmd.Env = append(os.Environ(), envFullChild+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "DISKFULL-OK") {
		t.Fatalf("disk-full child: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
