package ws

import (
	"bytes"
	"compress/flate"
	"io"
	"strconv"
	"sync"
)

// extensionName is the permessage-deflate token of RFC 7692.
const extensionName = "permessage-deflate"

// deflateTail ends a permessage-deflate payload for the decompressor: the
// 4 bytes the sender stripped (an empty stored block, sync flush) and a
// final empty stored block so that the flate reader ends with io.EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// maxWindow is the LZ77 window a decompressor keeps when the peer uses
// context takeover (RFC 7692 allows at most 2^15 bytes).
const maxWindow = 1 << 15

// deflateParams is what a permessage-deflate negotiation settled.
type deflateParams struct {
	// peerContext: the peer may reuse its compression context between
	// messages, so our decompressor keeps the last window of output.
	peerContext bool
	// huffmanOnly: the peer limited our LZ77 window below 2^15 bytes.
	// compress/flate cannot shrink its window, but its HuffmanOnly mode
	// makes no back-references at all, which fits any window.
	huffmanOnly bool
}

var (
	flateWriterPool = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.BestSpeed)
		return w
	}}
	huffmanWriterPool = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.HuffmanOnly)
		return w
	}}
	flateReaderPool = sync.Pool{New: func() any {
		return flate.NewReader(bytes.NewReader(nil))
	}}
)

// sliceWriter appends to a byte slice.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// compress appends the permessage-deflate payload for p to dst: raw
// DEFLATE, sync-flushed, without the trailing 00 00 ff ff. We never reuse
// the compression context between messages (always allowed by RFC 7692),
// which lets compressors come from a shared pool.
func compress(dst, p []byte, huffmanOnly bool) []byte {
	pool := &flateWriterPool
	if huffmanOnly {
		pool = &huffmanWriterPool
	}
	fw := pool.Get().(*flate.Writer)
	sw := sliceWriter{b: dst}
	fw.Reset(&sw)
	fw.Write(p)
	fw.Flush()
	pool.Put(fw)
	out := sw.b
	if n := len(out); n >= len(dst)+4 && bytes.Equal(out[n-4:], deflateTail[:4]) {
		out = out[:n-4]
	}
	return out
}

// decompressor inflates messages of one connection; with peer context
// takeover it keeps the last window of output as the next dictionary.
type decompressor struct {
	history []byte
	src     bytes.Reader
}

// inflate appends the decompressed in (which must have deflateTail
// appended) to dst, refusing more than max bytes of output (max <= 0: no
// limit). tooBig reports that the limit was hit.
func (d *decompressor) inflate(dst, in []byte, max int64, keepHistory bool) (out []byte, tooBig bool, err error) {
	d.src.Reset(in)
	fr := flateReaderPool.Get().(io.ReadCloser)
	defer flateReaderPool.Put(fr)
	var dict []byte
	if keepHistory {
		dict = d.history
	}
	if err := fr.(flate.Resetter).Reset(&d.src, dict); err != nil {
		return dst, false, err
	}
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, rerr := fr.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if max > 0 && int64(len(dst)-start) > max {
			return dst, true, nil
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return dst, false, rerr
		}
	}
	if keepHistory {
		d.remember(dst[start:])
	}
	return dst, false, nil
}

func (d *decompressor) remember(p []byte) {
	if len(p) >= maxWindow {
		d.history = append(d.history[:0], p[len(p)-maxWindow:]...)
		return
	}
	if over := len(d.history) + len(p) - maxWindow; over > 0 {
		d.history = append(d.history[:0], d.history[over:]...)
	}
	d.history = append(d.history, p...)
}

// extParam is one parameter of an extension offer.
type extParam struct {
	name, value []byte
	hasValue    bool
}

// parseExtensions walks a Sec-WebSocket-Extensions value: fn is called per
// extension with its name and parameters; ok=false stops the walk. Values
// may be quoted. It reports false if the syntax is broken.
func parseExtensions(v []byte, fn func(name []byte, params []extParam) bool) bool {
	var params [8]extParam
	for len(v) > 0 {
		var ext []byte
		ext, v, _ = bytes.Cut(v, []byte(","))
		ext = trimOWS(ext)
		if len(ext) == 0 {
			continue
		}
		name, rest, _ := bytes.Cut(ext, []byte(";"))
		name = trimOWS(name)
		np := 0
		for len(rest) > 0 {
			var p []byte
			p, rest, _ = bytes.Cut(rest, []byte(";"))
			p = trimOWS(p)
			if len(p) == 0 {
				continue
			}
			if np == len(params) {
				return false
			}
			k, val, has := bytes.Cut(p, []byte("="))
			k, val = trimOWS(k), trimOWS(val)
			if has && len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			params[np] = extParam{name: k, value: val, hasValue: has}
			np++
		}
		if !fn(name, params[:np]) {
			return true
		}
	}
	return true
}

// windowBits parses a window-bits value (8-15).
func windowBits(v []byte) (int, bool) {
	n, err := strconv.Atoi(string(v))
	return n, err == nil && n >= 8 && n <= 15 && len(v) <= 2
}

// acceptDeflateOffer checks one permessage-deflate offer from a client and
// returns our answer, or ok=false when we must decline it (unknown or
// repeated parameters, bad values). We never reuse our compression context
// (server_no_context_takeover, always allowed); a server_max_window_bits
// below 15 is met with Huffman-only compression.
func acceptDeflateOffer(params []extParam) (answer string, dp deflateParams, ok bool) {
	var seen [4]bool
	clientNoContext, serverBits := false, 0
	for _, p := range params {
		var i int
		switch {
		case equalFold(p.name, "server_no_context_takeover"):
			i = 0
			if p.hasValue {
				return "", dp, false
			}
		case equalFold(p.name, "client_no_context_takeover"):
			i = 1
			if p.hasValue {
				return "", dp, false
			}
			clientNoContext = true
		case equalFold(p.name, "server_max_window_bits"):
			i = 2
			n, good := windowBits(p.value)
			if !p.hasValue || !good {
				return "", dp, false
			}
			serverBits = n
		case equalFold(p.name, "client_max_window_bits"):
			i = 3
			if p.hasValue {
				if _, good := windowBits(p.value); !good {
					return "", dp, false
				}
			}
		default:
			return "", dp, false
		}
		if seen[i] {
			return "", dp, false
		}
		seen[i] = true
	}
	answer = deflateAnswer
	if clientNoContext {
		// Echoing it confirms the client keeps no state (gorilla's client
		// insists on seeing both no_context_takeover parameters).
		answer = deflateAnswerNoCtx
	}
	if serverBits != 0 && serverBits < 15 {
		answer += "; server_max_window_bits=" + strconv.Itoa(serverBits)
		dp.huffmanOnly = true
	}
	dp.peerContext = !clientNoContext
	return answer, dp, true
}

// The server's answers to an accepted offer.
const (
	deflateAnswer      = extensionName + "; server_no_context_takeover"
	deflateAnswerNoCtx = deflateAnswer + "; client_no_context_takeover"
)

// clientDeflateOffer is what Dial offers: we never reuse our own context
// (so we say so), we accept any window the server uses, and we let the
// server limit ours (client_max_window_bits: below 15 we compress
// Huffman-only).
const clientDeflateOffer = extensionName + "; client_no_context_takeover; client_max_window_bits"

// checkDeflateResponse checks the server's answer to clientDeflateOffer.
func checkDeflateResponse(params []extParam) (dp deflateParams, ok bool) {
	var seen [4]bool
	dp.peerContext = true
	for _, p := range params {
		var i int
		switch {
		case equalFold(p.name, "server_no_context_takeover"):
			i = 0
			dp.peerContext = false
			if p.hasValue {
				return dp, false
			}
		case equalFold(p.name, "client_no_context_takeover"):
			i = 1
			if p.hasValue {
				return dp, false
			}
		case equalFold(p.name, "server_max_window_bits"):
			i = 2
			if _, good := windowBits(p.value); !p.hasValue || !good {
				return dp, false
			}
		case equalFold(p.name, "client_max_window_bits"):
			i = 3
			n, good := windowBits(p.value)
			if !p.hasValue || !good {
				return dp, false
			}
			dp.huffmanOnly = n < 15
		default:
			return dp, false
		}
		if seen[i] {
			return dp, false
		}
		seen[i] = true
	}
	return dp, true
}
