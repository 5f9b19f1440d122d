package natsbench

import "time"

// SlowEpisode is a run of slow deliveries whose events were sent close
// together: one stall somewhere between the publisher and the
// subscribers.
type SlowEpisode struct {
	// First and Last are the send times of its first and last event.
	First, Last time.Time
	// Deliveries counts its slow deliveries; Max is the slowest.
	Deliveries int
	Max        time.Duration
}

// SlowEpisodes groups slow deliveries (sorted by send time, as
// FanoutResult.Slow) into episodes: a delivery sent more than gap after the
// last one of the current episode begins another.
func SlowEpisodes(slow []SlowDelivery, gap time.Duration) []SlowEpisode {
	var out []SlowEpisode
	for _, d := range slow {
		if n := len(out); n > 0 && d.Sent.Sub(out[n-1].Last) <= gap {
			e := &out[n-1]
			e.Last = d.Sent
			e.Deliveries++
			e.Max = max(e.Max, d.Latency)
			continue
		}
		out = append(out, SlowEpisode{First: d.Sent, Last: d.Sent, Deliveries: 1, Max: d.Latency})
	}
	return out
}
