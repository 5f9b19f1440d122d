package netpoll

import (
	"errors"
	"fmt"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Poller is one epoll instance and the goroutine that waits on it. Create
// it with New and end it with Close.
type Poller struct {
	epfd int
	evfd int // an eventfd: Close writes to it to end the wait

	mu     sync.Mutex
	slots  []*Desc // by descriptor number; guarded by mu
	gen    int32   // guarded by mu; tells a Desc from an earlier one of the same number
	closed bool    // guarded by mu

	// life is held shared around every use of epfd by a Desc and
	// exclusively by Close, so that no Desc uses the number after it is
	// closed (and perhaps reused).
	life sync.RWMutex
	dead bool // guarded by life

	// ctlMu serialises the arms of the Descs (the kernel serialises the
	// epoll_ctl calls of one epoll instance anyway), so that one function
	// made with the Poller (arm) serves them all: a Desc holds no closure
	// of its own. ctlD and ctlErr are its argument and result. del needs
	// neither.
	ctlMu  sync.Mutex
	ctlD   *Desc // guarded by ctlMu
	ctlErr error // guarded by ctlMu
	arm    func(fd uintptr)
	del    func(fd uintptr)

	done chan struct{} // closed when the goroutine has ended
	once sync.Once
}

// Desc is one socket registered with a Poller: 48 bytes (a size class),
// what every parked connection holds of this package.
type Desc struct {
	p   *Poller
	rc  syscall.RawConn
	w   Waker
	fd  int32
	gen int32
}

// events is what an armed Desc waits for: bytes, the peer's half-close,
// hang-up and errors (the last two are always reported), once.
const events = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// New creates a Poller and starts its goroutine.
func New() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netpoll: epoll_create1: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("netpoll: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil, fmt.Errorf("netpoll: epoll_ctl: %w", err)
	}
	p := &Poller{epfd: epfd, evfd: evfd, done: make(chan struct{})}
	p.arm, p.del = p.armFD, p.delFD
	go p.run()
	return p, nil
}

// Register adds the socket rc; w.Wake runs (in the Poller's goroutine)
// each time an armed Desc becomes readable. Nothing is asked of the kernel
// until the first Arm.
func (p *Poller) Register(rc syscall.RawConn, w Waker) (*Desc, error) {
	d := &Desc{p: p, rc: rc, w: w, fd: -1}
	var fd int32 = -1
	if err := rc.Control(func(f uintptr) { fd = int32(f) }); err != nil {
		return nil, fmt.Errorf("netpoll: register: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	p.gen++
	d.fd, d.gen = fd, p.gen
	if int(fd) >= len(p.slots) {
		p.slots = append(p.slots, make([]*Desc, int(fd)+1-len(p.slots)+len(p.slots)/2)...)
	}
	// A Desc still in the slot belongs to a socket that was closed while
	// registered (the kernel dropped it from the epoll set); it gets no
	// more wake-ups, and its own Close leaves the slot alone.
	p.slots[fd] = d
	return d, nil
}

// Arm asks for one call of the Desc's Wake once the socket is readable
// (at once if it is already). It fails when the socket or the Poller is
// closed.
func (d *Desc) Arm() error {
	d.p.life.RLock()
	defer d.p.life.RUnlock()
	if d.p.dead {
		return ErrClosed
	}
	p := d.p
	p.ctlMu.Lock()
	defer p.ctlMu.Unlock()
	p.ctlD, p.ctlErr = d, nil
	err := d.rc.Control(p.arm)
	if err == nil {
		err = p.ctlErr
	}
	p.ctlD, p.ctlErr = nil, nil
	return err
}

// armFD is p.arm: it arms p.ctlD's socket fd (ctlMu is held). A socket is
// armed with EPOLL_CTL_MOD, and added on its first arm, when the kernel
// does not know it (ENOENT): one failed call per connection instead of a
// flag in every Desc.
func (p *Poller) armFD(fd uintptr) {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: p.ctlD.gen}
	p.ctlErr = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev)
	if errors.Is(p.ctlErr, unix.ENOENT) {
		p.ctlErr = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	}
}

// delFD is p.del: it removes fd from the epoll set (ENOENT, ignored, when
// it was never armed).
func (p *Poller) delFD(fd uintptr) {
	var ev unix.EpollEvent
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), &ev)
}

// Close removes the socket from the Poller; call it before closing the
// socket, or after (then the kernel has removed it already). Wake does not
// run after Close returns, unless a wake-up was already under way.
func (d *Desc) Close() {
	p := d.p
	p.life.RLock()
	if !p.dead {
		d.rc.Control(p.del) // fails, harmlessly, when the socket is closed
	}
	p.life.RUnlock()
	p.mu.Lock()
	if int(d.fd) < len(p.slots) && p.slots[d.fd] == d {
		p.slots[d.fd] = nil
	}
	p.mu.Unlock()
}

// run waits for events until Close.
func (p *Poller) run() {
	defer close(p.done)
	evs := make([]unix.EpollEvent, 256)
	var wakes []Waker
	for {
		n, err := unix.EpollWait(p.epfd, evs, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return // the epoll descriptor is unusable: callers see Arm fail
		}
		stop := false
		p.mu.Lock()
		for i := range evs[:n] {
			ev := &evs[i]
			if ev.Fd < 0 {
				stop = true
				continue
			}
			if int(ev.Fd) < len(p.slots) {
				if d := p.slots[ev.Fd]; d != nil && d.gen == ev.Pad {
					wakes = append(wakes, d.w)
				}
			}
		}
		p.mu.Unlock()
		for i, w := range wakes {
			w.Wake()
			wakes[i] = nil
		}
		wakes = wakes[:0]
		if stop {
			return
		}
	}
}

// Close ends the Poller's goroutine and releases its descriptors. Armed
// Descs get no wake-up: their owners must be woken otherwise (closing
// their sockets) before or after.
func (p *Poller) Close() error {
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.slots = nil
		p.mu.Unlock()
		var one = [8]byte{1}
		unix.Write(p.evfd, one[:]) // native endianness: any non-zero count wakes the wait
		<-p.done
		p.life.Lock()
		p.dead = true
		unix.Close(p.evfd)
		unix.Close(p.epfd)
		p.life.Unlock()
	})
	return nil
}
