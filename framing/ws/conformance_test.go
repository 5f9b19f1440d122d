package ws_test

// The conformance suite: the Autobahn|Testsuite case groups 1-7, 9 and 10
// re-expressed as tables of frames a raw peer sends and what it must get
// back, run against our server (wsecho over Upgrader.Upgrade) and against
// our client (Dial + wsecho.Echo) with the roles swapped. Case ids follow
// Autobahn's where a case corresponds to one of its cases; "x." cases are
// ours. Group 9 is scaled down (messages up to 4 MiB) to keep `go test`
// quick; the real Autobahn run covers the full sizes.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wiredojo/wiredojo/framing/ws"
	"github.com/wiredojo/wiredojo/framing/ws/wsecho"
	"github.com/wiredojo/wiredojo/internal/testkit"
)

// frame is a frame the test peer sends, possibly breaking the rules.
type frame struct {
	fin        bool
	rsv        byte // RSV1..3 as the 3 bits 0b100, 0b010, 0b001
	op         ws.OpCode
	p          []byte
	flipMask   bool // mask when we must not, or not mask when we must
	nonMinimal bool // encode the length in 16 bits even if it fits in 7
}

func txt(s string) frame                          { return frame{fin: true, op: ws.OpText, p: []byte(s)} }
func bin(p []byte) frame                          { return frame{fin: true, op: ws.OpBinary, p: p} }
func frag(fin bool, op ws.OpCode, s string) frame { return frame{fin: fin, op: op, p: []byte(s)} }
func ctl(op ws.OpCode, s string) frame            { return frame{fin: true, op: op, p: []byte(s)} }
func closeFrame(code ws.StatusCode, reason string) frame {
	p := binary.BigEndian.AppendUint16(nil, uint16(code))
	return frame{fin: true, op: ws.OpClose, p: append(p, reason...)}
}

// encode builds the frame's bytes; mask tells whether the sender is a
// client.
func (f frame) encode(mask bool) []byte {
	if f.flipMask {
		mask = !mask
	}
	b0 := byte(f.op&0xF) | f.rsv<<4
	if f.fin {
		b0 |= 0x80
	}
	var out []byte
	var m byte
	if mask {
		m = 0x80
	}
	switch n := len(f.p); {
	case f.nonMinimal && n < 126:
		out = append(out, b0, m|126, 0, byte(n))
	case n < 126:
		out = append(out, b0, m|byte(n))
	case n <= 0xFFFF:
		out = append(out, b0, m|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, b0, m|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	if mask {
		out = append(out, key[:]...)
	}
	start := len(out)
	out = append(out, f.p...)
	if mask {
		ws.Mask(key, 0, out[start:])
	}
	return out
}

type stepKind int

const (
	sendStep   stepKind = iota
	rawStep             // send raw bytes
	prefixStep          // send the header and the first n payload bytes of a frame, never the rest
	expectStep          // the next frame must be this one (opcode, payload)
	closeStep           // the next frame must be a close with one of these codes
)

type step struct {
	kind  stepKind
	f     frame
	chop  int // send in pieces of chop bytes
	n     int
	raw   []byte
	codes []ws.StatusCode
}

func send(fs ...frame) []step {
	var s []step
	for _, f := range fs {
		s = append(s, step{kind: sendStep, f: f})
	}
	return s
}
func sendChop(chop int, fs ...frame) []step {
	var s []step
	for _, f := range fs {
		s = append(s, step{kind: sendStep, f: f, chop: chop})
	}
	return s
}
func expect(op ws.OpCode, p []byte) []step {
	return []step{{kind: expectStep, f: frame{fin: true, op: op, p: p}}}
}
func expectText(s string) []step { return expect(ws.OpText, []byte(s)) }
func expectPong(s string) []step { return expect(ws.OpPong, []byte(s)) }
func expectClose(codes ...ws.StatusCode) []step {
	return []step{{kind: closeStep, codes: codes}}
}
func seq(parts ...[]step) []step {
	var s []step
	for _, p := range parts {
		s = append(s, p...)
	}
	return s
}

type confCase struct {
	id     string
	steps  []step
	max    int64 // MaxMessageSize for the implementation (0: default)
	server bool  // only against our server
	client bool  // only against our client
}

const (
	protoErr   = ws.StatusProtocolError
	invalidErr = ws.StatusInvalidPayload
)

func conformanceCases() []confCase {
	var cs []confCase
	add := func(id string, parts ...[]step) { cs = append(cs, confCase{id: id, steps: seq(parts...)}) }

	// 1 Framing: text and binary messages of the boundary lengths.
	for i, n := range []int{0, 125, 126, 127, 128, 65535, 65536} {
		s := strings.Repeat("*", n)
		add(fmt.Sprintf("1.1.%d", i+1), send(txt(s)), expectText(s))
		b := bytes.Repeat([]byte{0xfe}, n)
		add(fmt.Sprintf("1.2.%d", i+1), send(bin(b)), expect(ws.OpBinary, b))
	}
	s64k := strings.Repeat("*", 65536)
	add("1.1.8", sendChop(997, txt(s64k)), expectText(s64k))
	b64k := bytes.Repeat([]byte{0xfe}, 65536)
	add("1.2.8", sendChop(997, bin(b64k)), expect(ws.OpBinary, b64k))

	// 2 Pings and pongs.
	add("2.1", send(ctl(ws.OpPing, "")), expectPong(""))
	add("2.2", send(ctl(ws.OpPing, "Hello, world!")), expectPong("Hello, world!"))
	add("2.3", send(ctl(ws.OpPing, "\x00\xff\xfe\xfd\xfc\xfb\x00\xff")), expectPong("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"))
	p125 := strings.Repeat("\xfe", 125)
	add("2.4", send(ctl(ws.OpPing, p125)), expectPong(p125))
	add("2.5", send(ctl(ws.OpPing, p125+"\xfe")), expectClose(protoErr))
	add("2.6", sendChop(1, ctl(ws.OpPing, p125)), expectPong(p125))
	add("2.7", send(ctl(ws.OpPong, "")))
	add("2.8", send(ctl(ws.OpPong, "unsolicited pong payload")))
	add("2.9", send(ctl(ws.OpPong, "unsolicited pong payload"), ctl(ws.OpPing, "ping payload")), expectPong("ping payload"))
	var pings, pongs, chopped []step
	for i := 0; i < 10; i++ {
		pl := fmt.Sprintf("payload-%d", i)
		pings = append(pings, send(ctl(ws.OpPing, pl))...)
		chopped = append(chopped, sendChop(1, ctl(ws.OpPing, pl))...)
		pongs = append(pongs, expectPong(pl)...)
	}
	add("2.10", pings, pongs)
	add("2.11", chopped, pongs)

	// 3 Reserved bits.
	withRsv := func(f frame, rsv byte) frame { f.rsv = rsv; return f }
	hello := txt("Hello, world!")
	add("3.1", send(withRsv(hello, 1)), expectClose(protoErr))
	add("3.2", send(hello, withRsv(hello, 2), ctl(ws.OpPing, "")), expectText("Hello, world!"), expectClose(protoErr))
	add("3.3", send(hello, withRsv(hello, 3), ctl(ws.OpPing, "")), expectText("Hello, world!"), expectClose(protoErr))
	add("3.4", sendChop(1, hello, withRsv(hello, 4), ctl(ws.OpPing, "")), expectText("Hello, world!"), expectClose(protoErr))
	add("3.5", send(withRsv(bin([]byte{0, 0xff, 0xfe}), 5)), expectClose(protoErr))
	add("3.6", send(withRsv(ctl(ws.OpPing, "Hello, world!"), 6)), expectClose(protoErr))
	add("3.7", send(withRsv(closeFrame(1000, ""), 7)), expectClose(protoErr))

	// 4 Opcodes.
	for i, op := range []ws.OpCode{3, 4, 5, 6, 7} {
		g := fmt.Sprintf("4.1.%d", i+1)
		if i < 2 {
			add(g, send(ctl(op, "reserved opcode payload")), expectClose(protoErr))
		} else {
			add(g, sendChop(1+i%2, hello, ctl(op, "reserved opcode payload"), ctl(ws.OpPing, "")), expectText("Hello, world!"), expectClose(protoErr))
		}
	}
	for i, op := range []ws.OpCode{11, 12, 13, 14, 15} {
		g := fmt.Sprintf("4.2.%d", i+1)
		if i < 2 {
			add(g, send(ctl(op, "")), expectClose(protoErr))
		} else {
			add(g, sendChop(1+i%2, hello, ctl(op, "reserved opcode payload"), ctl(ws.OpPing, "")), expectText("Hello, world!"), expectClose(protoErr))
		}
	}

	// 5 Fragmentation.
	add("5.1", send(frag(false, ws.OpPing, "fragment1"), frag(true, ws.OpContinuation, "fragment2")), expectClose(protoErr))
	add("5.2", send(frag(false, ws.OpPong, "fragment1"), frag(true, ws.OpContinuation, "fragment2")), expectClose(protoErr))
	two := []frame{frag(false, ws.OpText, "fragment1"), frag(true, ws.OpContinuation, "fragment2")}
	add("5.3", send(two...), expectText("fragment1fragment2"))
	add("5.4", sendChop(1, two...), expectText("fragment1fragment2"))
	add("5.5", sendChop(3, two...), expectText("fragment1fragment2"))
	withPing := []frame{two[0], ctl(ws.OpPing, "ping payload"), two[1]}
	add("5.6", send(withPing...), expectPong("ping payload"), expectText("fragment1fragment2"))
	add("5.7", sendChop(1, withPing...), expectPong("ping payload"), expectText("fragment1fragment2"))
	add("5.8", sendChop(7, withPing...), expectPong("ping payload"), expectText("fragment1fragment2"))
	orphan := []frame{frag(true, ws.OpContinuation, "non-continuation payload"), hello}
	add("5.9", send(orphan...), expectClose(protoErr))
	add("5.10", sendChop(1, orphan...), expectClose(protoErr))
	add("5.11", sendChop(5, orphan...), expectClose(protoErr))
	orphan0 := []frame{frag(false, ws.OpContinuation, "non-continuation payload"), hello}
	add("5.12", send(orphan0...), expectClose(protoErr))
	add("5.13", sendChop(1, orphan0...), expectClose(protoErr))
	add("5.14", sendChop(5, orphan0...), expectClose(protoErr))
	add("5.15", send(frag(false, ws.OpText, "fragment1"), frag(true, ws.OpContinuation, "fragment2"), frag(false, ws.OpContinuation, "fragment3"), frag(true, ws.OpText, "fragment4")),
		expectText("fragment1fragment2"), expectClose(protoErr))
	add("5.16", send(frag(false, ws.OpContinuation, "fragment1"), frag(false, ws.OpText, "fragment2"), frag(true, ws.OpContinuation, "fragment3")), expectClose(protoErr))
	add("5.17", send(frag(true, ws.OpContinuation, "fragment1"), frag(false, ws.OpText, "fragment2"), frag(true, ws.OpContinuation, "fragment3")), expectClose(protoErr))
	add("5.18", send(frag(false, ws.OpText, "fragment1"), frag(true, ws.OpText, "fragment2")), expectClose(protoErr))
	five := []frame{frag(false, ws.OpText, "fragment1"), frag(false, ws.OpContinuation, "fragment2"), ctl(ws.OpPing, "pongme 1!"),
		frag(false, ws.OpContinuation, "fragment3"), frag(false, ws.OpContinuation, "fragment4"), ctl(ws.OpPing, "pongme 2!"), frag(true, ws.OpContinuation, "fragment5")}
	add("5.19", send(five...), expectPong("pongme 1!"), expectPong("pongme 2!"), expectText("fragment1fragment2fragment3fragment4fragment5"))
	add("5.20", sendChop(1, five...), expectPong("pongme 1!"), expectPong("pongme 2!"), expectText("fragment1fragment2fragment3fragment4fragment5"))

	// 6 UTF-8 handling.
	add("6.1.1", send(txt("")), expectText(""))
	add("6.1.2", send(frag(false, ws.OpText, ""), frag(false, ws.OpContinuation, ""), frag(true, ws.OpContinuation, "")), expectText(""))
	add("6.1.3", send(frag(false, ws.OpText, ""), frag(false, ws.OpContinuation, "middle"), frag(true, ws.OpContinuation, "")), expectText("middle"))
	add("6.2.1", send(txt("Hello-µ@ßöäüàá-UTF-8!!")), expectText("Hello-µ@ßöäüàá-UTF-8!!"))
	add("6.2.2", send(frag(false, ws.OpText, "Hello-µ@ßöäüà"), frag(true, ws.OpContinuation, "á-UTF-8!!")), expectText("Hello-µ@ßöäüàá-UTF-8!!"))
	add("6.2.3", bytewise("Hello-µ@ßöäüàá-UTF-8!!"), expectText("Hello-µ@ßöäüàá-UTF-8!!"))
	add("6.2.4", bytewise("κόσμε"), expectText("κόσμε"))
	bad := "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64"
	add("6.3.1", send(txt(bad)), expectClose(invalidErr))
	add("6.3.2", bytewise(bad), expectClose(invalidErr))
	// Fail fast: the close must come before the rest of the message is sent.
	add("6.4.1", send(frag(false, ws.OpText, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), frag(false, ws.OpContinuation, "\xf4\x90\x80\x80")), expectClose(invalidErr))
	add("6.4.2", send(frag(false, ws.OpText, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4"), frag(false, ws.OpContinuation, "\x90")), expectClose(invalidErr))
	long := "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64"
	add("6.4.3", []step{{kind: prefixStep, f: txt(long), n: 15}}, expectClose(invalidErr))
	add("6.4.4", []step{{kind: prefixStep, f: txt(long), n: 13}}, expectClose(invalidErr))
	for i, s := range utf8Samples() {
		codes := []step(nil)
		if utf8.ValidString(s) {
			codes = expectText(s)
		} else {
			codes = expectClose(invalidErr)
		}
		add(fmt.Sprintf("6.x.%d.whole", i+1), send(txt(s)), codes)
		add(fmt.Sprintf("6.x.%d.bytewise", i+1), bytewise(s), codes)
	}

	// 7 Close handling.
	add("7.1.1", send(txt("Hello World!"), closeFrame(1000, "")), expectText("Hello World!"), expectClose(1000))
	add("7.1.2", send(closeFrame(1000, ""), closeFrame(1000, "")), expectClose(1000))
	add("7.1.3", send(closeFrame(1000, ""), ctl(ws.OpPing, "Hello World!")), expectClose(1000))
	add("7.1.4", send(closeFrame(1000, ""), txt("Hello World!")), expectClose(1000))
	add("7.1.5", send(frag(false, ws.OpText, "fragment1"), closeFrame(1000, ""), frag(true, ws.OpContinuation, "fragment2")), expectClose(1000))
	big := strings.Repeat("BAsd7&jh23", 256<<10/10)
	add("7.1.6", send(txt(big), closeFrame(1000, ""), ctl(ws.OpPing, "")), expectText(big), expectClose(1000))
	add("7.3.1", send(ctl(ws.OpClose, "")), expectClose(ws.StatusNoStatus))
	add("7.3.2", send(ctl(ws.OpClose, "a")), expectClose(protoErr))
	add("7.3.3", send(closeFrame(1000, "")), expectClose(1000))
	add("7.3.4", send(closeFrame(1000, "Hello World!")), expectClose(1000))
	add("7.3.5", send(closeFrame(1000, strings.Repeat("*", 123))), expectClose(1000))
	add("7.3.6", send(closeFrame(1000, strings.Repeat("*", 124))), expectClose(protoErr))
	add("7.5.1", send(closeFrame(1000, bad)), expectClose(invalidErr, protoErr))
	for i, code := range []ws.StatusCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		add(fmt.Sprintf("7.7.%d", i+1), send(closeFrame(code, "")), expectClose(code))
	}
	for i, code := range []ws.StatusCode{0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999} {
		add(fmt.Sprintf("7.9.%d", i+1), send(closeFrame(code, "")), expectClose(protoErr))
	}
	add("7.13.1", send(closeFrame(5000, "")), expectClose(protoErr))
	add("7.13.2", send(closeFrame(65535, "")), expectClose(protoErr))

	// 9 Limits and performance (scaled down), 10 automatic fragmentation.
	for i, n := range []int{64 << 10, 256 << 10, 1 << 20, 4 << 20} {
		if raceEnabled && n > 1<<20 {
			continue
		}
		s := strings.Repeat("*", n)
		add(fmt.Sprintf("9.1.%d", i+1), send(txt(s)), expectText(s))
		b := bytes.Repeat([]byte{0xfe}, n)
		add(fmt.Sprintf("9.2.%d", i+1), send(bin(b)), expect(ws.OpBinary, b))
	}
	msg := strings.Repeat("*", 1<<20)
	if raceEnabled {
		msg = msg[:256<<10]
	}
	for i, fsz := range []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20} {
		add(fmt.Sprintf("9.3.%d", i+1), fragmented(ws.OpText, msg, fsz), expectText(msg))
		add(fmt.Sprintf("9.4.%d", i+1), fragmented(ws.OpBinary, msg, fsz), expect(ws.OpBinary, []byte(msg)))
	}
	for i, chop := range []int{64, 128, 256, 512, 1024, 2048} {
		s := strings.Repeat("*", 256<<10)
		add(fmt.Sprintf("9.5.%d", i+1), sendChop(chop, txt(s)), expectText(s))
		add(fmt.Sprintf("9.6.%d", i+1), sendChop(chop, bin([]byte(s))), expect(ws.OpBinary, []byte(s)))
	}
	var rt, rtb []step
	for i := 0; i < 1000; i++ {
		rt = append(rt, seq(send(txt("0123456789")), expectText("0123456789"))...)
		rtb = append(rtb, seq(send(bin([]byte("0123456789"))), expect(ws.OpBinary, []byte("0123456789")))...)
	}
	add("9.7", rt)
	add("9.8", rtb)
	add("10.1.1", fragmented(ws.OpText, s64k, 1300), expectText(s64k))

	// Ours: length encoding, masking direction, message size limit.
	add("x.1 non-minimal length", send(frame{fin: true, op: ws.OpText, p: []byte("hello"), nonMinimal: true}), expectClose(protoErr))
	add("x.2 64-bit length with top bit", []step{{kind: rawStep, raw: []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}}}, expectClose(protoErr))
	add("x.3 wrong masking", send(frame{fin: true, op: ws.OpText, p: []byte("hello"), flipMask: true}), expectClose(protoErr))
	cs = append(cs,
		confCase{id: "x.4 message too big", max: 1000, steps: seq(send(txt(strings.Repeat("a", 1001))), expectClose(ws.StatusMessageTooBig))},
		confCase{id: "x.5 fragmented message too big", max: 1000, steps: seq(send(frag(false, ws.OpBinary, strings.Repeat("a", 600)), frag(true, ws.OpContinuation, strings.Repeat("a", 600))), expectClose(ws.StatusMessageTooBig))},
		confCase{id: "x.6 message at the limit", max: 1000, steps: seq(send(txt(strings.Repeat("a", 1000))), expectText(strings.Repeat("a", 1000)))},
	)
	return cs
}

// bytewise sends s as a fragmented text message, one byte per frame.
func bytewise(s string) []step {
	if len(s) == 0 {
		return send(txt(""))
	}
	var st []step
	for i := 0; i < len(s); i++ {
		op := ws.OpContinuation
		if i == 0 {
			op = ws.OpText
		}
		st = append(st, send(frag(i == len(s)-1, op, s[i:i+1]))...)
	}
	return st
}

// fragmented sends s as one message in frames of fsz bytes.
func fragmented(op ws.OpCode, s string, fsz int) []step {
	var st []step
	for i := 0; i < len(s); i += fsz {
		end := min(i+fsz, len(s))
		o := ws.OpContinuation
		if i == 0 {
			o = op
		}
		st = append(st, send(frame{fin: end == len(s), op: o, p: []byte(s[i:end])})...)
	}
	return st
}

// utf8Samples are the kinds of sequences of Autobahn's cases 6.5-6.23:
// boundary characters, malformed sequences, overlong forms, surrogates and
// noncharacters (valid).
func utf8Samples() []string {
	return []string{
		"κόσμε", "\x00", "\xc2\x80", "\xe0\xa0\x80", "\xf0\x90\x80\x80", // first of each length
		"\x7f", "\xdf\xbf", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", // last
		"\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbd", // other boundaries
		"\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80", // beyond U+10FFFF, 5- and 6-byte forms
		"\x80", "\xbf", "\x80\xbf", "\x80\xbf\x80", "\x80\xbf\x80\xbf", // unexpected continuations
		"\xc0 ", "\xe0 ", "\xf0 ", "\xf8 ", "\xfc ", // lonely start characters
		"\xc0", "\xe0\x80", "\xf0\x80\x80", "\xdf", "\xef\xbf", "\xf7\xbf\xbf", // last continuation missing
		"\xe0\x80\xf0\x80\x80\xdf",         // concatenated incomplete
		"\xfe", "\xff", "\xfe\xfe\xff\xff", // impossible bytes
		"\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xc1\xbf", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf", "\xc0\x80", "\xe0\x80\x80", // overlong
		"\xed\xa0\x80", "\xed\xad\xbf", "\xed\xbf\xbf", "\xed\xa0\x80\xed\xb0\x80", "\xed\xaf\xbf\xed\xbf\xbf", // surrogates
		"\xef\xbf\xbe", "\xef\xbf\xbf", "\xf0\x9f\xbf\xbe", "\xf4\x8f\xbf\xbe", "\xef\xb7\x90", // noncharacters: valid
	}
}

// peer is the raw side of a conformance run.
type peer struct {
	t      *testing.T
	nc     net.Conn
	br     *bufio.Reader
	client bool // the peer is the client (it masks, the implementation does not)
}

func (p *peer) write(b []byte, chop int) {
	if chop <= 0 {
		chop = len(b)
	}
	for len(b) > 0 {
		n := min(chop, len(b))
		if _, err := p.nc.Write(b[:n]); err != nil {
			return // the implementation may have closed already; the expectations decide
		}
		b = b[n:]
	}
}

// readFrame reads one whole frame from the implementation.
func (p *peer) readFrame() (ws.Header, []byte, error) {
	p.nc.SetReadDeadline(time.Now().Add(15 * time.Second))
	var buf []byte
	for {
		h, payload, _, ok, err := ws.Split(buf)
		if err != nil {
			return h, nil, err
		}
		if ok {
			if h.Masked {
				ws.Mask(h.Mask, 0, payload)
			}
			if p.client == h.Masked {
				return h, nil, fmt.Errorf("frame %s masked=%v from the %s", h.OpCode, h.Masked, map[bool]string{true: "server", false: "client"}[p.client])
			}
			return h, payload, nil
		}
		b, err := p.br.ReadByte()
		if err != nil {
			return h, nil, err
		}
		buf = append(buf, b)
		if len(buf) >= ws.MaxHeaderLen || len(buf) >= 2 {
			// read what the header announces in one go
			if hh, n, err := ws.ParseHeader(buf); err == nil && len(buf) == n {
				rest := make([]byte, hh.Length)
				if _, err := io.ReadFull(p.br, rest); err != nil {
					return hh, nil, err
				}
				buf = append(buf, rest...)
			}
		}
	}
}

func (p *peer) run(c confCase) {
	t := p.t
	steps := c.steps
	if len(steps) == 0 || steps[len(steps)-1].kind != closeStep {
		steps = append(steps, seq(send(closeFrame(1000, "")), expectClose(1000))...)
	}
	weClosed := false
	var rest []byte // the part of a frame a prefixStep held back
	for i, st := range steps {
		switch st.kind {
		case sendStep:
			if st.f.op == ws.OpClose {
				weClosed = true
			}
			p.write(st.f.encode(p.client), st.chop)
		case rawStep:
			p.write(st.raw, 0)
		case prefixStep:
			b := st.f.encode(p.client)
			hdr := len(b) - len(st.f.p)
			p.write(b[:hdr+st.n], 0)
			rest = b[hdr+st.n:]
		case expectStep:
			h, got, err := p.readFrame()
			if err != nil {
				t.Fatalf("step %d: want %s frame, got error %v", i, st.f.op, err)
			}
			if !h.Fin || h.OpCode != st.f.op || !bytes.Equal(got, st.f.p) {
				t.Fatalf("step %d: want %s %d bytes, got fin=%v %s %d bytes %.40q", i, st.f.op, len(st.f.p), h.Fin, h.OpCode, len(got), got)
			}
		case closeStep:
			h, got, err := p.readFrame()
			if err != nil {
				t.Fatalf("step %d: want a close frame %v, got error %v", i, st.codes, err)
			}
			if h.OpCode != ws.OpClose {
				t.Fatalf("step %d: want a close frame %v, got %s %.40q", i, st.codes, h.OpCode, got)
			}
			code, reason, ok := ws.ParseClosePayload(got)
			if !ok {
				t.Fatalf("step %d: implementation sent a malformed close payload % x", i, got)
			}
			found := false
			for _, want := range st.codes {
				found = found || code == want
			}
			if !found {
				t.Fatalf("step %d: close code %d (%q), want one of %v", i, code, reason, st.codes)
			}
			p.write(rest, 0) // like Autobahn, finish the frame that was cut
			if !weClosed {
				p.write(ctl(ws.OpClose, string(got[:min(2, len(got))])).encode(p.client), 0)
			}
			if !p.client {
				p.nc.Close() // the server ends the TCP connection
				return
			}
			// the implementation (a server) must end the TCP connection now
			p.nc.SetReadDeadline(time.Now().Add(15 * time.Second))
			n, err := io.Copy(io.Discard, p.br)
			if err != nil {
				t.Fatalf("waiting for the server to end the connection: %v", err)
			}
			if n > 0 && weClosed && code != ws.StatusNoStatus {
				// late bytes after the close frame are a violation
				t.Fatalf("%d bytes after the close frame", n)
			}
			return
		}
	}
}

func TestConformanceServer(t *testing.T) {
	t.Parallel()
	for _, c := range conformanceCases() {
		if c.client {
			continue
		}
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			url := startEcho(t, ws.Upgrader{MaxMessageSize: c.max})
			nc, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/"))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			br := bufio.NewReader(nc)
			handshakeAsClient(t, nc, br)
			(&peer{t: t, nc: nc, br: br, client: true}).run(c)
		})
	}
}

func TestConformanceClient(t *testing.T) {
	t.Parallel()
	for _, c := range conformanceCases() {
		if c.server {
			continue
		}
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			done := make(chan error, 1)
			go func() {
				cc, err := ws.Dial(ctxT(t), "ws://"+l.Addr().String()+"/", &ws.DialOptions{MaxMessageSize: c.max})
				if err != nil {
					done <- err
					return
				}
				done <- wsecho.Echo(cc)
			}()
			nc, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			br := bufio.NewReader(nc)
			handshakeAsServer(t, nc, br)
			(&peer{t: t, nc: nc, br: br, client: false}).run(c)
			nc.Close()
			err = testkit.Recv(t, 10*time.Second, "the client to end", done)
			var ce *ws.CloseError
			var pe *ws.ProtocolError
			var tb *ws.MessageTooBigError
			if !errors.As(err, &ce) && !errors.As(err, &pe) && !errors.As(err, &tb) {
				t.Fatalf("client ended with %v", err)
			}
		})
	}
}

// handshakeAsClient performs a plain client handshake on nc.
func handshakeAsClient(t *testing.T, nc net.Conn, br *bufio.Reader) {
	t.Helper()
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", nc.RemoteAddr(), key)
	h := readHead(t, nc, br)
	if h.Status != 101 || h.Accept != ws.AcceptKey(key) {
		t.Fatalf("handshake response %+v", h)
	}
}

// handshakeAsServer answers a client handshake on nc.
func handshakeAsServer(t *testing.T, nc net.Conn, br *bufio.Reader) {
	t.Helper()
	h := readHead(t, nc, br)
	if !h.WebSocket || h.Key == "" {
		t.Fatalf("handshake request %+v", h)
	}
	fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", ws.AcceptKey(h.Key))
}

func readHead(t *testing.T, nc net.Conn, br *bufio.Reader) ws.HTTPHead {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var buf []byte
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			t.Fatalf("reading the handshake: %v", err)
		}
		buf = append(buf, line...)
		if h, _, err := ws.ParseHTTPHead(buf); err == nil {
			return h
		}
	}
}
