// Package storeopen opens the store a user names on the command line
// (`chat serve --store memory|bolt:PATH`, `--redis URL`) and knows where the
// bolt file goes by default. It owns that mapping and nothing else; the
// stores live in tcpchat/store and its sub-packages.
//
// Example:
//
//	st, err := storeopen.Open(ctx, "bolt:/var/lib/wiredojo/q.db", store.Options{})
//	if errors.Is(err, storeopen.ErrBadSpec) { /* usage error, exit 2 */ }
package storeopen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/boltstore"
	"github.com/wiredojo/wiredojo/tcpchat/store/redisstore"
)

// ErrBadSpec is matched by errors for a store spec that names no store.
var ErrBadSpec = errors.New("storeopen: bad store (want memory, bolt, bolt:PATH or redis://host:port/db)")

// Open opens the store named by spec:
//
//	memory               in-memory, lost on exit
//	bolt                 bbolt at DefaultBoltPath()
//	bolt:PATH            bbolt at PATH (its directory is created)
//	redis://host:port/db Redis (also rediss://)
func Open(ctx context.Context, spec string, opts store.Options) (store.Store, error) {
	switch {
	case spec == "memory":
		return store.NewMemory(opts), nil
	case spec == "bolt" || strings.HasPrefix(spec, "bolt:"):
		path := strings.TrimPrefix(strings.TrimPrefix(spec, "bolt"), ":")
		if path == "" {
			var err error
			if path, err = DefaultBoltPath(); err != nil {
				return nil, err
			}
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("storeopen: create the directory of %s: %w", path, err)
		}
		return boltstore.Open(path, opts)
	case strings.HasPrefix(spec, "redis://") || strings.HasPrefix(spec, "rediss://"):
		return redisstore.Open(ctx, spec, opts)
	}
	return nil, fmt.Errorf("%w: %q", ErrBadSpec, spec)
}

// DefaultBoltPath is the default bolt file: $XDG_DATA_HOME/wiredojo/queues.db,
// or ~/.local/share/wiredojo/queues.db.
func DefaultBoltPath() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "wiredojo", "queues.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("storeopen: no home directory for the default store; pass --store bolt:PATH: %w", err)
	}
	return filepath.Join(home, ".local", "share", "wiredojo", "queues.db"), nil
}
