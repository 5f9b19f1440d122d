package tcpchat

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wiredojo/wiredojo/tcpchat/store"
)

var errTooManyFiles = syscall.EMFILE

// metrics are the server's counters, exported at GET /metrics.
type metrics struct {
	eventsIn      atomic.Int64
	packetsOut    atomic.Int64
	writes        atomic.Int64 // write calls of the writers, each a batch of packets (conn.go)
	slowCuts      atomic.Int64
	rateCuts      atomic.Int64
	heartbeatCuts atomic.Int64 // connections ended by the heartbeat (conn.go readError)
	badPackets    atomic.Int64
	volatileDrops atomic.Int64
	nsRefused     atomic.Int64 // connects refused at Options.MaxNamespaces (server.go)
	connNSRefused atomic.Int64 // connects refused at Options.MaxNamespacesPerConn (conn.go)
	roomsRefused  atomic.Int64 // Socket.Join refused at Options.MaxRoomsPerConn (socket.go)
	refusedIDs    atomic.Int64 // handshakes refused: client id of another client (durable.go)
	refusedNewIDs atomic.Int64 // handshakes refused: a new client id, the store at store.Limits.MaxClients (durable.go)
	sendWaits     atomic.Int64 // sends that waited for room in a full queue (conn.go)
	recovered     atomic.Int64 // sessions resumed (recovery.go)
	replayed      atomic.Int64 // broadcasts replayed to resumed sessions
	durableNoAck  atomic.Int64 // queued events a transport sent without an ack id (Count(DurableWithoutAck))
	inboxWaits    atomic.Int64 // Socket.IO messages that waited for room in their session's inbox (Count(InboxWait))
	hsTimeouts    atomic.Int64 // sockets closed at the handshake timeout (server.go sniff, prefixConn and httpConnState, conn.go readError, tls.go serveTLS, websocket.go upgradeRaw)
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
	gauge("sockets_open", "Accepted sockets not closed (every kind) and Socket.IO polling sessions not ended, counted against the connection cap.", func() float64 {
		s.lim.mu.Lock()
		defer s.lim.mu.Unlock()
		return float64(s.lim.open)
	})
	gauge("addrs", "Addresses (IPv4, IPv6 /64) whose limits the server keeps state for: those with sockets open, and those whose last socket closed within 10 s (forgotten at the next heartbeat round after that), at most "+strconv.Itoa(maxIdleAddrs)+" of these (beyond, some are forgotten early: wiredojo_chat_addrs_forgotten_total).", func() float64 {
		s.lim.mu.Lock()
		defer s.lim.mu.Unlock()
		return float64(len(s.lim.addrs))
	})
	gauge("sockets_max", "The connection cap: Options.MaxConnections or the descriptor limit less the headroom (0: none).", func() float64 { return float64(s.lim.max) })
	counter("refused_connection_cap_total", "Sockets refused at the connection cap (beyond those let in for /healthz and /metrics).", &s.lim.refusedCap)
	counter("refused_addr_connections_total", "Sockets refused: their address had the most connections allowed open.", &s.lim.refusedAddrConns)
	counter("refused_addr_rate_total", "Sockets refused: their address made connection attempts faster than allowed.", &s.lim.refusedAddrRate)
	counter("addrs_forgotten_total", "Addresses without sockets whose state (their connection attempts per second) was forgotten before its 10 s because "+strconv.Itoa(maxIdleAddrs)+" such addresses were kept: many source addresses connected; the per-address attempt rate is counted afresh for them.", &s.lim.addrsForgotten)
	counter("addr_rate_waits_total", "Times a connection was not read because its address sent packets faster than allowed.", &s.lim.addrWaits)
	counter("namespaces_refused_total", "Connects refused because clients had created the most namespaces allowed.", &m.nsRefused)
	counter("refused_rooms_total", "Joins refused: they would have put a connection in more rooms, over all its namespaces, than one connection may be in.", &m.roomsRefused)
	counter("refused_conn_namespaces_total", "Namespace connects refused: their connection was in the most namespaces one connection may be in.", &m.connNSRefused)
	counter("handshake_timeouts_total", "Sockets closed because their first bytes (the framed preamble, a request line or a TLS record), after the preamble their handshake packet (code 5), the rest of their TLS handshake, the header of their WebSocket upgrade request, or the header of an HTTP request (the first, or a later one on a keep-alive socket once its first bytes came) did not arrive within the handshake timeout.", &m.hsTimeouts)
	counter("refused_client_id_total", "Handshakes refused: their client id belonged to another client (no or a wrong resume token).", &m.refusedIDs)
	counter("refused_new_client_id_total", "Handshakes refused: their client id was new and the store held the most client ids it keeps.", &m.refusedNewIDs)
	counter("events_in_total", "Events received from clients.", &m.eventsIn)
	counter("packets_out_total", "Packets written to clients (events, acks, pings, ...).", &m.packetsOut)
	counter("writes_total", "Batches of packets written to clients, each in one write call.", &m.writes)
	counter("slow_consumer_cuts_total", "Connections cut because their send queue overflowed (the chat's, or a Socket.IO session's own queue while it polls) or a write timed out.", &m.slowCuts)
	counter("rate_limit_cuts_total", "Connections cut for exceeding the rate limit.", &m.rateCuts)
	counter("heartbeat_cuts_total", "Connections ended because nothing (no packet, pong or Socket.IO poll) came within the ping interval plus the ping timeout.", &m.heartbeatCuts)
	counter("bad_packets_total", "Malformed packets or oversized frames received (Socket.IO too: malformed Engine.IO or Socket.IO packets, POST bodies and WebSocket messages over the size limit).", &m.badPackets)
	counter("volatile_drops_total", "Volatile packets dropped for busy recipients.", &m.volatileDrops)
	counter("socketio_inbox_waits_total", "Socket.IO messages posted by a polling session that waited because its inbox (64 messages posted and not yet read by the chat server) was full: the POST carrying them was not answered meanwhile.", &m.inboxWaits)
	counter("send_waits_total", "Sends that waited for room in a recipient's full send queue (backpressure).", &m.sendWaits)
	counter("sessions_recovered_total", "Connections that resumed a session (connection state recovery).", &m.recovered)
	counter("broadcasts_replayed_total", "Missed broadcasts sent to resumed sessions.", &m.replayed)
	d := s.dur
	counter("durable_emits_total", "Durable emits.", &d.emits)
	counter("durable_appended_total", "Durable queue appends (one per recipient).", &d.appended)
	counter("durable_delivered_total", "Queued events sent (redeliveries included).", &d.delivered)
	counter("durable_redelivered_total", "Queued events sent again to a client id.", &d.redelivered)
	counter("durable_acked_total", "Received packets that removed a queued event.", &d.acked)
	counter("durable_ack_not_pending_total", "Received packets for unknown or already acknowledged message ids.", &d.ackNotPending)
	counter("durable_bad_acks_total", "Received packets with a malformed message id.", &d.badAcks)
	counter("durable_store_errors_total", "Failed store operations.", &d.storeErrors)
	gauge("durable_waiting", "Durable emits queued for the store or being written (bounded; beyond the bound emits wait and their readers pause).",
		func() float64 { return float64(len(d.slots)) })
	counter("durable_batches_total", "Store writes of durable emits (group commits); durable_emits_total over this is emits per write.", &d.batches)
	counter("durable_conn_waits_total", "Client durable emits that waited because 1024 of their connection's were waiting for the store (its reads paused).", &d.connWaits)
	counter("durable_sent_without_ack_id_total", "Queued events a Socket.IO session sent without an ack id because 1024 of its queued events were waiting for the client's acks: the client cannot acknowledge them, they stay queued and come again on its next connection.", &m.durableNoAck)
	counter("durable_backlog_waits_total", "Durable emits that waited for room because durable_waiting was at its bound.", &d.backlogWaits)
	if rs := s.opts.RecoveryStore; rs != nil {
		gauge("replay_bytes", "Bytes held by the replay logs of connection state recovery (bounded per namespace and in all): with a Redis store the total of every node, as this node saw it at its last broadcast or expiry sweep.",
			func() float64 { return float64(rs.Stats().ReplayBytes) })
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "wiredojo", Subsystem: "chat", Name: "replay_trimmed_total",
			Help: "Replay log entries dropped by age, count or byte bounds (oldest first), by this node."}, func() float64 { return float64(rs.Stats().ReplayTrimmed) }))
		gauge("session_bytes", "Bytes held by the saved sessions of connection state recovery (bounded): with a Redis store the total of every node, as this node saw it at its last session saved or taken or expiry sweep.",
			func() float64 { return float64(rs.Stats().SessionBytes) })
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "wiredojo", Subsystem: "chat", Name: "sessions_dropped_total",
			Help: "Saved sessions of connection state recovery dropped by this node before their window ended to keep the sessions' byte bound (oldest first); their clients resume nothing."}, func() float64 { return float64(rs.Stats().SessionsDropped) }))
	}
	if st := s.opts.Store; st != nil {
		storeCounter := func(name, help string, f func(store.Stats) uint64) {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "wiredojo", Subsystem: "queue", Name: name, Help: help},
				func() float64 { return float64(f(st.Stats())) }))
		}
		storeCounter("refused_full_total", "Messages refused for a recipient whose queue was full (its maximum length); the sender is told.", func(x store.Stats) uint64 { return x.RefusedFull })
		storeCounter("dropped_age_total", "Messages removed for being older than the maximum age.", func(x store.Stats) uint64 { return x.DroppedAge })
		storeCounter("expired_queues_total", "Idle queues removed.", func(x store.Stats) uint64 { return x.ExpiredQueues })
		storeCounter("purged_total", "Messages removed by purge.", func(x store.Stats) uint64 { return x.Purged })
		storeCounter("commits_total", "Store write transactions (bolt group commits).", func(x store.Stats) uint64 { return x.Commits })
	}
	return m
}

// A TransportCount names a counter of the chat server's metrics that a
// transport of another package (tcpchat/sio) counts into, with
// Server.Count.
type TransportCount uint8

// The counters a transport counts into.
const (
	// DurableWithoutAck counts a queued event that a transport sent
	// without a way for the client to acknowledge it (the Socket.IO
	// transport, when 1024 of its session's queued events wait for their
	// acks), in wiredojo_chat_durable_sent_without_ack_id_total: the
	// event stays queued.
	DurableWithoutAck TransportCount = iota + 1
	// InboxWait counts a message of a Socket.IO session that waited for
	// room in the session's inbox (engine.Options.InboxWait), in
	// wiredojo_chat_socketio_inbox_waits_total.
	InboxWait
)

// Count adds one to the counter c names. It panics for a value that names
// none.
func (s *Server) Count(c TransportCount) {
	switch c {
	case DurableWithoutAck:
		s.metrics.durableNoAck.Add(1)
	case InboxWait:
		s.metrics.inboxWaits.Add(1)
	default:
		panic(fmt.Sprintf("tcpchat: Count(%d): no such counter", c))
	}
}

// handler serves the metrics; with a token, only to requests that give it
// as "Authorization: Bearer TOKEN"; without one, only to requests whose
// Host knownHost accepts (the WebSocket upgrade's rule), so that a page
// under a name rebound to the server's address cannot read them.
func (m *metrics) handler(token string, knownHost func(string) bool) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	if token == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !knownHost(r.Host) {
				http.Error(w, fmt.Sprintf("Host %q is not an IP address, localhost or a name this server is configured with", r.Host), http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wiredojo metrics"`)
			http.Error(w, "metrics need the server's metrics token: Authorization: Bearer TOKEN", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Stats are counters of a server since it started.
type Stats struct {
	Connections      int   // open now
	EventsIn         int64 // events received
	PacketsOut       int64 // packets written
	Writes           int64 // batches of packets written, each in one write call
	SlowConsumerCuts int64 // connections cut for a full queue (a Socket.IO session's own too) or a slow write
	RateLimitCuts    int64 // connections cut for exceeding the rate limit
	BadPackets       int64 // malformed packets and oversized frames (and Socket.IO's)
	VolatileDrops    int64 // volatile packets dropped for busy recipients
	SendWaits        int64 // sends that waited for room in a full send queue
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	m := s.metrics
	return Stats{
		Connections:      s.Connections(),
		EventsIn:         m.eventsIn.Load(),
		PacketsOut:       m.packetsOut.Load(),
		Writes:           m.writes.Load(),
		SlowConsumerCuts: m.slowCuts.Load(),
		RateLimitCuts:    m.rateCuts.Load(),
		BadPackets:       m.badPackets.Load(),
		VolatileDrops:    m.volatileDrops.Load(),
		SendWaits:        m.sendWaits.Load(),
	}
}
