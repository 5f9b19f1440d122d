package impair

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultLimit is the queue limit (packets held by the pipeline) when
// Config.Limit is 0; netem's default too.
const DefaultLimit = 1000

// GilbertElliott is the four-parameter burst-loss model of netem's
// "loss gemodel p r 1-h 1-k": a Markov chain with a good and a bad state.
// All four are probabilities in [0, 1].
type GilbertElliott struct {
	P        float64 // good -> bad transition, per packet
	R        float64 // bad -> good transition, per packet
	LossBad  float64 // 1-h: loss probability in the bad state
	LossGood float64 // 1-k: loss probability in the good state
}

// MeanLoss returns the long-run loss probability of the model.
func (g GilbertElliott) MeanLoss() float64 {
	if g.P+g.R == 0 {
		return g.LossGood
	}
	bad := g.P / (g.P + g.R)
	return bad*g.LossBad + (1-bad)*g.LossGood
}

// Config describes one direction of an impaired path. The zero value
// impairs nothing.
type Config struct {
	Loss      float64         // Bernoulli loss probability, [0, 1]
	Burst     *GilbertElliott // when set, replaces Loss
	Duplicate float64         // probability that a packet is sent twice
	Reorder   float64         // probability that a packet skips the delay (overtakes)
	Delay     time.Duration   // fixed one-way delay
	Jitter    time.Duration   // delay varies uniformly in [Delay-Jitter, Delay+Jitter]
	Rate      float64         // link rate in bits per second; 0 = unlimited
	Limit     int             // packets held at once; 0 = DefaultLimit
	Seed      uint64          // same seed + same pushes = same decisions (PushKeyed: same seed + same key)
}

// Enabled reports whether c changes anything at all.
func (c Config) Enabled() bool {
	return c.Loss > 0 || c.Burst != nil || c.Duplicate > 0 || c.Reorder > 0 ||
		c.Delay > 0 || c.Jitter > 0 || c.Rate > 0 || c.Limit > 0
}

// Validate checks every probability and duration.
func (c Config) Validate() error {
	probs := []struct {
		name string
		v    float64
	}{{"loss", c.Loss}, {"dup", c.Duplicate}, {"reorder", c.Reorder}}
	if c.Burst != nil {
		probs = append(probs, struct {
			name string
			v    float64
		}{"burst p", c.Burst.P}, struct {
			name string
			v    float64
		}{"burst r", c.Burst.R}, struct {
			name string
			v    float64
		}{"burst 1-h", c.Burst.LossBad}, struct {
			name string
			v    float64
		}{"burst 1-k", c.Burst.LossGood})
	}
	for _, p := range probs {
		if !(p.v >= 0 && p.v <= 1) {
			return fmt.Errorf("%w: %s %v is not a probability between 0%% and 100%%", ErrBadValue, p.name, p.v)
		}
	}
	if c.Delay < 0 || c.Jitter < 0 {
		return fmt.Errorf("%w: delay and jitter must not be negative", ErrBadValue)
	}
	if c.Rate < 0 || c.Limit < 0 {
		return fmt.Errorf("%w: rate and limit must not be negative", ErrBadValue)
	}
	return nil
}

// String describes c the way netem's tc command line would.
func (c Config) String() string {
	if !c.Enabled() {
		return "no impairment"
	}
	var parts []string
	if c.Burst != nil {
		b := c.Burst
		parts = append(parts, fmt.Sprintf("loss gemodel p=%s r=%s 1-h=%s 1-k=%s (mean %s)", pct(b.P), pct(b.R), pct(b.LossBad), pct(b.LossGood), pct(b.MeanLoss())))
	} else if c.Loss > 0 {
		parts = append(parts, "loss "+pct(c.Loss))
	}
	if c.Duplicate > 0 {
		parts = append(parts, "duplicate "+pct(c.Duplicate))
	}
	if c.Reorder > 0 {
		parts = append(parts, "reorder "+pct(c.Reorder))
	}
	if c.Delay > 0 || c.Jitter > 0 {
		s := "delay " + c.Delay.String()
		if c.Jitter > 0 {
			s += " jitter " + c.Jitter.String()
		}
		parts = append(parts, s)
	}
	if c.Rate > 0 {
		parts = append(parts, "rate "+FormatBits(c.Rate))
	}
	if c.Limit > 0 {
		parts = append(parts, "limit "+strconv.Itoa(c.Limit))
	}
	parts = append(parts, "seed "+strconv.FormatUint(c.Seed, 10))
	return strings.Join(parts, ", ")
}

func pct(p float64) string { return strconv.FormatFloat(p*100, 'g', 4, 64) + "%" }

// ParseProb parses a probability: "5%" is 0.05, and a bare number is a
// fraction between 0 and 1 ("0.05").
func ParseProb(s string) (float64, error) {
	t := strings.TrimSpace(s)
	percent := strings.HasSuffix(t, "%")
	t = strings.TrimSuffix(t, "%")
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a probability (write 5%% or 0.05)", ErrBadValue, s)
	}
	if percent {
		v /= 100
	} else if v > 1 {
		return 0, fmt.Errorf("%w: %q is above 1; for a percentage write %s%%", ErrBadValue, s, t)
	}
	if !(v >= 0 && v <= 1) {
		return 0, fmt.Errorf("%w: %q is not between 0%% and 100%%", ErrBadValue, s)
	}
	return v, nil
}

// ParseBurst parses a Gilbert–Elliott model. Two forms:
//
//   - "p,r,1-h,1-k" (netem's gemodel order; "1-h" defaults to 100% and
//     "1-k" to 0% when left out), each a probability as ParseProb reads it;
//   - a single mean burst length in packets ("4"), which together with the
//     mean loss gives the simple Gilbert model: r = 1/len,
//     p = loss*r/(1-loss), 1-h = 100%, 1-k = 0%.
func ParseBurst(s string, meanLoss float64) (*GilbertElliott, error) {
	fields := strings.Split(s, ",")
	if len(fields) == 1 {
		n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%w: burst %q: give a mean burst length >= 1 or p,r,1-h,1-k", ErrBadValue, s)
		}
		if !(meanLoss > 0 && meanLoss < 1) {
			return nil, fmt.Errorf("%w: burst %s needs a mean loss between 0%% and 100%%", ErrBadValue, s)
		}
		r := 1 / n
		return &GilbertElliott{P: meanLoss * r / (1 - meanLoss), R: r, LossBad: 1}, nil
	}
	if len(fields) > 4 {
		return nil, fmt.Errorf("%w: burst %q has more than 4 values (p,r,1-h,1-k)", ErrBadValue, s)
	}
	vals := []float64{0, 0, 1, 0}
	for i, f := range fields {
		v, err := ParseProb(f)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	g := &GilbertElliott{P: vals[0], R: vals[1], LossBad: vals[2], LossGood: vals[3]}
	if g.P > 1 || g.R > 1 {
		return nil, fmt.Errorf("%w: burst %q", ErrBadValue, s)
	}
	return g, nil
}

// ParseRate parses a bit rate: "10mbit", "10Mbps", "1.5gbit", "800kbit",
// "1000000" (bits per second), "2MB/s" (bytes per second). 0 means unlimited.
func ParseRate(s string) (float64, error) {
	raw := strings.TrimSpace(s)
	mult := 1.0
	t := raw
	switch {
	case strings.HasSuffix(t, "B/s"):
		mult, t = 8, strings.TrimSuffix(t, "B/s")
	case strings.HasSuffix(t, "Bps"):
		mult, t = 8, strings.TrimSuffix(t, "Bps")
	}
	t = strings.ToLower(t)
	for _, suf := range []string{"bit/s", "bits", "bit", "bps", "b/s"} {
		if strings.HasSuffix(t, suf) {
			t = strings.TrimSuffix(t, suf)
			break
		}
	}
	switch {
	case strings.HasSuffix(t, "k"):
		mult *= 1e3
		t = strings.TrimSuffix(t, "k")
	case strings.HasSuffix(t, "m"):
		mult *= 1e6
		t = strings.TrimSuffix(t, "m")
	case strings.HasSuffix(t, "g"):
		mult *= 1e9
		t = strings.TrimSuffix(t, "g")
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || !(v >= 0) {
		return 0, fmt.Errorf("%w: %q is not a rate (write 10mbit, 500kbit or bits per second)", ErrBadValue, s)
	}
	return v * mult, nil
}

// FormatBits formats a bit rate for people: "10 Mbit/s".
func FormatBits(bps float64) string {
	switch {
	case bps >= 1e9:
		return strconv.FormatFloat(bps/1e9, 'f', 2, 64) + " Gbit/s"
	case bps >= 1e6:
		return strconv.FormatFloat(bps/1e6, 'f', 2, 64) + " Mbit/s"
	case bps >= 1e3:
		return strconv.FormatFloat(bps/1e3, 'f', 1, 64) + " kbit/s"
	}
	return strconv.FormatFloat(bps, 'f', 0, 64) + " bit/s"
}
