package link

import "fmt"

// Namespace is a bare network namespace with only its loopback device up,
// for tests and experiments that need one (broadcast and multicast on a
// private loopback, for instance). Link builds its own; this is the
// building block on its own.
type Namespace struct{ name string }

// NewNamespace creates network namespace name (as `ip netns add`) and brings
// its loopback device up. It needs root or CAP_NET_ADMIN.
func NewNamespace(name string) (*Namespace, error) {
	if !Privileged() {
		return nil, ErrPrivilege
	}
	if _, err := lookIP(); err != nil {
		return nil, err
	}
	if nsExists(name) {
		return nil, fmt.Errorf("%w (namespace %s)", ErrExists, name)
	}
	if err := ipCmd("netns", "add", name); err != nil {
		return nil, err
	}
	ns := &Namespace{name: name}
	if err := ns.IP("link", "set", "lo", "up"); err != nil {
		_ = ns.Close()
		return nil, err
	}
	return ns, nil
}

// Name returns the namespace's name.
func (n *Namespace) Name() string { return n.name }

// IP runs `ip -n <name> args...` in the namespace.
func (n *Namespace) IP(args ...string) error {
	return ipCmd(append([]string{"-n", n.name}, args...)...)
}

// Do runs fn on an OS thread inside the namespace; sockets fn opens belong
// to it.
func (n *Namespace) Do(fn func() error) error { return inNamespace(n.name, fn) }

// Close deletes the namespace.
func (n *Namespace) Close() error {
	if !nsExists(n.name) {
		return nil
	}
	return ipCmd("netns", "del", n.name)
}
