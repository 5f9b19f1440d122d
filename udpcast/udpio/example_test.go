package udpio_test

import (
	"context"
	"fmt"
	"time"

	"github.com/wiredojo/wiredojo/udpcast/udpio"
)

// A receiver on loopback and a sender of 100 datagrams: the receiver stops
// at the sender's end marker and reports what arrived.
func Example() {
	r, err := udpio.Listen(udpio.RecvOptions{Addr: "127.0.0.1:0", UntilEnd: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan udpio.Result, 1)
	go func() {
		res, _ := r.Run(ctx)
		done <- res
	}()

	sent, err := udpio.Send(ctx, udpio.SendOptions{To: r.Addr().String(), Count: 100, Size: 64, Rate: 10000})
	if err != nil {
		fmt.Println(err)
		return
	}
	res := <-done
	fmt.Println("sent", sent.Sent, "received", res.Total.Received, "lost", res.Total.Lost)
	// Output:
	// sent 100 received 100 lost 0
}
