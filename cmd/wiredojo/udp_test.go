package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/internal/testkit"
	"github.com/wiredojo/wiredojo/udpcast/impair"
	"github.com/wiredojo/wiredojo/udpcast/stats"
	"github.com/wiredojo/wiredojo/udpcast/udpio"
)

// udpFreePort returns a loopback UDP port that was free a moment ago.
func udpFreePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// udpWaitBound waits until something has bound 127.0.0.1:port (our own bind
// then fails), so a sender does not race the receiver's start.
func udpWaitBound(t *testing.T, port int, exited func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, fmt.Sprintf("udp recv to bind port %d", port), func() bool {
		if exited() {
			return true // the caller reports how the receiver ended
		}
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
}

func udpRunCLI(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(ctx, append([]string{"wiredojo"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestUDPSendRecvJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type result struct {
		code     int
		out, err string
	}
	var (
		addr string
		done chan result
	)
	// A port free a moment ago can be taken by another process before the
	// receiver binds it (packages' tests run in parallel): try a new one.
	for attempt := 1; ; attempt++ {
		port := udpFreePort(t)
		addr = "127.0.0.1:" + strconv.Itoa(port)
		done = make(chan result, 1)
		go func() {
			code, out, errs := udpRunCLI(ctx, "udp", "recv", "--addr", addr, "--until-end", "--json", "--run-id", "00000000000000ab")
			done <- result{code, out, errs}
		}()
		var early *result
		udpWaitBound(t, port, func() bool {
			select {
			case r := <-done:
				early = &r
				return true
			default:
				return false
			}
		})
		if early == nil {
			break
		}
		if strings.Contains(early.err, "address already in use") && attempt < 5 {
			t.Logf("port %d was taken before recv bound it; trying another", port)
			continue
		}
		t.Fatalf("recv ended before anything was sent: exit %d: %s %s", early.code, early.out, early.err)
	}
	// Only one CLI at a time in a process: urfave/cli's global help flag is
	// written on every run, so the sender here is the library.
	sres, err := udpio.Send(ctx, udpio.SendOptions{To: addr, Count: 3000, Rate: 30000, Size: 100,
		Impair: impair.Config{Loss: 0.05, Seed: 1}, RunID: 0xab})
	if err != nil {
		t.Fatal(err)
	}
	r := testkit.Recv(t, 30*time.Second, "udp recv --until-end to end after the sender's end marker", done)
	if r.code != 0 {
		t.Fatalf("recv exit %d: %s %s", r.code, r.out, r.err)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(r.out), &sum); err != nil {
		t.Fatalf("recv --json: %v\n%s", err, r.out)
	}
	for _, k := range []string{"sent", "received", "lost", "duplicates", "reordered", "jitter_ms", "latency_ms", "throughput_bps"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q: %s", k, r.out)
		}
	}
	lat, _ := sum["latency_ms"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_ms lacks %q", k)
		}
	}
	if sum["sent"].(float64) != 3000 {
		t.Errorf("sent %v, want 3000", sum["sent"])
	}
	lost := sum["lost"].(float64) - sum["kernel_drops"].(float64)
	if lost != float64(sres.Impair.Lost) && sum["kernel_drops"].(float64) == 0 {
		t.Errorf("lost %v, the pipeline dropped %d", lost, sres.Impair.Lost)
	}
}

func TestUDPSendCLI(t *testing.T) {
	r, err := udpio.Listen(udpio.RecvOptions{Addr: "127.0.0.1:0", UntilEnd: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan udpio.Result, 1)
	go func() {
		res, _ := r.Run(ctx)
		done <- res
	}()
	code, out, errs := udpRunCLI(ctx, "--no-color", "udp", "send", "--to", r.Addr().String(), "--count", "3000", "--rate", "30000", "--size", "100", "--loss", "5%", "--dup", "1%", "--seed", "1")
	if code != 0 {
		cancel()
		testkit.Recv(t, 10*time.Second, "the receiver to stop after the cancel", done)
		t.Fatalf("send exit %d: %s %s", code, out, errs)
	}
	for _, want := range []string{"sent 3000 datagrams", "lost", "duplicated", "queue-dropped", "seed 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("send output lacks %q:\n%s", want, out)
		}
	}
	res := testkit.Recv(t, 30*time.Second, "the receiver to end after the sender's end marker", done)
	if res.Total.Sent != 3000 || res.Total.Received == 0 || res.Total.Duplicates == 0 {
		t.Errorf("receiver saw %+v", res.Total)
	}
}

// udp send and udp recv name a run the same way: --run-id, in the hex
// that udp send prints.
func TestUDPRunIDIsOneFlag(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, out, errs := udpRunCLI(ctx, "udp", "send", "--to", "127.0.0.1:"+strconv.Itoa(udpFreePort(t)), "--count", "1", "--run-id", "00000000000000AB", "--json")
	if code != 0 || !strings.Contains(out, `"run_id":"00000000000000ab"`) {
		t.Fatalf("udp send --run-id 00000000000000AB: exit %d, %s %s; want run_id 00000000000000ab", code, out, errs)
	}
}

func TestUDPUsageErrors(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"udp", "send", "--count", "1"},
		{"udp", "send", "--to", "127.0.0.1:9", "--loss", "5"},
		{"udp", "send", "--to", "127.0.0.1:9", "--size", "10"},
		{"udp", "send", "--to", "127.0.0.1:9", "--rate", "fast"},
		{"udp", "send", "--to", "127.0.0.1:9", "--burst", "4"},
		{"udp", "recv", "--group", "10.1.1.1", "--addr", "127.0.0.1:0"},
		{"udp", "recv", "--run-id", "zz"},
		{"udp", "send", "--to", "127.0.0.1:9", "--run-id", "12x"},
	} {
		if code, _, errs := udpRunCLI(ctx, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, errs)
		}
	}
}

func TestParseSendRate(t *testing.T) {
	for in, want := range map[string]float64{"1000": 1000, "250pps": 250, "8mbit": 1000, "": 0} {
		got, err := parseSendRate(in, 1000)
		if err != nil || got != want {
			t.Errorf("parseSendRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// TestUDPSendNobodyListening: ICMP port-unreachable is reported in words,
// with a warning mark and counts that add up, and the exit is 0.
func TestUDPSendNobodyListening(t *testing.T) {
	to := "127.0.0.1:" + strconv.Itoa(udpFreePort(t))
	for _, extra := range [][]string{nil, {"--no-batch"}} {
		args := append([]string{"--no-color", "udp", "send", "--to", to, "--count", "200", "--size", "64"}, extra...)
		code, out, errs := udpRunCLI(context.Background(), args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s %s", extra, code, out, errs)
		}
		if !strings.Contains(out, "nobody is listening on "+to+" (port unreachable)") || strings.Contains(out, "✓") {
			t.Errorf("%v: output does not say nobody listens, or still ticks:\n%s", extra, out)
		}
		if extra != nil && !strings.Contains(out, "= 200 offered") {
			t.Errorf("%v: the counts do not add up to 200:\n%s", extra, out)
		}
	}
}

// TestValueChecksAreUsageErrors: values no run can use are usage errors
// (exit 2) with a message naming the flag, never a run that never ends or a
// system call's error.
func TestValueChecksAreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"udp", "send", "--to", "127.0.0.1:9", "--duration", "-1s"}, "--duration"},
		{[]string{"udp", "send", "--to", "127.0.0.1:9", "--ttl", "-1"}, "--ttl"},
		{[]string{"udp", "send", "--group", "239.1.2.3", "--ttl", "300"}, "--ttl"},
		{[]string{"udp", "recv", "--duration", "-1s"}, "--duration"},
		{[]string{"capture", "read", "--count", "-5", "x.pcap"}, "--count"},
		{[]string{"capture", "read", dir}, "is a directory"},
		{[]string{"chat", "emit", "--event", "x", "--timeout", "-1s"}, "--timeout"},
	} {
		code, out, errs := udpRunCLI(ctx, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q; stdout %q stderr %q", tc.args, code, exitUsage, tc.want, out, errs)
		}
	}
}

// TestUDPRecvListensOnLoopback: udp recv binds loopback by default, as chat
// serve does, and says so in its help.
func TestUDPRecvListensOnLoopback(t *testing.T) {
	for _, f := range udpRecvCommand().Flags {
		if f.Names()[0] == "addr" {
			if v := f.(*cli.StringFlag).Value; v != "127.0.0.1:9999" {
				t.Errorf("udp recv --addr defaults to %q, want loopback 127.0.0.1:9999", v)
			}
		}
	}
	if !strings.Contains(udpRecvCommand().Description, "loopback") {
		t.Error("udp recv's help does not say it listens on loopback")
	}
}

// TestUDPRecvPrintsRejections: what the receiver refused to believe is
// counted in its output.
func TestUDPRecvPrintsRejections(t *testing.T) {
	var b bytes.Buffer
	printRecv(&b, udpio.Result{Invalid: udpio.Invalid{ZeroRun: 1, BadEnd: 2, BadTime: 3}}, "")
	for _, want := range []string{"run id 0 1", "implausible end markers 2", "3 datagrams counted as received, left out of latency and jitter"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

// TestUDPRecvSaysWhereDatagramsWent: the human summary and the JSON say how
// many datagrams were addressed to each kind of destination.
func TestUDPRecvSaysWhereDatagramsWent(t *testing.T) {
	res := udpio.Result{Destinations: udpio.Destinations{Unicast: 3, Broadcast: 5, Group: 7}}
	var b bytes.Buffer
	printRecv(&b, res, "239.1.2.3")
	if want := "addressed to: unicast 3, broadcast 5, group 239.1.2.3 7, other groups 0"; !strings.Contains(b.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, b.String())
	}
	j, err := json.Marshal(recvJSON(res, "239.1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `"destinations":{"unicast":3,"broadcast":5,"group":7,"other_group":0,"unknown":0}`; !strings.Contains(string(j), want) {
		t.Errorf("JSON lacks %s:\n%s", want, j)
	}
}

// A receiver whose datagrams all came in one batch (one arrival time) has
// no throughput to show: the summary says so, not "0 bit/s".
func TestSummaryWithoutThroughput(t *testing.T) {
	for _, tc := range []struct {
		sum  stats.Summary
		want string
	}{
		{stats.Summary{Received: 20, Bytes: 1280}, "throughput not measured (all arrived at once)"},
		{stats.Summary{Received: 1, Bytes: 64}, "throughput not measured (fewer than two datagrams)"},
		{stats.Summary{Received: 20, Bytes: 1280, ThroughputBPS: 10e6}, "10.00 Mbit/s"},
	} {
		var b strings.Builder
		printSummary(&b, tc.sum, "")
		if !strings.Contains(b.String(), tc.want) || strings.Contains(b.String(), " 0 bit/s") {
			t.Errorf("summary of %+v:\n%s\nwant %q", tc.sum, b.String(), tc.want)
		}
	}
}
