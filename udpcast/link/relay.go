package link

import (
	"encoding/binary"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wiredojo/wiredojo/udpcast"
	"github.com/wiredojo/wiredojo/udpcast/impair"
)

// packetKey returns the identity of an IPv4 packet that carries a
// wiredojo-udp data datagram: its sequence number. The relay impairs such
// packets by key (impair.Pipeline.PushKeyed), so the same seed drops the
// same datagrams run after run whatever else crosses the link (a TCP run
// before, ICMP); everything else, end markers included, draws from the
// pipeline's own sequence.
func packetKey(pkt []byte) (uint64, bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 || pkt[9] != 17 {
		return 0, false
	}
	if binary.BigEndian.Uint16(pkt[6:8])&0x3fff != 0 {
		return 0, false // a fragment: its payload is not at the start
	}
	ihl := int(pkt[0]&0x0f) * 4
	if ihl < 20 || len(pkt) < ihl+8 {
		return 0, false
	}
	h, _, err := udpcast.DecodeHeader(pkt[ihl+8:])
	if err != nil || h.End() {
		return 0, false
	}
	return h.Seq, true
}

// direction relays packets from one TUN device to the other through one
// pipeline. Its goroutine is owned by the Link.
type direction struct {
	in, out, wake int
	pipe          *impair.Pipeline
	observe       func(at time.Duration, pkt []byte) // nil: nobody watches

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
			} else if d.observe != nil {
				d.observe(time.Since(start), b)
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
			if key, ok := packetKey(buf[:n]); ok {
				d.pipe.PushKeyed(int64(time.Since(start)), buf[:n], key)
			} else {
				d.pipe.Push(int64(time.Since(start)), buf[:n])
			}
		}
		publish()
	}
}
