package tcpchat

import (
	"net/http"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var errTooManyFiles = syscall.EMFILE

// metrics are the server's counters, exported at GET /metrics.
type metrics struct {
	eventsIn      atomic.Int64
	packetsOut    atomic.Int64
	slowCuts      atomic.Int64
	rateCuts      atomic.Int64
	badPackets    atomic.Int64
	volatileDrops atomic.Int64
	reg           *prometheus.Registry
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "wiredojo", Subsystem: "chat", Name: name, Help: help}, f))
	}
	counter := func(name, help string, v *atomic.Int64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "wiredojo", Subsystem: "chat", Name: name, Help: help}, func() float64 { return float64(v.Load()) }))
	}
	gauge("connections", "Open connections.", func() float64 { return float64(s.Connections()) })
	gauge("namespaces", "Namespaces.", func() float64 { return float64(s.Namespaces()) })
	gauge("rooms", "Rooms over every namespace.", func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		n := 0
		for _, ns := range s.nss {
			n += ns.adapter.Rooms()
		}
		return float64(n)
	})
	counter("events_in_total", "Events received from clients.", &m.eventsIn)
	counter("packets_out_total", "Packets written to clients (events, acks, pings, ...).", &m.packetsOut)
	counter("slow_consumer_cuts_total", "Connections cut because their send queue overflowed or a write timed out.", &m.slowCuts)
	counter("rate_limit_cuts_total", "Connections cut for exceeding the rate limit.", &m.rateCuts)
	counter("bad_packets_total", "Malformed packets or oversized frames received.", &m.badPackets)
	counter("volatile_drops_total", "Volatile packets dropped for busy recipients.", &m.volatileDrops)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Stats are counters of a server since it started.
type Stats struct {
	Connections      int   // open now
	EventsIn         int64 // events received
	PacketsOut       int64 // packets written
	SlowConsumerCuts int64 // connections cut for a full queue or a slow write
	RateLimitCuts    int64 // connections cut for exceeding the rate limit
	BadPackets       int64 // malformed packets and oversized frames
	VolatileDrops    int64 // volatile packets dropped for busy recipients
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	m := s.metrics
	return Stats{
		Connections:      s.Connections(),
		EventsIn:         m.eventsIn.Load(),
		PacketsOut:       m.packetsOut.Load(),
		SlowConsumerCuts: m.slowCuts.Load(),
		RateLimitCuts:    m.rateCuts.Load(),
		BadPackets:       m.badPackets.Load(),
		VolatileDrops:    m.volatileDrops.Load(),
	}
}
