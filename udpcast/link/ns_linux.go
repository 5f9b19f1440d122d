package link

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/wiredojo/wiredojo/internal/sandbox"
)

// Privileged reports whether this process may create namespaces and TUN
// devices (root, or CAP_NET_ADMIN in its effective set).
func Privileged() bool { return sandbox.Capable(unix.CAP_NET_ADMIN) }

// ipCmd runs `ip args...` and returns its error with ip's own message.
func ipCmd(args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.Command("ip", args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("link: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func nsPath(ns string) string { return "/run/netns/" + ns }

func nsExists(ns string) bool {
	_, err := os.Stat(nsPath(ns))
	return err == nil
}

// inNamespace runs fn on an OS thread switched into network namespace ns.
// Sockets fn opens stay in ns. The thread is thrown away if it cannot be
// switched back.
func inNamespace(ns string, fn func() error) error {
	target, err := os.Open(nsPath(ns))
	if err != nil {
		return fmt.Errorf("link: namespace %s: %w", ns, err)
	}
	defer target.Close()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("link: own namespace: %w", err)
			return
		}
		defer self.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("link: enter namespace %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			done <- fmt.Errorf("link: leave namespace %s: %w", ns, err)
			return
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}

// writeSysctl writes value to /proc/sys/<key> (dots become slashes) from
// inside namespace ns.
func writeSysctl(ns, key, value string) error {
	return inNamespace(ns, func() error {
		return os.WriteFile("/proc/sys/"+strings.ReplaceAll(key, ".", "/"), []byte(value), 0o644)
	})
}

func readSysctl(ns, key string) (string, error) {
	var out []byte
	err := inNamespace(ns, func() error {
		var err error
		out, err = os.ReadFile("/proc/sys/" + strings.ReplaceAll(key, ".", "/"))
		return err
	})
	return strings.TrimSpace(string(out)), err
}

// openTUN creates a TUN device (IP packets, no packet-info header, no vnet
// header, so no offloads) and returns its non-blocking descriptor; the relay
// polls it itself.
func openTUN(name string) (int, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("link: open /dev/net/tun: %w (is the tun module loaded?)", err)
	}
	var req struct {
		name  [unix.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], name)
	req.flags = unix.IFF_TUN | unix.IFF_NO_PI
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req))); e != 0 {
		unix.Close(fd)
		return -1, fmt.Errorf("link: create TUN %s: %w", name, e)
	}
	// No offloads: the kernel hands us plain packets of at most the MTU.
	_, _, _ = unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETOFFLOAD, 0)
	return fd, nil
}
