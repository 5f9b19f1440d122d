package link_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/udpcast/impair"
	"github.com/wiredojo/wiredojo/udpcast/link"
	"github.com/wiredojo/wiredojo/udpcast/udpio"
)

// Agreement with iperf3 on the same impaired link (5% loss, 5ms ± 2ms).
// Both send 1000 datagrams/s of 500 bytes for 8 seconds (8000 datagrams),
// at the same time, so both meet the same link under the same machine load.
//
// Loss: the standard error of a 5% estimate over 8000 datagrams is 0.24
// points, so two independent runs differ by more than 1.5 points with a
// probability far below 1e-4.
//
// Jitter: both compute RFC 3550's J, an exponential average over about the
// last 16 datagrams, so a single reading varies by about 13% (two single
// readings differ by up to 55% at p99, simulated). We therefore compare the
// mean of the readings taken every 250 ms (iperf3's server intervals, our
// progress snapshots; the first second is left out while J warms up):
// about 30 readings each, which must agree within 25%. Ours uses kernel
// receive timestamps, iperf3 gettimeofday after each read: on a loaded
// machine iperf3's figure can only grow, so there the test also accepts ours
// below iperf3's when it is within 25% of what the delay model predicts.
const (
	iperfLossTolerance   = 1.5  // percentage points
	iperfJitterTolerance = 0.25 // relative to iperf3's mean
	iperfSeconds         = 8
)

type iperfServer struct {
	Intervals []struct {
		Sum struct {
			Start    float64 `json:"start"`
			JitterMS float64 `json:"jitter_ms"`
		} `json:"sum"`
	} `json:"intervals"`
	End struct {
		Sum struct {
			JitterMS    float64 `json:"jitter_ms"`
			LostPackets int     `json:"lost_packets"`
			Packets     int     `json:"packets"`
			LostPercent float64 `json:"lost_percent"`
		} `json:"sum"`
	} `json:"end"`
	Error string `json:"error"`
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(max(len(v), 1))
}

func TestAgreesWithIperf3(t *testing.T) {
	testdep.RequireRoot(t)
	iperf := testdep.Require(t, "iperf3", "apt-get install iperf3")
	l := upLink(t, link.Config{AtoB: impair.Config{Loss: 0.05, Delay: 5 * time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 1}})
	// Two things get a run repeated, up to three in all. iperf3 3.12's
	// control connection crosses the lossy link too and now and then gives
	// up ("unable to read from stream socket"): that is iperf3 failing, not
	// a measurement. And a machine busy with other tests (make test runs
	// packages in parallel) can spoil one run's jitter: the link's delay
	// timers run in this process and ours does not run at iperf3's
	// real-time priority (CI once read ours 2.16 ms, iperf3 1.69, model
	// 1.47). A wrong jitter or loss computation disagrees in every run; a
	// spoiled run does not repeat. Loss must agree in every run.
	var problems []string
	for attempt := 1; attempt <= 3; attempt++ {
		res, ours, oursJ, err := runBoth(t, l, iperf, 5210+attempt)
		if err != nil {
			t.Logf("attempt %d: %v", attempt, err)
			problems = append(problems, fmt.Sprintf("attempt %d: %v", attempt, err))
			continue
		}
		var iperfJ []float64
		for _, iv := range res.Intervals {
			if iv.Sum.Start >= 1 {
				iperfJ = append(iperfJ, iv.Sum.JitterMS)
			}
		}
		ab, _ := l.Counters()
		it := res.End.Sum
		o := ours.Total
		ij, oj := mean(iperfJ), mean(oursJ)
		t.Logf("attempt %d: iperf3: %d datagrams, lost %.2f%%, jitter %.3f ms (mean of %d readings)", attempt, it.Packets, it.LostPercent, ij, len(iperfJ))
		t.Logf("attempt %d: ours:   %d datagrams, lost %.2f%%, jitter %.3f ms (mean of %d readings; kernel drops %d)", attempt, o.Sent, o.LossPercent(), oj, len(oursJ), ours.KernelDrops)
		t.Logf("attempt %d: link A->B so far: %+v", attempt, ab)
		if o.Sent < 7000 || it.Packets < 7000 || len(iperfJ) < 10 || len(oursJ) < 10 {
			t.Fatalf("too little to compare: ours %d datagrams %d readings, iperf3 %d datagrams %d readings", o.Sent, len(oursJ), it.Packets, len(iperfJ))
		}
		if d := math.Abs(o.LossPercent() - it.LostPercent); d > iperfLossTolerance {
			t.Fatalf("loss differs by %.2f points (ours %.2f%%, iperf3 %.2f%%), tolerance %.1f", d, o.LossPercent(), it.LostPercent, iperfLossTolerance)
		}
		if math.Abs(oj-ij) <= iperfJitterTolerance*ij {
			return
		}
		// iperf3 timestamps arrivals in user space, so scheduling delays
		// on a busy machine (or a virtual CPU that is not running) only
		// ever add to its jitter. Accept the disagreement in that
		// direction when ours matches what the impairment model itself
		// predicts for this stream.
		model := modelJitter(1000, 5*time.Millisecond, 2*time.Millisecond, iperfSeconds)
		t.Logf("attempt %d: model (uniform ±2ms at 1000/s, same sampling): %.3f ms", attempt, model)
		if oj <= ij && math.Abs(oj-model) <= iperfJitterTolerance*model {
			return
		}
		p := fmt.Sprintf("attempt %d: jitter differs: ours %.3f ms, iperf3 %.3f ms, model %.3f ms (tolerance %.0f%%)", attempt, oj, ij, model, iperfJitterTolerance*100)
		t.Log(p)
		problems = append(problems, p)
	}
	t.Errorf("no run of three agreed with iperf3:\n%s", strings.Join(problems, "\n"))
}

// runBoth runs iperf3 (server on B, client on A) and ours (receiver on B,
// sender on A) at the same time over l, so both meet the same link under the
// same machine load. An error means iperf3 did not complete.
func runBoth(t *testing.T, l *link.Link, iperf string, port int) (iperfServer, udpio.Result, []float64, error) {
	t.Helper()
	nsA, nsB := l.Namespace(link.SideA), l.Namespace(link.SideB)
	b := l.AddrB().String()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// iperf3 timestamps arrivals with gettimeofday after each read, so on a
	// busy machine its jitter grows with scheduling delays; real-time
	// priority (chrt, when present) keeps the reference honest. Ours uses
	// kernel receive timestamps and needs none.
	rt := func(args ...string) []string {
		if p, err := exec.LookPath("chrt"); err == nil {
			return append([]string{p, "-f", "50"}, args...)
		}
		return args
	}
	var srvOut bytes.Buffer
	srvArgs := append([]string{"netns", "exec", nsB}, rt(iperf, "-s", "-1", "--json", "-i", "0.25", "-p", fmt.Sprint(port), "-B", b)...)
	srv := exec.CommandContext(ctx, "ip", srvArgs...)
	srv.Stdout = &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	srvDone := false
	defer func() {
		if !srvDone {
			_ = srv.Process.Kill()
			_ = srv.Wait()
		}
	}()
	testkit.Eventually(t, 10*time.Second, "the iperf3 server to listen", func() bool {
		out, _ := exec.Command("ip", "netns", "exec", nsB, "ss", "-Hltn", fmt.Sprintf("sport = :%d", port)).Output()
		return strings.Contains(string(out), fmt.Sprint(port))
	})
	clientErr := make(chan error, 1)
	go func() {
		clArgs := append([]string{"netns", "exec", nsA}, rt(iperf, "-c", b, "-p", fmt.Sprint(port), "-u", "-b", "4M", "-l", "500", "-w", "4M", "-t", fmt.Sprint(iperfSeconds))...)
		out, err := exec.CommandContext(ctx, "ip", clArgs...).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("iperf3 client: %w: %s", err, out)
		}
		clientErr <- err
	}()

	var rc *net.UDPConn
	var sc net.PacketConn
	if err := l.Do(link.SideB, func() error {
		var err error
		rc, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(b)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := l.Do(link.SideA, func() error {
		var err error
		sc, err = net.ListenPacket("udp4", l.AddrA().String()+":0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	var oursJ []float64
	start := time.Now()
	r, err := udpio.Listen(udpio.RecvOptions{Conn: rc, UntilEnd: true, Linger: 500 * time.Millisecond,
		Interval: 250 * time.Millisecond, Progress: func(res udpio.Result) {
			if time.Since(start) >= time.Second && res.Total.Received > 0 && !res.Total.Ended {
				oursJ = append(oursJ, res.Total.JitterMS)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan udpio.Result, 1)
	go func() {
		res, _ := r.Run(ctx)
		done <- res
	}()
	if _, err := udpio.Send(ctx, udpio.SendOptions{Conn: sc, To: rc.LocalAddr().String(), Duration: iperfSeconds * time.Second, Rate: 1000, Size: 500}); err != nil {
		t.Fatal(err)
	}
	ours := testkit.Recv(t, 30*time.Second, "our receiver to end", done)
	if err := testkit.Recv(t, 30*time.Second, "the iperf3 client to end", clientErr); err != nil {
		return iperfServer{}, ours, oursJ, err
	}
	serr := srv.Wait()
	srvDone = true
	if serr != nil {
		return iperfServer{}, ours, oursJ, fmt.Errorf("iperf3 server: %w: %s", serr, srvOut.String())
	}
	var res iperfServer
	if err := json.Unmarshal(srvOut.Bytes(), &res); err != nil || res.Error != "" {
		return res, ours, oursJ, fmt.Errorf("iperf3 server JSON: %v %s", err, res.Error)
	}
	return res, ours, oursJ, nil
}

// modelJitter simulates the link's delay model for a stream of rate
// datagrams/s and returns the mean of RFC 3550 J sampled every 250 ms after
// the first second, as the test samples it.
func modelJitter(rate float64, delay, jitter time.Duration, seconds int) float64 {
	r := rand.New(rand.NewPCG(7, 7))
	n := int(rate) * seconds
	type pkt struct{ sent, arr float64 }
	ps := make([]pkt, n)
	for i := range ps {
		sent := float64(i) / rate
		ps[i] = pkt{sent, sent + delay.Seconds() + (r.Float64()*2-1)*jitter.Seconds()}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].arr < ps[j].arr })
	var j, prev float64
	var samples []float64
	next := 1.0
	for i, p := range ps {
		tr := p.arr - p.sent
		if i > 0 {
			j += (math.Abs(tr-prev) - j) / 16
		}
		prev = tr
		if p.arr >= next {
			samples = append(samples, j*1000)
			next += 0.25
		}
	}
	return mean(samples)
}
