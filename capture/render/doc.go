// Package render owns how decoded packets are shown: one line per packet
// like tcpdump (coloured per layer), a layered detail view with every layer
// labelled by its OSI number and TCP/IP layer (grouped by either model), a
// hex and ASCII dump with bytes coloured by the layer they belong to, and the
// JSON-lines format of docs/ARCHITECTURE.md ("Capture JSON").
//
// Renderers append to a caller's buffer and allocate nothing per packet for
// the one-line and JSON forms. Colours come from fatih/color, so they follow
// color.NoColor (which the CLI sets from --no-color, NO_COLOR and the TTY).
// It does not decode or compute statistics.
package render
