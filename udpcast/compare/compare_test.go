package compare_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wiredojo/wiredojo/internal/testdep"
	"github.com/wiredojo/wiredojo/udpcast/compare"
	"github.com/wiredojo/wiredojo/udpcast/impair"
	"github.com/wiredojo/wiredojo/udpcast/link"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var lossy = impair.Config{Loss: 0.05, Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 1}

// tempLinkName returns a fresh link name and removes the link after the
// test if it is left behind.
func tempLinkName(t *testing.T, prefix string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	name := prefix + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if link.Exists(name) {
			_ = link.Remove(name)
		}
	})
	return name
}

func checkJSON(t *testing.T, res compare.Result) {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"tcp", "udp"} {
		for _, k := range []string{"sent", "received", "lost", "duplicates", "reordered", "jitter_ms", "latency_ms", "throughput_bps"} {
			if _, ok := m[side][k]; !ok {
				t.Errorf("%s lacks %q: %s", side, k, b)
			}
		}
	}
	if _, ok := m["tcp"]["hol_blocking_ms"]; !ok {
		t.Errorf("tcp lacks hol_blocking_ms: %s", b)
	}
	if _, ok := m["udp"]["hol_blocking_ms"]; ok {
		t.Errorf("udp has hol_blocking_ms: %s", b)
	}
}

func TestCompareNoLink(t *testing.T) {
	res, err := compare.Run(context.Background(), compare.Options{Count: 500, Size: 200, Rate: 2000, Impair: lossy, Link: compare.LinkNone})
	if err != nil {
		t.Fatal(err)
	}
	if res.Link != compare.LinkNone || res.Notice == "" {
		t.Errorf("mode %q notice %q", res.Link, res.Notice)
	}
	if res.TCP.Received != 500 || res.TCP.Lost != 0 {
		t.Errorf("tcp over loopback lost messages: %+v", res.TCP.Summary)
	}
	u := res.UDP
	if u.Sent != 500 || u.Lost == 0 || u.Lost > 60 {
		t.Errorf("udp with 5%% loss: %+v", u.Summary)
	}
	if u.LatencyMS.P50 < 8 || u.LatencyMS.P50 > 200 {
		t.Errorf("udp latency p50 %.2f ms with 10ms±2ms", u.LatencyMS.P50)
	}
	nan := 0
	for _, v := range u.LatencyByMsg {
		if math.IsNaN(v) {
			nan++
		}
	}
	if uint64(nan) != u.Lost {
		t.Errorf("%d messages without latency, %d lost", nan, u.Lost)
	}
	checkJSON(t, res)
}

func TestCompareOverLink(t *testing.T) {
	testdep.RequireRoot(t)
	testdep.Require(t, "ip", "apt-get install iproute2")
	name := tempLinkName(t, "q")
	res, err := compare.Run(context.Background(), compare.Options{Count: 600, Size: 200, Rate: 1000, Impair: lossy, Link: compare.LinkAuto, LinkName: name})
	if err != nil {
		t.Fatal(err)
	}
	if link.Exists(name) {
		t.Error("link left behind")
	}
	if res.Link != compare.LinkNetns {
		t.Fatalf("as root, auto chose %q", res.Link)
	}
	if res.Congestion != "cubic" {
		t.Errorf("tcp congestion control %q, want cubic", res.Congestion)
	}
	tc, u := res.TCP, res.UDP
	if tc.Received != 600 || tc.Lost != 0 || tc.Duplicates != 0 || tc.Reordered != 0 {
		t.Errorf("tcp must deliver everything once and in order: %+v", tc.Summary)
	}
	if u.Lost == 0 || u.Lost > 80 {
		t.Errorf("udp with 5%% loss: %+v", u.Summary)
	}
	// 5% segment loss on a 600-message stream blocks some TCP messages
	// behind retransmissions.
	if tc.HOLBlockingMS == nil || *tc.HOLBlockingMS <= 0 || tc.HOLBlocked == 0 {
		t.Errorf("no head-of-line blocking measured: %+v blocked %d", tc.HOLBlockingMS, tc.HOLBlocked)
	}
	// A retransmitted segment arrives at least one round trip (2 x (10 -
	// 2) ms) later than it would have: TCP's worst latency must show it.
	if tc.LatencyMS.Max < 24 {
		t.Errorf("tcp max latency %.1f ms: no sign of a retransmission on a 5%%-loss link", tc.LatencyMS.Max)
	}
	checkJSON(t, res)
}

func TestCompareOptions(t *testing.T) {
	for _, o := range []compare.Options{{Size: 10}, {Count: -1}, {Link: "wormhole"}, {Impair: impair.Config{Loss: 2}}} {
		if _, err := compare.Run(context.Background(), o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

// TestCompareSameSeedSameLoss: over the link, the same seed drops the same
// UDP messages run after run, though TCP's run before it and other packets
// cross the same pipeline in different numbers each time.
func TestCompareSameSeedSameLoss(t *testing.T) {
	testdep.RequireRoot(t)
	testdep.Require(t, "ip", "apt-get install iproute2")
	lostSet := func() []int {
		name := tempLinkName(t, "s")
		res, err := compare.Run(context.Background(), compare.Options{Count: 400, Size: 200, Rate: 2000,
			Impair: impair.Config{Loss: 0.05, Seed: 7}, Link: compare.LinkNetns, LinkName: name})
		if err != nil {
			t.Fatal(err)
		}
		var lost []int
		for i, v := range res.UDP.LatencyByMsg {
			if math.IsNaN(v) {
				lost = append(lost, i)
			}
		}
		return lost
	}
	a, b := lostSet(), lostSet()
	if len(a) == 0 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("seed 7 lost %d messages %v in one run, %d %v in the next", len(a), a, len(b), b)
	}
}

// TestCompareNoLossNoHOL: over a delayed link that neither loses nor
// reorders (no jitter), no TCP
// message waits behind a missing one, so the head-of-line figure is 0.
func TestCompareNoLossNoHOL(t *testing.T) {
	testdep.RequireRoot(t)
	testdep.Require(t, "ip", "apt-get install iproute2")
	name := tempLinkName(t, "h")
	res, err := compare.Run(context.Background(), compare.Options{Count: 300, Size: 200, Rate: 2000,
		Impair: impair.Config{Delay: 5 * time.Millisecond, Seed: 1}, Link: compare.LinkNetns, LinkName: name})
	if err != nil {
		t.Fatal(err)
	}
	tc := res.TCP
	if tc.HOLBlockingMS == nil || *tc.HOLBlockingMS != 0 || tc.HOLBlocked != 0 {
		t.Errorf("nothing was lost, yet %d messages waited %v ms", tc.HOLBlocked, *tc.HOLBlockingMS)
	}
}
