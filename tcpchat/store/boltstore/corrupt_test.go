package boltstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/boltstore"
)

func TestOpenReportsCorruptFile(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a bolt file ", 4096)), 0o600); err != nil {
		t.Fatal(err)
	}
	// a real store whose data pages were overwritten
	damaged := filepath.Join(dir, "damaged.db")
	s := open(t, damaged, store.Options{})
	for range 200 {
		if _, _, err := s.Append(context.Background(), store.Message{Namespace: "/chat", Event: "e", Payload: make([]byte, 512)}, []string{"a", "b", "c"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(damaged)
	if err != nil {
		t.Fatal(err)
	}
	page := os.Getpagesize()
	for i := 4 * page; i < len(b); i++ {
		b[i] = 0xff
	}
	if err := os.WriteFile(damaged, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{garbage, damaged} {
		s, err := boltstore.Open(p, store.Options{})
		if err == nil {
			s.Close()
			t.Fatalf("Open(%s) succeeded on a corrupted file", p)
		}
		if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), p) {
			t.Fatalf("Open(%s) = %v; want ErrCorrupt naming the file", p, err)
		}
		t.Log(err)
	}
}

func TestOpenReportsLockedFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "q.db")
	open(t, p, store.Options{})
	_, err := boltstore.Open(p, store.Options{})
	if err == nil || !strings.Contains(err.Error(), "locked by another process") || !strings.Contains(err.Error(), p) {
		t.Fatalf("second Open = %v; want a locked-file error naming %s", err, p)
	}
}
