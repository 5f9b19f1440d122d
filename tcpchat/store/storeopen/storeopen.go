// Package storeopen opens the store a user names on the command line
// (`chat serve --store memory|bolt:PATH`, `--redis URL`), connects to the
// Redis server or Redis Cluster a URL names, and knows where the bolt file
// goes by default. It owns that mapping and nothing else; the
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
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/redis/go-redis/v9"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/wiredojo/wiredojo/tcpchat/store"
	"github.com/wiredojo/wiredojo/tcpchat/store/boltstore"
	"github.com/wiredojo/wiredojo/tcpchat/store/redisstore"
)

// ErrBadSpec is matched by errors for a store spec that names no store.
var ErrBadSpec = errors.New("storeopen: bad store (want memory, bolt, bolt:PATH, redis://host:port/db or redis-cluster://host:port,host:port,...)")

// ErrNoDefaultPath is returned by DefaultBoltPath when there is no home
// directory to put the default bolt file in.
var ErrNoDefaultPath = errors.New("storeopen: no home directory for the default store")

// ErrLocked is matched by the error of Open for a bolt file that another
// process holds open (bbolt allows one writer process per file).
var ErrLocked = errors.New("storeopen: the bolt file is locked by another process")

// Open opens the store named by spec:
//
//	memory               in-memory, lost on exit
//	bolt                 bbolt at DefaultBoltPath()
//	bolt:PATH            bbolt at PATH (its directory is created)
//	redis://host:port/db Redis (also rediss://)
//	redis-cluster://host:port,host:port,...
//	                     Redis Cluster, from these seed nodes (also
//	                     rediss-cluster://; user:password@ and go-redis
//	                     options such as ?dial_timeout=3s may follow
//	                     the scheme and the list)
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
		st, err := boltstore.Open(path, opts)
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s: %w", ErrLocked, path, err)
		}
		return st, err
	case strings.HasPrefix(spec, "redis://") || strings.HasPrefix(spec, "rediss://") || IsRedisCluster(spec):
		rdb, err := RedisClient(ctx, spec)
		if err != nil {
			return nil, err
		}
		return &redisStore{Store: redisstore.New(rdb, "", opts), rdb: rdb}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrBadSpec, spec)
}

// redisStore is a Redis store that owns its client.
type redisStore struct {
	*redisstore.Store
	rdb redis.UniversalClient
}

// Close closes the store, then the client.
func (s *redisStore) Close() error { return errors.Join(s.Store.Close(), s.rdb.Close()) }

// dialerRetries is the dials of one connection attempt of go-redis (its
// default is 5, 100 ms apart): with one, a command to a Redis that refuses
// connections fails in about 0.1 s after go-redis's own command retries,
// instead of about 2 s, so that a chat server whose Redis is down answers
// its clients at once.
const dialerRetries = 1

// IsRedisCluster reports whether spec names a Redis Cluster
// (redis-cluster:// or rediss-cluster://).
func IsRedisCluster(spec string) bool {
	return strings.HasPrefix(spec, "redis-cluster://") || strings.HasPrefix(spec, "rediss-cluster://")
}

// RedisClient connects to the Redis server (redis://, rediss://) or the
// Redis Cluster (redis-cluster://, rediss-cluster://) that url names and
// checks that it answers; the caller closes the client. A connection that
// Redis refuses is not dialled again within one attempt (go-redis still
// retries the command 3 times), so that commands fail fast while Redis is
// down.
func RedisClient(ctx context.Context, url string) (redis.UniversalClient, error) {
	var rdb redis.UniversalClient
	var where string
	switch {
	case strings.HasPrefix(url, "redis://") || strings.HasPrefix(url, "rediss://"):
		o, err := redis.ParseURL(url)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrBadSpec, url, err)
		}
		o.DialerRetries = dialerRetries
		rdb, where = redis.NewClient(o), o.Addr
	case IsRedisCluster(url):
		o, err := ClusterOptions(url)
		if err != nil {
			return nil, err
		}
		o.DialerRetries = dialerRetries
		rdb, where = redis.NewClusterClient(o), "the cluster of "+strings.Join(o.Addrs, ",")
	default:
		return nil, fmt.Errorf("%w: %q is no Redis URL", ErrBadSpec, url)
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("%w: Redis at %s: %w", store.ErrUnreachable, where, err)
	}
	return rdb, nil
}

// ClusterOptions parses redis-cluster://[user:password@]host:port[,host:port...][?options]
// (rediss-cluster:// for TLS) into go-redis cluster options.
func ClusterOptions(url string) (*redis.ClusterOptions, error) {
	scheme, rest, _ := strings.Cut(url, "://")
	rest, query, _ := strings.Cut(rest, "?")
	user := ""
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		user, rest = rest[:i+1], rest[i+1:]
	}
	rest = strings.TrimSuffix(strings.TrimSuffix(rest, "/0"), "/") // a cluster has database 0 only
	hosts := strings.Split(rest, ",")
	for _, h := range hosts {
		if h == "" || strings.Contains(h, "/") {
			return nil, fmt.Errorf("%w: %q: give redis-cluster://HOST:PORT,HOST:PORT,... (seed nodes; database 0 only)", ErrBadSpec, url)
		}
	}
	u := strings.TrimSuffix(scheme, "-cluster") + "://" + user + hosts[0] + "?"
	for _, h := range hosts[1:] {
		u += "addr=" + h + "&"
	}
	o, err := redis.ParseClusterURL(u + query)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrBadSpec, url, err)
	}
	return o, nil
}

// DefaultBoltPathFor is the default bolt file of a server listening on
// addr: queues-HOST-PORT.db beside DefaultBoltPath, so that servers on
// different addresses never share (and lock) one file, while a server
// restarted on its address finds its queues again.
func DefaultBoltPathFor(addr string) (string, error) {
	p, err := DefaultBoltPath()
	if err != nil || addr == "" {
		return p, err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, ""
	}
	if host == "" {
		host = "all" // ":7070" listens on every address
	}
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
				return r
			case r == ':' || r == '%':
				return '_' // IPv6 addresses and zones
			}
			return -1
		}, s)
	}
	name := clean(host)
	if port != "" {
		name += "-" + clean(port)
	}
	return filepath.Join(filepath.Dir(p), "queues-"+name+".db"), nil
}

// DefaultBoltPath is the default bolt file: $XDG_DATA_HOME/wiredojo/queues.db,
// or ~/.local/share/wiredojo/queues.db.
func DefaultBoltPath() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "wiredojo", "queues.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoDefaultPath, err)
	}
	return filepath.Join(home, ".local", "share", "wiredojo", "queues.db"), nil
}
