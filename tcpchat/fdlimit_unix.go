//go:build unix

package tcpchat

import "syscall"

// fdLimit is the process's soft limit of open descriptors (0: unknown).
func fdLimit() int {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) != nil || r.Cur > 1<<30 {
		return 0
	}
	return int(r.Cur)
}
