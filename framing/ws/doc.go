// Package ws owns wiredojo's hand-written WebSocket (RFC 6455) layer, with
// the permessage-deflate extension (RFC 7692).
//
// It has two levels, in the manner of gobwas/ws:
//
//   - a stateless codec the capture viewer imports: ParseHeader and
//     AppendHeader for frame headers (7/16/64-bit lengths, minimal encoding),
//     Split for whole frames in a byte slice, Mask (a word at a time),
//     ValidCloseCode, ParseClosePayload, and ParseHTTPHead, which reads an
//     HTTP request or response head from bytes and says whether it asks for
//     (or grants) a WebSocket upgrade;
//   - a stateful connection: the opening handshake on the server side
//     (Upgrader.Upgrade on a raw net.Conn whose first bytes were already
//     read, Upgrader.UpgradeHTTP from net/http) and on the client side
//     (Dial, ws:// and wss://), and Conn, which reads messages
//     (fragmentation, interleaved control frames, incremental fail-fast
//     UTF-8 validation, the close handshake, automatic pong, a maximum
//     message size) and writes them. The reader never waits for a
//     blocked write: a pong owed meanwhile (the last ping's) goes out
//     with that write, and its own pongs are bounded by the read
//     deadline. AppendMessage and WriteMessage allocate nothing in
//     steady state; WriteMessages frames a batch of
//     messages into one write (a send queue drained at once);
//     PreparedMessage encodes a broadcast once for many connections;
//     SetFrameObserver shows every frame (what `wiredojo ws dial` prints).
//
// permessage-deflate: we never reuse our compression context (so
// compressors are pooled, not held per connection), accept peers that do
// (the decompressor keeps their window), and meet a peer's demand for a
// smaller LZ77 window by compressing Huffman-only.
//
// Every protocol violation closes the connection with the status code RFC
// 6455 prescribes (1002, 1007, 1009, ...) and returns an error; nothing here
// panics on network input.
//
// It does not own what messages mean (the event protocol lives in
// tcpchat/wire), the listening socket, or the choice between protocols on a
// shared port (tcpchat sniffs the first bytes and hands HTTP upgrades here).
// The echo server for conformance runs is in the sub-package wsecho.
//
// Example, a server on a connection whose first bytes were read into br:
//
//	u := &ws.Upgrader{Origins: []string{"https://example.com"}}
//	c, err := u.Upgrade(nc, br)
//	if err != nil { ... } // the refusal was already sent
//	defer c.CloseNow()
//	for {
//		op, msg, err := c.AppendMessage(buf[:0]) // no allocation in steady state
//		if err != nil { return }
//		buf = msg
//		if err := c.WriteMessage(op, msg); err != nil { return }
//	}
//
// A client:
//
//	c, err := ws.Dial(ctx, "ws://127.0.0.1:7070/ws", nil)
package ws
