package link

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wiredojo/wiredojo/udpcast/impair"
)

// direction relays packets from one TUN device to the other through one
// pipeline. Its goroutine is owned by the Link.
type direction struct {
	in, out *os.File
	pipe    *impair.Pipeline

	mu   sync.Mutex // guards snap
	snap Counters
}

func newDirection(in, out *os.File, cfg impair.Config) *direction {
	return &direction{in: in, out: out, pipe: impair.New(cfg)}
}

func (d *direction) counters() Counters {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.snap
}

// run reads packets, pushes them into the pipeline and writes what is due,
// waking for the next due packet with a read deadline. It ends when stop is
// set (and a past read deadline wakes it).
func (d *direction) run(stop *atomic.Bool, start time.Time, wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 65536)
	var readErrs, writeErrs uint64
	publish := func() {
		d.mu.Lock()
		d.snap = Counters{Impair: d.pipe.Stats(), ReadErrors: readErrs, WriteErrors: writeErrs}
		d.mu.Unlock()
	}
	for !stop.Load() {
		now := int64(time.Since(start))
		for {
			b, ok := d.pipe.Pop(now)
			if !ok {
				break
			}
			if _, err := d.out.Write(b); err != nil {
				writeErrs++
			}
			d.pipe.Release(b)
		}
		deadline := time.Now().Add(250 * time.Millisecond)
		if due, ok := d.pipe.NextDue(); ok {
			if t := start.Add(time.Duration(due)); t.Before(deadline) {
				deadline = t
			}
		}
		if stop.Load() {
			break
		}
		_ = d.in.SetReadDeadline(deadline)
		n, err := d.in.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				publish()
				continue
			}
			if errors.Is(err, os.ErrClosed) {
				break
			}
			readErrs++
			time.Sleep(time.Millisecond) // a persistent error must not spin
			continue
		}
		d.pipe.Push(int64(time.Since(start)), buf[:n])
		publish()
	}
	publish()
}
