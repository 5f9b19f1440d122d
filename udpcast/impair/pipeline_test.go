package impair_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/wiredojo/wiredojo/udpcast/impair"
)

// drain pops everything due by now and returns the first byte of each
// packet (the tests number packets with it).
func drain(p *impair.Pipeline, now int64) []int {
	var got []int
	for {
		b, ok := p.Pop(now)
		if !ok {
			return got
		}
		got = append(got, int(b[0])|int(b[1])<<8)
		p.Release(b)
	}
}

func pkt(i int) []byte { return []byte{byte(i), byte(i >> 8), 0, 0, 0, 0, 0, 0} }

func run(cfg impair.Config, n int, step time.Duration) ([]int, impair.Stats) {
	p := impair.New(cfg)
	var out []int
	now := int64(0)
	for i := range n {
		p.Push(now, pkt(i))
		out = append(out, drain(p, now)...)
		now += int64(step)
	}
	p.Flush(now)
	out = append(out, drain(p, math.MaxInt64)...)
	return out, p.Stats()
}

func TestNoImpairmentPassesEverythingInOrder(t *testing.T) {
	t.Parallel()
	out, st := run(impair.Config{}, 100, time.Millisecond)
	for i, v := range out {
		if v != i {
			t.Fatalf("packet %d came out as %d", i, v)
		}
	}
	if len(out) != 100 || st.In != 100 || st.Out != 100 {
		t.Fatalf("out %d, stats %+v", len(out), st)
	}
}

func TestSeedReproducible(t *testing.T) {
	t.Parallel()
	cfg := impair.Config{Loss: 0.1, Duplicate: 0.05, Reorder: 0.05, Delay: 5 * time.Millisecond, Jitter: 3 * time.Millisecond, Seed: 42}
	a, sa := run(cfg, 2000, 200*time.Microsecond)
	b, sb := run(cfg, 2000, 200*time.Microsecond)
	if sa != sb || len(a) != len(b) {
		t.Fatalf("same seed, different runs: %+v vs %+v", sa, sb)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different order at %d", i)
		}
	}
	cfg.Seed = 43
	_, sc := run(cfg, 2000, 200*time.Microsecond)
	if sc == sa {
		t.Fatalf("different seeds gave identical stats %+v", sc)
	}
}

func TestLossRate(t *testing.T) {
	t.Parallel()
	const n = 100000
	for _, tc := range []struct {
		name string
		cfg  impair.Config
		want float64
	}{
		{"bernoulli 5%", impair.Config{Loss: 0.05, Seed: 1}, 0.05},
		{"bernoulli 30%", impair.Config{Loss: 0.30, Seed: 2}, 0.30},
		{"gilbert-elliott", impair.Config{Burst: &impair.GilbertElliott{P: 0.01, R: 0.2, LossBad: 0.9, LossGood: 0.001}, Seed: 3},
			(&impair.GilbertElliott{P: 0.01, R: 0.2, LossBad: 0.9, LossGood: 0.001}).MeanLoss()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, st := run(tc.cfg, n, time.Microsecond)
			if uint64(len(out)) != st.Out || st.In-st.Lost != st.Out {
				t.Fatalf("counters disagree: %d out, %+v", len(out), st)
			}
			got := float64(st.Lost) / n
			// Bursty loss varies more than Bernoulli; 20% relative is ample
			// for 100k packets with a fixed seed.
			if math.Abs(got-tc.want) > 0.2*tc.want {
				t.Fatalf("loss %.4f, want about %.4f", got, tc.want)
			}
		})
	}
}

func TestBurstLossIsBursty(t *testing.T) {
	t.Parallel()
	g, err := impair.ParseBurst("8", 0.05)
	if err != nil {
		t.Fatal(err)
	}
	p := impair.New(impair.Config{Burst: g, Seed: 9})
	runs, lost, cur := 0, 0, 0
	for i := range 200000 {
		if p.Push(int64(i), pkt(i)) == 0 {
			lost++
			cur++
		} else if cur > 0 {
			runs++
			cur = 0
		}
		drain(p, int64(i))
	}
	mean := float64(lost) / float64(runs)
	if mean < 6 || mean > 10 {
		t.Fatalf("mean burst length %.2f, want about 8", mean)
	}
	if r := float64(lost) / 200000; r < 0.04 || r > 0.06 {
		t.Fatalf("mean loss %.4f, want about 0.05", r)
	}
}

func TestDelayJitterAndDuplicate(t *testing.T) {
	t.Parallel()
	p := impair.New(impair.Config{Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Duplicate: 1, Seed: 5})
	if n := p.Push(0, pkt(1)); n != 2 {
		t.Fatalf("duplicate 100%%: %d copies", n)
	}
	if _, ok := p.Pop(int64(8*time.Millisecond) - 1); ok {
		t.Fatal("a packet came out before delay-jitter")
	}
	due, ok := p.NextDue()
	if !ok || due < int64(8*time.Millisecond) || due > int64(12*time.Millisecond) {
		t.Fatalf("next due %v %v, want within 10ms±2ms", time.Duration(due), ok)
	}
	if got := drain(p, int64(12*time.Millisecond)); len(got) != 2 {
		t.Fatalf("got %v, want the packet twice", got)
	}
	if st := p.Stats(); st.Duplicated != 1 || st.Delayed != 2 || st.Out != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRateSpacesPackets(t *testing.T) {
	t.Parallel()
	// 1000 bytes at 8 Mbit/s = 1 ms each.
	p := impair.New(impair.Config{Rate: 8e6})
	buf := make([]byte, 1000)
	for range 5 {
		p.Push(0, buf)
	}
	var dues []int64
	for {
		d, ok := p.NextDue()
		if !ok {
			break
		}
		dues = append(dues, d)
		b, _ := p.Pop(d)
		p.Release(b)
	}
	for i, d := range dues {
		if want := int64(i+1) * int64(time.Millisecond); d != want {
			t.Fatalf("packet %d due at %v, want %v", i, time.Duration(d), time.Duration(want))
		}
	}
	if st := p.Stats(); st.RateDelayed != 4 {
		t.Fatalf("rate-delayed %d, want 4", st.RateDelayed)
	}
}

func TestQueueLimit(t *testing.T) {
	t.Parallel()
	p := impair.New(impair.Config{Delay: time.Second, Limit: 10})
	for i := range 25 {
		p.Push(0, pkt(i))
	}
	if st := p.Stats(); st.QueueDropped != 15 || p.Len() != 10 {
		t.Fatalf("stats %+v len %d", st, p.Len())
	}
}

func TestReorder(t *testing.T) {
	t.Parallel()
	t.Run("overtakes the delay", func(t *testing.T) {
		p := impair.New(impair.Config{Delay: 10 * time.Millisecond})
		p.Push(0, pkt(0))
		q := impair.New(impair.Config{Delay: 10 * time.Millisecond, Reorder: 1})
		q.Push(0, pkt(1))
		if got := drain(q, 0); len(got) != 1 {
			t.Fatalf("reordered packet was delayed: %v", got)
		}
	})
	t.Run("zero delay swaps neighbours", func(t *testing.T) {
		out, st := run(impair.Config{Reorder: 0.2, Seed: 7}, 1000, time.Millisecond)
		if len(out) != 1000 {
			t.Fatalf("%d packets out", len(out))
		}
		late := 0
		seen := map[int]bool{}
		hi := -1
		for _, v := range out {
			if seen[v] {
				t.Fatalf("packet %d twice", v)
			}
			seen[v] = true
			if v < hi {
				late++
			}
			hi = max(hi, v)
		}
		if late == 0 || uint64(late) > st.Reordered {
			t.Fatalf("%d late packets, %d reorder decisions", late, st.Reordered)
		}
	})
}

func TestSteadyStateAllocs(t *testing.T) {
	p := impair.New(impair.Config{Loss: 0.1, Delay: time.Millisecond, Jitter: time.Millisecond, Duplicate: 0.1, Seed: 1})
	b := make([]byte, 1400)
	now := int64(0)
	step := func() {
		p.Push(now, b)
		now += int64(100 * time.Microsecond)
		for {
			x, ok := p.Pop(now)
			if !ok {
				break
			}
			p.Release(x)
		}
	}
	for range 1000 {
		step()
	}
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Fatalf("%v allocations per packet, want 0", n)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	probs := map[string]float64{"5%": 0.05, "0.05": 0.05, "0": 0, "100%": 1, " 2.5% ": 0.025}
	for in, want := range probs {
		got, err := impair.ParseProb(in)
		if err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("ParseProb(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"5", "-1%", "abc", "101%", ""} {
		if _, err := impair.ParseProb(in); !errors.Is(err, impair.ErrBadValue) {
			t.Errorf("ParseProb(%q) accepted", in)
		}
	}
	rates := map[string]float64{"10mbit": 10e6, "10Mbps": 10e6, "500kbit": 500e3, "1000": 1000, "1gbit": 1e9, "2MB/s": 16e6, "0": 0}
	for in, want := range rates {
		got, err := impair.ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := impair.ParseRate("fast"); !errors.Is(err, impair.ErrBadValue) {
		t.Error("ParseRate(fast) accepted")
	}
	g, err := impair.ParseBurst("1%,10%,70%,0.1%", 0)
	if err != nil || *g != (impair.GilbertElliott{P: 0.01, R: 0.1, LossBad: 0.7, LossGood: 0.001}) {
		t.Errorf("ParseBurst 4 values = %+v, %v", g, err)
	}
	g, err = impair.ParseBurst("4", 0.05)
	if err != nil || math.Abs(g.MeanLoss()-0.05) > 1e-9 || g.R != 0.25 {
		t.Errorf("ParseBurst mean length = %+v, %v", g, err)
	}
	if _, err := impair.ParseBurst("4", 0); err == nil {
		t.Error("ParseBurst without a mean loss accepted")
	}
	if err := (impair.Config{Loss: 2}).Validate(); err == nil {
		t.Error("Validate accepted loss 2")
	}
}

func BenchmarkPipeline(b *testing.B) {
	p := impair.New(impair.Config{Loss: 0.05, Delay: time.Millisecond, Jitter: 500 * time.Microsecond, Seed: 1})
	pk := make([]byte, 1400)
	b.ReportAllocs()
	now := int64(0)
	for b.Loop() {
		p.Push(now, pk)
		now += 1000
		for {
			x, ok := p.Pop(now)
			if !ok {
				break
			}
			p.Release(x)
		}
	}
}

// TestPushKeyedIgnoresOtherTraffic: a keyed packet's fate depends on the
// seed and its key only, not on what else went through the pipeline.
func TestPushKeyedIgnoresOtherTraffic(t *testing.T) {
	cfg := impair.Config{Loss: 0.2, Duplicate: 0.05, Seed: 7, Limit: 100000}
	fate := func(noise int) []int {
		p := impair.New(cfg)
		out := make([]int, 2000)
		for k := range out {
			for range (k * noise) % 5 {
				p.Push(0, []byte("unrelated")) // ND, ACKs: a different amount each run
			}
			out[k] = p.PushKeyed(0, []byte("data"), uint64(k))
		}
		return out
	}
	a, b := fate(0), fate(3)
	lost := 0
	for k := range a {
		if a[k] != b[k] {
			t.Fatalf("key %d: %d copies with one amount of other traffic, %d with another", k, a[k], b[k])
		}
		if a[k] == 0 {
			lost++
		}
	}
	if lost < 300 || lost > 500 {
		t.Errorf("%d of 2000 lost at 20%%", lost)
	}
	other := cfg
	other.Seed = 8
	p := impair.New(other)
	same := 0
	for k := range a {
		if p.PushKeyed(0, []byte("data"), uint64(k)) == a[k] {
			same++
		}
	}
	if same == len(a) {
		t.Error("another seed made the same decisions")
	}
}
