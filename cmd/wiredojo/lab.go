package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/wiredojo/wiredojo/labs"
)

func init() { register(labCommand) }

func labCommand() *cli.Command {
	// onLab turns an action on one lab (named by the single argument) and
	// its environment into a command action.
	onLab := func(do func(c *cli.Context, l *labs.Lab, env *labs.Env) error) cli.ActionFunc {
		return func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return usagef("%s needs one lab number (see `wiredojo lab list`)", c.Command.HelpName)
			}
			l, err := labs.Catalog().Find(c.Args().First())
			if err != nil {
				return &usageError{err: err}
			}
			env, err := labs.NewEnv(l, c.App.Writer)
			if err != nil {
				return err
			}
			return do(c, l, env)
		}
	}
	return &cli.Command{
		Name:  "lab",
		Usage: "exercises to run from the terminal, each with a check",
		Description: "Work through a lab with: lab show N (read it), lab run N (set it up),\n" +
			"lab hint N (one more hint each time), lab check N (verify your work), lab reset N (start over).\n" +
			"Each lab's text is a list of commands to run as written; LABDIR is the lab's folder, and a\n" +
			"<PLACEHOLDER> is what you found. Blocks that start with \"# terminal N\" run in a terminal of\n" +
			"their own, left running until a later block says Ctrl-C.\n" +
			"Progress is kept in $XDG_STATE_HOME/wiredojo (default ~/.local/state/wiredojo).",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list the labs with your progress",
				Action: func(c *cli.Context) error {
					prog, err := labs.LoadProgress()
					if err != nil {
						return err
					}
					w := c.App.Writer
					for _, l := range labs.Catalog() {
						st := prog.Labs[l.Number].Status()
						mark := styleDim.Sprint("·")
						switch st {
						case "passed":
							mark = styleOK.Sprint("✓")
						case "started":
							mark = styleWarn.Sprint("…")
						}
						fmt.Fprintf(w, "%s %2d  %-48s %s\n", mark, l.Number, styleName.Sprint(l.Title), styleDim.Sprint(l.Goal))
					}
					return nil
				},
			},
			{
				Name: "show", Usage: "print a lab's text", ArgsUsage: "N",
				Action: onLab(func(c *cli.Context, l *labs.Lab, env *labs.Env) error {
					renderLabText(c.App.Writer, strings.ReplaceAll(l.Text, "LABDIR", env.Dir))
					fmt.Fprintf(c.App.Writer, "\n%s %s\n", styleDim.Sprint("Lab folder:"), env.Dir)
					return nil
				}),
			},
			{
				Name: "run", Usage: "set up what the lab needs; Ctrl-C cleans up", ArgsUsage: "N",
				Action: onLab(func(c *cli.Context, l *labs.Lab, env *labs.Env) error {
					if prog, err := labs.LoadProgress(); err == nil {
						_ = prog.Update(l.Number, func(p *labs.LabProgress) {
							if p.Started.IsZero() {
								p.Started = time.Now().UTC()
							}
						})
					}
					if l.Run == nil {
						fmt.Fprintf(c.App.Writer, "Lab %d needs no set-up: follow `wiredojo lab show %d`.\n", l.Number, l.Number)
						return nil
					}
					if !l.Serves {
						fmt.Fprintf(c.App.Writer, "%s lab %d (%s) in %s\n", styleOK.Sprint("setting up"), l.Number, l.Title, env.Dir)
						return l.Run(c.Context, env)
					}
					fmt.Fprintf(c.App.Writer, "%s lab %d (%s); lab folder %s; Ctrl-C to stop and clean up\n", styleOK.Sprint("running"), l.Number, l.Title, env.Dir)
					return l.Run(c.Context, env)
				}),
			},
			{
				Name: "check", Usage: "verify your work on a lab", ArgsUsage: "N",
				Action: onLab(func(c *cli.Context, l *labs.Lab, env *labs.Env) error {
					res := l.Check(c.Context, env)
					w := c.App.Writer
					for _, it := range res.Items {
						if it.OK {
							fmt.Fprintf(w, "%s %s\n", styleOK.Sprint("✓"), it.Name)
						} else {
							fmt.Fprintf(w, "%s %s\n  %s\n", styleErr.Sprint("✗"), it.Name, it.Detail)
						}
					}
					prog, perr := labs.LoadProgress()
					if perr == nil {
						perr = prog.Update(l.Number, func(p *labs.LabProgress) {
							p.Checks++
							if res.Passed && p.Passed.IsZero() {
								p.Passed = time.Now().UTC()
							}
						})
					}
					if perr != nil {
						fmt.Fprintf(c.App.ErrWriter, "wiredojo: progress not saved: %v\n", perr)
					}
					if !res.Passed {
						return cli.Exit(fmt.Sprintf("lab %d is not done yet (`wiredojo lab hint %d` helps)", l.Number, l.Number), exitRuntime)
					}
					fmt.Fprintf(w, "%s lab %d passed\n", styleOK.Sprint("✓"), l.Number)
					return nil
				}),
			},
			{
				Name: "hint", Usage: "show the next hint of a lab", ArgsUsage: "N",
				Action: onLab(func(c *cli.Context, l *labs.Lab, env *labs.Env) error {
					prog, err := labs.LoadProgress()
					if err != nil {
						return err
					}
					shown := prog.Labs[l.Number].Hints
					if shown >= len(l.Hints) {
						shown = len(l.Hints) - 1
					}
					for i := 0; i <= shown; i++ {
						fmt.Fprintf(c.App.Writer, "%s %s\n", styleWarn.Sprintf("hint %d/%d:", i+1, len(l.Hints)), strings.ReplaceAll(l.Hints[i], "LABDIR", env.Dir))
					}
					return prog.Update(l.Number, func(p *labs.LabProgress) { p.Hints = shown + 1 })
				}),
			},
			{
				Name: "reset", Usage: "start a lab over: empty its folder (your files) and forget its progress", ArgsUsage: "N",
				Description: "Asks before it removes anything; --yes does not ask (needed when the input is not a terminal).\n" +
					"Only lab N is reset: the other labs keep their files and progress.",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask"}},
				Action: onLab(func(c *cli.Context, l *labs.Lab, env *labs.Env) error {
					if !c.Bool("yes") {
						in, ok := c.App.Reader.(*os.File)
						if !ok || !isatty.IsTerminal(in.Fd()) {
							return usagef("lab reset %d empties %s: pass --yes to confirm (the input is not a terminal to ask on)", l.Number, env.Dir)
						}
						fmt.Fprintf(c.App.Writer, "Reset lab %d? This empties %s (your files) and forgets its progress. [y/N] ", l.Number, env.Dir)
						line, _ := bufio.NewReader(in).ReadString('\n')
						if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
							fmt.Fprintln(c.App.Writer, "nothing reset")
							return nil
						}
					}
					if err := env.Reset(); err != nil {
						return err
					}
					prog, err := labs.LoadProgress()
					if err == nil {
						err = prog.Forget(l.Number)
					}
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "lab %d reset: emptied %s (your files are gone) and forgot its progress\n", l.Number, env.Dir)
					return nil
				}),
			},
		},
	}
}

// renderLabText prints a lab's Markdown subset for the terminal: headings,
// fenced code blocks, list items and `inline code`.
func renderLabText(w io.Writer, text string) {
	inCode := false
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```"):
			inCode = !inCode
		case inCode:
			fmt.Fprintf(w, "    %s\n", styleOK.Sprint(trimmed))
		case strings.HasPrefix(line, "# "):
			fmt.Fprintf(w, "%s\n", styleName.Sprint(inlineCode(strings.TrimPrefix(line, "# "))))
		case strings.HasPrefix(line, "## "):
			fmt.Fprintf(w, "\n%s\n", styleWarn.Sprint(inlineCode(strings.TrimPrefix(line, "## "))))
		default:
			fmt.Fprintln(w, inlineCode(line))
		}
	}
}

// inlineCode colours `code` spans and drops the backquotes.
func inlineCode(line string) string {
	parts := strings.Split(line, "`")
	if len(parts)%2 == 0 { // unbalanced: leave the line alone
		return line
	}
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 {
			b.WriteString(styleEvent.Sprint(p))
		} else {
			b.WriteString(p)
		}
	}
	return b.String()
}
