package main

import (
	"io"
	"os"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
)

// setupColor decides once whether output is coloured: never with --no-color,
// with NO_COLOR set (any value), or when stdout is not a terminal.
func setupColor(noColor bool, stdout io.Writer) {
	if _, ok := os.LookupEnv("NO_COLOR"); ok || noColor {
		color.NoColor = true
		return
	}
	f, ok := stdout.(*os.File)
	color.NoColor = !ok || !(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
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
