package link

import (
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wiredojo/wiredojo/udpcast/impair"
)

// direction relays packets from one TUN device to the other through one
// pipeline. Its goroutine is owned by the Link.
type direction struct {
	in, out, wake int
	pipe          *impair.Pipeline

	mu   sync.Mutex // guards snap
	snap Counters
}

func newDirection(in, out, wake int, cfg impair.Config) *direction {
	return &direction{in: in, out: out, wake: wake, pipe: impair.New(cfg)}
}

func (d *direction) counters() Counters {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.snap
}

// run owns one OS thread for its whole life (at real-time priority when rt
// and permitted; the thread ends with the goroutine, so the priority never
// leaks to other goroutines). It waits in ppoll(2) on its TUN device and
// the wake pipe with a timeout that ends when the next packet is due, so
// delays are kept to the kernel's timer precision rather than the Go
// scheduler's. It ends when a byte is written to the wake pipe.
func (d *direction) run(start time.Time, rt bool, gotRT chan<- bool, wg *sync.WaitGroup) {
	defer wg.Done()
	runtime.LockOSThread() // never unlocked: see above
	ok := false
	if rt {
		ok = unix.SchedSetAttr(0, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 10}, 0) == nil
	}
	gotRT <- ok
	buf := make([]byte, 65536)
	var readErrs, writeErrs uint64
	publish := func() {
		d.mu.Lock()
		d.snap = Counters{Impair: d.pipe.Stats(), ReadErrors: readErrs, WriteErrors: writeErrs}
		d.mu.Unlock()
	}
	defer publish()
	fds := []unix.PollFd{{Fd: int32(d.in), Events: unix.POLLIN}, {Fd: int32(d.wake), Events: unix.POLLIN}}
	for {
		now := int64(time.Since(start))
		for {
			b, ok := d.pipe.Pop(now)
			if !ok {
				break
			}
			if _, err := unix.Write(d.out, b); err != nil {
				writeErrs++
			}
			d.pipe.Release(b)
		}
		wait := 250 * time.Millisecond
		if due, ok := d.pipe.NextDue(); ok {
			wait = min(wait, max(time.Duration(due-int64(time.Since(start))), 0))
		}
		ts := unix.NsecToTimespec(int64(wait))
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := unix.Ppoll(fds, &ts, nil); err != nil && err != unix.EINTR {
			readErrs++
			time.Sleep(time.Millisecond) // a persistent error must not spin
			continue
		}
		if fds[1].Revents != 0 {
			return
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			publish()
			continue
		}
		// Read everything queued on the device.
		for {
			n, err := unix.Read(d.in, buf)
			if err == unix.EAGAIN || err == unix.EINTR {
				break
			}
			if err != nil || n <= 0 {
				readErrs++
				break
			}
			d.pipe.Push(int64(time.Since(start)), buf[:n])
		}
		publish()
	}
}
