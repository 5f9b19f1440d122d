package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func init() { register(completionCommand) }

const bashCompletion = `# bash completion for wiredojo; load with: source <(wiredojo completion bash)
_wiredojo_complete() {
  local cur opts
  cur="${COMP_WORDS[COMP_CWORD]}"
  if [[ "$cur" == "-"* ]]; then
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
}
complete -o bashdefault -o default -F _wiredojo_complete wiredojo
`

const zshCompletion = `#compdef wiredojo
# zsh completion for wiredojo; load with: source <(wiredojo completion zsh)
_wiredojo() {
  local -a opts
  opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion 2>/dev/null)}")
  _describe 'values' opts
}
compdef _wiredojo wiredojo
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash or zsh)",
		ArgsUsage: "bash|zsh",
		Description: "Load it in the current shell with `source <(wiredojo completion bash)`,\n" +
			"or add that line to ~/.bashrc.",
		Action: func(c *cli.Context) error {
			switch c.Args().First() {
			case "bash", "":
				fmt.Fprint(c.App.Writer, bashCompletion)
			case "zsh":
				fmt.Fprint(c.App.Writer, zshCompletion)
			default:
				return usagef("unknown shell %q: choose bash or zsh", c.Args().First())
			}
			return nil
		},
	}
}
