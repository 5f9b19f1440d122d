// Command capgen produces the traffic of wiredojo's scenarios on loopback
// (or between network namespaces) so that testdata/captures/generate.sh can
// record it with tcpdump: the framed chat over TCP, HTTP and WebSocket on
// one port, wiredojo-udp datagrams, DNS, TLS 1.2 and 1.3, and a datagram
// big enough to be fragmented. Each scenario runs both peers and exits.
// It is a development tool, not part of the wiredojo binary.
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/wiredojo/wiredojo/framing"
	"github.com/wiredojo/wiredojo/tcpchat/wire"
	"github.com/wiredojo/wiredojo/udpcast"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: capgen chat-tcp|chat-ws|udp|udp-big ADDR|dns|tls|ping ADDR|synth N FILE|expert FILE|corpus DIR")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "chat-tcp":
		err = chatTCP()
	case "chat-ws":
		err = chatWS()
	case "udp":
		err = udp("127.0.0.1:9999", 200)
	case "udp-big":
		err = udp(os.Args[2], 4000)
	case "dns":
		err = dns()
	case "tls":
		err = tlsScenario()
	case "ping":
		err = ping(os.Args[2])
	case "synth":
		err = synth(os.Args[2:])
	case "expert":
		err = expert(os.Args[2:])
	case "corpus":
		err = corpus(os.Args[2:])
	default:
		err = fmt.Errorf("unknown scenario %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "capgen:", err)
		os.Exit(1)
	}
}

const pause = 30 * time.Millisecond

func frame(p wire.Packet) []byte { return framing.AppendFrame(nil, p.AppendTo(nil)) }

func readFrame(r io.Reader) (wire.Packet, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return wire.Packet{}, err
	}
	b := make([]byte, binary.BigEndian.Uint32(h[:]))
	if _, err := io.ReadFull(r, b); err != nil {
		return wire.Packet{}, err
	}
	return wire.Decode(b)
}

// chatTCP: the framed event protocol, handshake to teardown.
func chatTCP() error {
	ln, err := net.Listen("tcp", "127.0.0.1:7070")
	if err != nil {
		return err
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		pre := make([]byte, len(wire.Preamble))
		if _, err := io.ReadFull(br, pre); err != nil {
			done <- err
			return
		}
		for {
			p, err := readFrame(br)
			if err != nil {
				done <- nil // client closed
				return
			}
			var out []byte
			switch p.Type {
			case wire.TypeHandshake:
				out = frame(wire.Packet{Type: wire.TypeWelcome, Version: wire.Version, SessionID: "s-1", ClientID: p.ClientID, PingInterval: 25000, PingTimeout: 20000, MaxFrame: 1 << 20})
			case wire.TypeConnect:
				out = frame(wire.Packet{Type: wire.TypeConnect, Namespace: p.Namespace, SocketID: "sock-1"})
			case wire.TypeEvent:
				if p.HasAck {
					out = frame(wire.Packet{Type: wire.TypeAck, Namespace: p.Namespace, AckID: p.AckID, Args: json.RawMessage(`["ok"]`)})
				}
				out = append(out, frame(wire.Packet{Type: wire.TypeEvent, Namespace: p.Namespace, Event: "message", Args: json.RawMessage(`[{"from":"ana","text":"hello room"}]`)})...)
			case wire.TypePong:
			case wire.TypeDisconnect:
				out = frame(wire.Packet{Type: wire.TypeDisconnect, Namespace: p.Namespace, Reason: "bye"})
			}
			if len(out) > 0 {
				if _, err := c.Write(out); err != nil {
					done <- err
					return
				}
			}
			if p.Type == wire.TypeEvent && p.Event == "join" {
				time.Sleep(pause)
				c.Write(frame(wire.Packet{Type: wire.TypePing}))
			}
		}
	}()
	c, err := net.Dial("tcp", "127.0.0.1:7070")
	if err != nil {
		return err
	}
	br := bufio.NewReader(c)
	step := func(b []byte, replies int) error {
		if _, err := c.Write(b); err != nil {
			return err
		}
		for i := 0; i < replies; i++ {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := readFrame(br); err != nil {
				return err
			}
		}
		time.Sleep(pause)
		return nil
	}
	hs := append(append([]byte{}, wire.Preamble...), frame(wire.Packet{Type: wire.TypeHandshake, Version: wire.Version, ClientID: "client-7"})...)
	if err := step(hs, 1); err != nil {
		return err
	}
	if err := step(frame(wire.Packet{Type: wire.TypeConnect, Namespace: "/chat"}), 1); err != nil {
		return err
	}
	// join with an ack: ack + broadcast back, then a ping
	if err := step(frame(wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "join", Args: json.RawMessage(`["lobby"]`), HasAck: true, AckID: 1}), 3); err != nil {
		return err
	}
	if err := step(frame(wire.Packet{Type: wire.TypePong}), 0); err != nil {
		return err
	}
	// two events in one segment
	two := append(frame(wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: json.RawMessage(`["one"]`)}),
		frame(wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: json.RawMessage(`["two"]`)})...)
	if err := step(two, 2); err != nil {
		return err
	}
	// one event split across two segments
	big := frame(wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: "message", Args: json.RawMessage(`["` + strings.Repeat("split across segments ", 20) + `"]`)})
	if _, err := c.Write(big[:100]); err != nil {
		return err
	}
	time.Sleep(pause)
	if err := step(big[100:], 1); err != nil {
		return err
	}
	if err := step(frame(wire.Packet{Type: wire.TypeDisconnect, Namespace: "/chat", Reason: "leaving"}), 1); err != nil {
		return err
	}
	c.Close()
	select {
	case err := <-done:
		return err
	case <-time.After(3 * time.Second):
		return fmt.Errorf("server did not finish")
	}
}

const page = "<!doctype html><title>wiredojo chat</title><p>chat page</p>\n"

// chatWS: the browser page, the WebSocket upgrade, then frames of every
// kind from a hand-written client (several per segment, one split across
// segments, a fragmented message, masked) to a gorilla/websocket server.
func chatWS() error {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, page)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			op, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if op == websocket.BinaryMessage {
				if p, err := wire.Decode(msg); err == nil && p.Type == wire.TypeEvent {
					reply := wire.Packet{Type: wire.TypeEvent, Namespace: p.Namespace, Event: "message", Args: json.RawMessage(`[{"from":"server","echo":true}]`)}
					c.WriteMessage(websocket.BinaryMessage, reply.AppendTo(nil))
				}
				continue
			}
			c.WriteMessage(op, msg)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:7070")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Shutdown(context.Background())

	c, err := net.Dial("tcp", "127.0.0.1:7070")
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1:7070\r\nUser-Agent: capgen\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	time.Sleep(pause)
	fmt.Fprint(c, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:7070\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:7070\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != 101 {
		return fmt.Errorf("upgrade refused: %s", resp.Status)
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	wsFrame := func(fin bool, op byte, payload []byte) []byte {
		b0 := op
		if fin {
			b0 |= 0x80
		}
		b := []byte{b0}
		switch n := len(payload); {
		case n < 126:
			b = append(b, 0x80|byte(n))
		case n < 65536:
			b = append(b, 0x80|126, byte(n>>8), byte(n))
		}
		b = append(b, key[:]...)
		for i, c := range payload {
			b = append(b, c^key[i%4])
		}
		return b
	}
	readFrames := func(n int) error {
		for i := 0; i < n; i++ {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			var h [2]byte
			if _, err := io.ReadFull(br, h[:]); err != nil {
				return err
			}
			l := int(h[1] & 0x7f)
			if l == 126 {
				var x [2]byte
				io.ReadFull(br, x[:])
				l = int(binary.BigEndian.Uint16(x[:]))
			}
			if _, err := io.CopyN(io.Discard, br, int64(l)); err != nil {
				return err
			}
		}
		time.Sleep(pause)
		return nil
	}
	ev := func(name, args string) []byte {
		p := wire.Packet{Type: wire.TypeEvent, Namespace: "/chat", Event: name, Args: json.RawMessage(args)}
		return p.AppendTo(nil)
	}
	// 1. one text frame
	c.Write(wsFrame(true, 1, []byte("hello")))
	if err := readFrames(1); err != nil {
		return err
	}
	// 2. two frames in one segment: an event (binary) and a text
	c.Write(append(wsFrame(true, 2, ev("message", `["hi from ws"]`)), wsFrame(true, 1, []byte("second in segment"))...))
	if err := readFrames(2); err != nil {
		return err
	}
	// 3. a fragmented message: text + continuation
	c.Write(wsFrame(false, 1, []byte("frag-")))
	time.Sleep(pause)
	c.Write(wsFrame(true, 0, []byte("ment")))
	if err := readFrames(1); err != nil {
		return err
	}
	// 4. one frame split across two segments
	big := wsFrame(true, 2, ev("message", `["`+strings.Repeat("a frame split in two ", 12)+`"]`))
	c.Write(big[:40])
	time.Sleep(pause)
	c.Write(big[40:])
	if err := readFrames(1); err != nil {
		return err
	}
	// 5. ping, then close
	c.Write(wsFrame(true, 9, []byte("ping?")))
	if err := readFrames(1); err != nil {
		return err
	}
	c.Write(wsFrame(true, 8, []byte{0x03, 0xe8, 'b', 'y', 'e'}))
	readFrames(1)
	c.Close()
	time.Sleep(pause)
	return nil
}

// udp: wiredojo-udp datagrams, then the end-of-run marker twice.
func udp(to string, size int) error {
	laddr, _ := net.ResolveUDPAddr("udp", to)
	var rc *net.UDPConn
	if strings.HasPrefix(to, "127.") {
		var err error
		if rc, err = net.ListenUDP("udp", laddr); err != nil {
			return err
		}
		defer rc.Close()
	}
	c, err := net.DialUDP("udp", nil, laddr)
	if err != nil {
		return err
	}
	defer c.Close()
	run := uint64(0x5eed)
	base := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC).UnixNano()
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte('a' + i%26)
	}
	n := 3
	if size > 1500 {
		n = 1
	}
	for i := 0; i < n; i++ {
		b := udpcast.Header{RunID: run, Seq: uint64(i), SentNS: base + int64(i)*1e6}.AppendTo(nil)
		c.Write(append(b, payload...))
		time.Sleep(pause / 3)
	}
	if size <= 1500 {
		for i := 0; i < 2; i++ {
			c.Write(udpcast.Header{RunID: run, Seq: uint64(n), SentNS: base + int64(n)*1e6, Flags: udpcast.FlagEnd}.AppendTo(nil))
		}
	}
	time.Sleep(pause)
	return nil
}

// dns: one A query and its answer on 127.0.0.1:53.
func dns() error {
	pc, err := net.ListenPacket("udp", "127.0.0.1:53")
	if err != nil {
		return err
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 512)
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			return
		}
		q, _ := p.Question()
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired})
		b.StartQuestions()
		b.Question(q)
		b.StartAnswers()
		b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: [4]byte{10, 0, 0, 7}})
		out, _ := b.Finish()
		pc.WriteTo(out, from)
	}()
	name := dnsmessage.MustNewName("chat.wiredojo.test.")
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 0x1d0, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	q, _ := b.Finish()
	c, err := net.Dial("udp", "127.0.0.1:53")
	if err != nil {
		return err
	}
	defer c.Close()
	c.Write(q)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 512)
	_, err = c.Read(buf)
	time.Sleep(pause)
	return err
}

// tlsScenario: one TLS 1.2 and one TLS 1.3 exchange on 127.0.0.1:7443.
func tlsScenario() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wiredojo.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"wiredojo.test"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	ln, err := tls.Listen("tcp", "127.0.0.1:7443", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 64)
			n, _ := c.Read(buf)
			c.Write(buf[:n])
			c.Close()
		}
	}()
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c, err := tls.Dial("tcp", "127.0.0.1:7443", &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v, ServerName: "wiredojo.test"})
		if err != nil {
			return err
		}
		c.Write([]byte("ping over tls"))
		buf := make([]byte, 64)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		c.Read(buf)
		c.Close()
		time.Sleep(pause)
	}
	return nil
}

// ping: two ICMP echo requests to addr and their replies.
func ping(addr string) error {
	c, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return err
	}
	defer c.Close()
	dst := &net.IPAddr{IP: net.ParseIP(addr)}
	for seq := 1; seq <= 2; seq++ {
		m := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: 0x77, Seq: seq, Data: []byte("wiredojo ping")}}
		b, err := m.Marshal(nil)
		if err != nil {
			return err
		}
		if _, err := c.WriteTo(b, dst); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 1500)
		if _, _, err := c.ReadFrom(buf); err != nil {
			return err
		}
		time.Sleep(pause)
	}
	return nil
}
