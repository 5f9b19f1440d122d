package render

import (
	"strings"

	"github.com/fatih/color"
	"github.com/wiredojo/wiredojo/capture"
)

// style is a colour as the escape sequences around coloured text; both are
// empty when colour is off.
type style struct{ on, off string }

func newStyle(c *color.Color) style {
	s := c.Sprint("\x00")
	i := strings.IndexByte(s, 0)
	if i < 0 {
		return style{}
	}
	return style{on: s[:i], off: s[i+1:]}
}

// Palette holds the colour of each TCP/IP layer, the timestamp and the
// notes. Build it with NewPalette after color.NoColor is decided.
type Palette struct {
	// AbsoluteSeq prints raw TCP sequence and acknowledgement numbers in
	// the one-line view (tcpdump -S) instead of tcpdump's relative ones.
	AbsoluteSeq bool

	layer   [5]style // indexed by capture.TCPIPLayer
	colored bool     // the styles are not empty
	// hexLegendDone: AppendHexLegend has printed the legend.
	hexLegendDone bool
	time          style
	note          style
	dim           style
}

// NewPalette returns the colours in force now (none when color.NoColor).
func NewPalette() *Palette {
	p := &Palette{colored: !color.NoColor}
	p.layer[capture.TCPIPLink] = newStyle(color.New(color.FgMagenta))
	p.layer[capture.TCPIPInternet] = newStyle(color.New(color.FgBlue, color.Bold))
	p.layer[capture.TCPIPTransport] = newStyle(color.New(color.FgCyan))
	p.layer[capture.TCPIPApplication] = newStyle(color.New(color.FgGreen))
	p.time = newStyle(color.New(color.FgHiBlack))
	p.note = newStyle(color.New(color.FgRed, color.Bold))
	p.dim = newStyle(color.New(color.Faint))
	return p
}

func (p *Palette) of(proto capture.Proto) style {
	return p.layer[capture.Place(proto).TCPIP]
}
