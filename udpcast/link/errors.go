package link

import "errors"

// Errors of link setup.
var (
	ErrPrivilege = errors.New("link: network namespaces and TUN devices need root or CAP_NET_ADMIN")
	ErrNoIP      = errors.New("link: the `ip` command (iproute2) was not found; install it with `apt-get install iproute2`")
	ErrExists    = errors.New("link: a link with this name is already up")
	ErrNotUp     = errors.New("link: no link with this name is up")
	ErrName      = errors.New("link: bad name: use 1 to 8 letters, digits or '-'")
)
