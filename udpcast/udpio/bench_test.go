package udpio_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/udpcast/udpio"
)

// BenchmarkLoopback sends b.N datagrams as fast as possible to a receiver
// on loopback; one op is one datagram. It reports the sender's datagrams/s
// and the receiver's delivered datagrams/s (what the kernel did not drop).
func BenchmarkLoopback(b *testing.B) {
	for _, size := range []int{64, 1400} {
		for _, batch := range []bool{true, false} {
			name := fmt.Sprintf("size=%d/batch=%v", size, batch)
			b.Run(name, func(b *testing.B) {
				r, err := udpio.Listen(udpio.RecvOptions{Addr: "127.0.0.1:0", UntilEnd: true, Linger: 50 * time.Millisecond})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				done := make(chan udpio.Result, 1)
				go func() {
					res, _ := r.Run(ctx)
					done <- res
				}()
				b.ReportAllocs()
				b.ResetTimer()
				s, err := udpio.Send(ctx, udpio.SendOptions{To: r.Addr().String(), Count: uint64(b.N), Size: size, NoBatch: !batch})
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				res := <-done
				b.ReportMetric(s.PPS(), "sent/s")
				b.ReportMetric(float64(res.Total.Received)/s.Elapsed.Seconds(), "delivered/s")
				b.ReportMetric(float64(res.KernelDrops)*100/float64(b.N), "kdrop%")
			})
		}
	}
}
