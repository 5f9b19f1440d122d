package udpio_test

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wiredojo/wiredojo/udpcast"
	"github.com/wiredojo/wiredojo/udpcast/impair"
	"github.com/wiredojo/wiredojo/udpcast/udpio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// transfer runs a receiver on loopback and one Send to it, and returns both
// results.
func transfer(t *testing.T, so udpio.SendOptions, ro udpio.RecvOptions) (udpio.SendResult, udpio.Result) {
	t.Helper()
	ro.Addr = "127.0.0.1:0"
	ro.UntilEnd = true
	r, err := udpio.Listen(ro)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type out struct {
		res udpio.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := r.Run(ctx)
		done <- out{res, err}
	}()
	so.To = r.Addr().String()
	sres, err := udpio.Send(ctx, so)
	if err != nil {
		cancel()
		<-done
		t.Fatal(err)
	}
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	return sres, o.res
}

func TestSendRecvClean(t *testing.T) {
	for _, batch := range []bool{true, false} {
		name := "batch"
		if !batch {
			name = "nobatch"
		}
		t.Run(name, func(t *testing.T) {
			s, r := transfer(t, udpio.SendOptions{Count: 2000, Size: 200, Rate: 20000, NoBatch: !batch}, udpio.RecvOptions{})
			if s.Sent != 2000 || s.Datagrams != 2000 || s.Errors != 0 {
				t.Fatalf("send result %+v", s)
			}
			if len(r.Senders) != 1 || r.Senders[0].RunID != s.RunID {
				t.Fatalf("senders %+v", r.Senders)
			}
			sum := r.Total
			// Only the kernel may lose datagrams on loopback, and it says
			// so (one dropped packet holds up to 64 datagrams with GRO).
			if sum.Sent != 2000 || (sum.Lost > 0) != (r.KernelDrops > 0) || sum.Lost > 64*r.KernelDrops || sum.Duplicates != 0 || !sum.Ended {
				t.Fatalf("summary %+v", sum)
			}
			if sum.LatencyMS.Max <= 0 || sum.ThroughputBPS <= 0 {
				t.Fatalf("no latency/throughput: %+v", sum)
			}
		})
	}
}

// TestInjectedLossEqualsMeasured: with a seeded pipeline on loopback and no
// kernel drops, what the pipeline dropped is exactly what the receiver
// misses, and its duplicates exactly what the receiver saw twice.
func TestInjectedLossEqualsMeasured(t *testing.T) {
	// A queue limit well above rate x delay: a sender catching up after the
	// scheduler paused it must not overflow it (that is a separate counter).
	cfg := impair.Config{Loss: 0.05, Duplicate: 0.02, Delay: 2 * time.Millisecond, Jitter: time.Millisecond, Limit: 100000, Seed: 1}
	s, r := transfer(t, udpio.SendOptions{Count: 5000, Size: 100, Rate: 50000, Impair: cfg}, udpio.RecvOptions{})
	st := s.Impair
	if st.In != 5000 || st.QueueDropped != 0 {
		t.Fatalf("pipeline %+v", st)
	}
	sum := r.Total
	if r.KernelDrops != 0 {
		// A busy machine: the kernel dropped some too; loss can only grow
		// by what it reports.
		if sum.Lost < st.Lost || sum.Lost > st.Lost+64*r.KernelDrops {
			t.Fatalf("measured lost %d, injected %d, kernel drops %d", sum.Lost, st.Lost, r.KernelDrops)
		}
	} else if sum.Sent != 5000 || sum.Lost != st.Lost || sum.Duplicates != st.Duplicated {
		t.Fatalf("measured sent %d lost %d dup %d; injected lost %d dup %d", sum.Sent, sum.Lost, sum.Duplicates, st.Lost, st.Duplicated)
	}
	if p := sum.LossPercent(); p < 4 || p > 6 {
		t.Fatalf("loss %.2f%%, want about 5%%", p)
	}
	if sum.LatencyMS.P50 < 1.5 || sum.LatencyMS.P50 > 200 {
		t.Fatalf("latency p50 %.3f ms with 2ms±1ms injected", sum.LatencyMS.P50)
	}
	if sum.Reordered == 0 {
		t.Fatalf("jitter of 1ms at 50k/s reorders datagrams, none counted: %+v", sum)
	}
	// Same seed, same decisions.
	s2, _ := transfer(t, udpio.SendOptions{Count: 5000, Size: 100, Rate: 50000, Impair: cfg}, udpio.RecvOptions{})
	if s2.Impair != s.Impair {
		t.Fatalf("seeded runs differ: %+v vs %+v", s2.Impair, s.Impair)
	}
}

func TestBadDatagramsAreCounted(t *testing.T) {
	r, err := udpio.Listen(udpio.RecvOptions{Addr: "127.0.0.1:0", Count: 3, RunID: 7})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan udpio.Result, 1)
	go func() {
		res, _ := r.Run(ctx)
		done <- res
	}()
	c, err := net.Dial("udp4", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(b []byte) {
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	good := func(seq uint64) []byte { return udpcast.Header{RunID: 7, Seq: seq}.AppendTo(nil) }
	send([]byte("WDUP"))                                         // short
	send([]byte("hello world, not ours at all, no no no no no")) // bad magic
	send(append([]byte("WDUP\x09"), make([]byte, 40)...))        // version
	send(udpcast.Header{RunID: 8, Seq: 1}.AppendTo(nil))         // other run
	send(make([]byte, 3000))                                     // truncated
	send(good(0))
	send(good(1 << 62)) // wild
	send(good(1))
	send(good(1)) // duplicate
	send(good(2))
	res := <-done
	inv := res.Invalid
	if inv.Short != 1 || inv.BadMagic != 1 || inv.BadVersion != 1 || inv.OtherRun != 1 || inv.Truncated != 1 || inv.Wild != 1 {
		t.Fatalf("invalid counters %+v", inv)
	}
	if res.Total.Received != 3 || res.Total.Duplicates != 1 || res.Total.Sent != 3 {
		t.Fatalf("summary %+v", res.Total)
	}
}

func TestRecvEndsOnContextAndDuration(t *testing.T) {
	r, err := udpio.Listen(udpio.RecvOptions{Addr: "127.0.0.1:0", Duration: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err = udpio.Listen(udpio.RecvOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSendOptionErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := udpio.Send(ctx, udpio.SendOptions{To: "127.0.0.1:9", Size: 10}); err == nil {
		t.Fatal("size below the header accepted")
	}
	if _, err := udpio.Send(ctx, udpio.SendOptions{Size: 100}); err == nil {
		t.Fatal("no destination accepted")
	}
	if _, err := udpio.Send(ctx, udpio.SendOptions{To: "127.0.0.1:9", Impair: impair.Config{Loss: 3}}); err == nil {
		t.Fatal("bad impairment accepted")
	}
	if _, err := udpio.Listen(udpio.RecvOptions{Addr: ":0", Group: "10.0.0.1"}); err == nil {
		t.Fatal("unicast group accepted")
	}
}

func TestSendDurationAndProgress(t *testing.T) {
	calls := 0
	s, r := transfer(t, udpio.SendOptions{Duration: 300 * time.Millisecond, Size: 64, Rate: 1000, Progress: func(uint64) { calls++ }, ProgressEvery: 50 * time.Millisecond}, udpio.RecvOptions{})
	if s.Sent == 0 || calls == 0 || r.Total.Sent != s.Sent {
		t.Fatalf("sent %d, progress calls %d, receiver saw %d", s.Sent, calls, r.Total.Sent)
	}
}

// TestGSOAndGRO sends unpaced runs of datagrams with and without the
// offloads: every datagram must be accounted for either way, and GSO must
// be used by default on unimpaired unicast.
func TestGSOAndGRO(t *testing.T) {
	for _, tc := range []struct {
		name         string
		noGSO, noGRO bool
	}{{"gso+gro", false, false}, {"gso only", false, true}, {"gro only", true, false}, {"neither", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			s, r := transfer(t, udpio.SendOptions{Count: 20000, Size: 100, NoGSO: tc.noGSO}, udpio.RecvOptions{NoGRO: tc.noGRO})
			if s.GSO == tc.noGSO {
				t.Fatalf("GSO used: %v, NoGSO %v", s.GSO, tc.noGSO)
			}
			sum := r.Total
			if s.Sent != 20000 || s.Datagrams != 20000 || sum.Sent != 20000 {
				t.Fatalf("sender %+v, receiver sent %d", s, sum.Sent)
			}
			if sum.Duplicates != 0 || sum.Reordered != 0 || r.Invalid.Total() != 0 {
				t.Fatalf("summary %+v invalid %+v", sum, r.Invalid)
			}
			if (sum.Lost > 0) != (r.KernelDrops > 0) || sum.Lost > 64*r.KernelDrops {
				t.Fatalf("lost %d with %d kernel drops", sum.Lost, r.KernelDrops)
			}
			if tc.noGRO && sum.Lost != r.KernelDrops {
				t.Fatalf("without GRO kernel drops count datagrams: lost %d, drops %d", sum.Lost, r.KernelDrops)
			}
		})
	}
}

// TestUntilEndWithoutMarkers: when every end marker is lost, an UntilEnd
// receiver still ends once the sender has gone quiet.
func TestUntilEndWithoutMarkers(t *testing.T) {
	s, r := transfer(t, udpio.SendOptions{Count: 200, Size: 64, Rate: 20000, EndMarkers: -1}, udpio.RecvOptions{Idle: 300 * time.Millisecond})
	if r.Total.Ended || r.Total.Sent != s.Sent || r.Total.Received+r.KernelDrops < 200 {
		t.Fatalf("sender %+v, receiver %+v", s, r.Total)
	}
}

// TestSendNobodyListening sends to a port nobody listens on: the ICMP
// port-unreachable replies make the kernel refuse some datagrams
// (ECONNREFUSED); the run must neither panic nor stop, and its counters
// must add up.
func TestSendNobodyListening(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	to := c.LocalAddr().String()
	c.Close()
	for _, o := range []udpio.SendOptions{
		{Count: 5},
		{Count: 200},
		{Count: 200, NoBatch: true},
		{Count: 200, NoGSO: true},
		{Count: 200, Impair: impair.Config{Loss: 0.05, Seed: 1}},
	} {
		o.To, o.Size = to, 100
		res, err := udpio.Send(context.Background(), o)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		offered := res.Sent
		if res.Impaired {
			offered = res.Impair.Out
		}
		if res.Datagrams+res.Errors != offered || res.Unreachable > res.Errors {
			t.Errorf("%+v: sent %d, offered %d, on the wire %d + refused %d (unreachable %d): does not add up", o, res.Sent, offered, res.Datagrams, res.Errors, res.Unreachable)
		}
		if !res.PortUnreachable {
			t.Errorf("%+v: the port-unreachable replies went unseen: %+v", o, res)
		}
		if o.NoBatch && res.Unreachable == 0 {
			t.Errorf("%+v: no datagram refused for ECONNREFUSED", o)
		}
	}
}

// TestRecvDoesNotBelieveTheNetwork: an end marker claiming 2^63 datagrams,
// absurd send times and run id 0 are counted as rejected, not believed.
func TestRecvDoesNotBelieveTheNetwork(t *testing.T) {
	r, err := udpio.Listen(udpio.RecvOptions{Addr: "127.0.0.1:0", UntilEnd: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan udpio.Result, 1)
	go func() {
		res, _ := r.Run(ctx)
		done <- res
	}()
	c, err := net.Dial("udp4", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(h udpcast.Header) {
		if _, err := c.Write(h.AppendTo(nil)); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UnixNano()
	send(udpcast.Header{RunID: 0, Seq: 0, SentNS: now}) // run id 0
	send(udpcast.Header{RunID: 7, Seq: 0, SentNS: now})
	send(udpcast.Header{RunID: 7, Seq: 1, SentNS: 1 << 62}) // from the far future
	send(udpcast.Header{RunID: 7, Seq: 2, SentNS: 1})       // from 1970
	send(udpcast.Header{RunID: 7, Seq: 3, SentNS: time.Now().UnixNano()})
	send(udpcast.Header{RunID: 7, Seq: 1 << 63, Flags: udpcast.FlagEnd}) // claims 2^63 sent
	send(udpcast.Header{RunID: 7, Seq: 2, Flags: udpcast.FlagEnd})       // fewer than arrived
	send(udpcast.Header{RunID: 7, Seq: 4, Flags: udpcast.FlagEnd})       // the real one
	var res udpio.Result
	select {
	case res = <-done:
	case <-time.After(8 * time.Second):
		t.Fatal("receiver did not end at the real end marker")
	}
	sum, inv := res.Total, res.Invalid
	if sum.Sent != 4 || sum.Lost != 0 || sum.Received != 4 {
		t.Errorf("believed the wrong count: %+v", sum)
	}
	if sum.JitterMS > 1000 || sum.LatencyMS.Max > 1000 {
		t.Errorf("absurd send times reached the figures: jitter %v ms, latency %+v", sum.JitterMS, sum.LatencyMS)
	}
	if inv.ZeroRun != 1 || inv.BadEnd != 2 || inv.BadTime != 2 {
		t.Errorf("rejections not counted: %+v", inv)
	}
}
