package main

import (
	"io"
	"os"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
)

// setupColor decides once whether output is coloured: never with --no-color,
// with NO_COLOR set (any value), or when stdout is not a terminal.
//
// The decision lives in fatih/color's global; it is written only when it
// changes, so commands run side by side (tests) do not race on it.
func setupColor(noColor bool, stdout io.Writer) {
	off := noColor
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		off = true
	}
	if !off {
		f, ok := stdout.(*os.File)
		off = !ok || !(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
	}
	if color.NoColor != off {
		color.NoColor = off
	}
}

// Palette shared by the commands, so one concept has one colour everywhere.
var (
	styleTime  = color.New(color.FgHiBlack)
	styleName  = color.New(color.FgCyan, color.Bold)
	styleEvent = color.New(color.FgYellow)
	styleOK    = color.New(color.FgGreen)
	styleWarn  = color.New(color.FgYellow, color.Bold)
	styleErr   = color.New(color.FgRed, color.Bold)
	styleDim   = color.New(color.Faint)
)
