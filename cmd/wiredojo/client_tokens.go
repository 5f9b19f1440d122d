package main

// The resume tokens of `chat listen --client-id`: a server with a store
// gives the first connection of a client id a secret, and refuses later
// connections of that id without it. The CLI keeps them, one per client
// id, in $XDG_STATE_HOME/wiredojo/client-tokens.json (0600, directory
// 0700), so that listening again as the same id just works.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/wiredojo/wiredojo/labs"
)

// clientTokensFile is the file name in the state directory.
const clientTokensFile = "client-tokens.json"

// clientTokens is the state directory's file of resume tokens by client id.
type clientTokens struct{ dir string }

func openClientTokens() (clientTokens, error) {
	dir, err := labs.StateDir()
	return clientTokens{dir: dir}, err
}

func (ct clientTokens) path() string { return filepath.Join(ct.dir, clientTokensFile) }

// get returns the token kept for id ("" when none is).
func (ct clientTokens) get(id string) (string, error) {
	m, err := ct.read()
	return m[id], err
}

func (ct clientTokens) read() (map[string]string, error) {
	m := map[string]string{}
	b, err := os.ReadFile(ct.path())
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resume tokens: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("resume tokens: %s: %w", ct.path(), err)
	}
	return m, nil
}

// put keeps token for id. Writers take a lock on the directory's lock
// file, so two CLIs saving different ids at once both keep theirs; the
// file is replaced whole (rename), never seen half written.
func (ct clientTokens) put(id, token string) error {
	if err := os.MkdirAll(ct.dir, 0o700); err != nil {
		return fmt.Errorf("resume tokens: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(ct.dir, clientTokensFile+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("resume tokens: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("resume tokens: lock: %w", err)
	}
	m, err := ct.read()
	if err != nil {
		return err
	}
	if m[id] == token {
		return nil
	}
	m[id] = token
	b, _ := json.MarshalIndent(m, "", "  ")
	tmp, err := os.CreateTemp(ct.dir, clientTokensFile+".*")
	if err != nil {
		return fmt.Errorf("resume tokens: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing to remove
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil { // CreateTemp made it 0600
		err = os.Rename(tmp.Name(), ct.path())
	}
	if err != nil {
		return fmt.Errorf("resume tokens: %w", err)
	}
	return nil
}
