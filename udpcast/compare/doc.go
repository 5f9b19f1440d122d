// Package compare owns the TCP-versus-UDP comparison: the same message
// stream (count, size, rate) is sent over TCP — wiredojo's length-prefixed
// framing, TCP_NODELAY, congestion control pinned to cubic where it can be
// set — and over UDP through the same impairment, and every message is
// measured: delivered, duplicated, reordered, one-way latency, and for TCP
// the delay that head-of-line blocking added.
//
// The impairment is the namespaced link of udpcast/link when the process
// may create it (root or CAP_NET_ADMIN): real kernel TCP and UDP cross the
// same impaired path, side A to side B. Otherwise (LinkNone, or LinkAuto
// without privileges) UDP is impaired at the socket by udpcast/impair and
// TCP runs unimpaired over loopback; Result.Notice says so. (The wiredojo
// command never lets LinkAuto fall back: not root, it runs the comparison
// in a private sandbox, internal/sandbox, where the process may create the
// link.)
//
// The head-of-line figure is HOLDefinition: from the link's packet times,
// how long each TCP message that had fully arrived waited behind earlier
// bytes still missing; 0 when nothing was missing (and over LinkNone,
// where TCP crosses unimpaired loopback).
//
// It prints nothing: udpcast/report renders a Result as a terminal table
// and chart or a self-contained HTML page.
//
// Example:
//
//	res, err := compare.Run(ctx, compare.Options{Count: 1000, Size: 512, Rate: 1000,
//		Impair: impair.Config{Loss: 0.05, Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 1}})
package compare
