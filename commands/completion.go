package commands

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/store"
)

// Completion scripts call `cscript __complete scripts|decks` for dynamic names.
const bashCompletion = `# bash completion for cscript; install: cscript completion bash > /etc/bash_completion.d/cscript
_cscript() {
  local cur prev cmd
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  cmd="${COMP_WORDS[1]}"
  if [[ "$prev" == "--deck" || "$prev" == "-d" ]]; then
    COMPREPLY=( $(compgen -W "$(cscript __complete decks 2>/dev/null)" -- "$cur") ); return
  fi
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=( $(compgen -W "$(cscript __complete commands 2>/dev/null)" -- "$cur") ); return
  fi
  case "$cmd" in
    run|show|render|edit|rm) COMPREPLY=( $(compgen -W "$(cscript __complete scripts 2>/dev/null)" -- "$cur") ) ;;
    deck) COMPREPLY=( $(compgen -W "list show new $(cscript __complete decks 2>/dev/null)" -- "$cur") ) ;;
    sync) COMPREPLY=( $(compgen -W "$(cscript __complete libraries 2>/dev/null)" -- "$cur") ) ;;
  esac
}
complete -o default -F _cscript cscript
`

const zshCompletion = `#compdef cscript
# zsh completion for cscript; install: cscript completion zsh > "${fpath[1]}/_cscript"
_cscript() {
  local -a words_
  if [[ "${words[CURRENT-1]}" == "--deck" || "${words[CURRENT-1]}" == "-d" ]]; then
    words_=(${(f)"$(cscript __complete decks 2>/dev/null)"}); compadd -a words_; return
  fi
  if (( CURRENT == 2 )); then
    words_=(${(f)"$(cscript __complete commands 2>/dev/null)"}); compadd -a words_; return
  fi
  case "${words[2]}" in
    run|show|render|edit|rm) words_=(${(f)"$(cscript __complete scripts 2>/dev/null)"}); compadd -a words_ ;;
    deck) words_=(list show new ${(f)"$(cscript __complete decks 2>/dev/null)"}); compadd -a words_ ;;
    sync) words_=(${(f)"$(cscript __complete libraries 2>/dev/null)"}); compadd -a words_ ;;
    *) _files ;;
  esac
}
compdef _cscript cscript
`

const fishCompletion = `# fish completion for cscript; install: cscript completion fish > ~/.config/fish/completions/cscript.fish
complete -c cscript -f
complete -c cscript -n '__fish_use_subcommand' -a '(cscript __complete commands 2>/dev/null)'
complete -c cscript -n '__fish_seen_subcommand_from run show render edit rm' -a '(cscript __complete scripts 2>/dev/null)'
complete -c cscript -n '__fish_seen_subcommand_from sync' -a '(cscript __complete libraries 2>/dev/null)'
complete -c cscript -l deck -s d -r -a '(cscript __complete decks 2>/dev/null)'
`

func (a *app) completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish) that completes script and deck names",
		ArgsUsage: "bash|zsh|fish",
		Action: func(c *cli.Context) error {
			scripts := map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}
			s, ok := scripts[c.Args().First()]
			if c.NArg() != 1 || !ok {
				return usageErrorf("completion needs one shell: bash, zsh or fish")
			}
			_, err := fmt.Fprint(a.io.Out, s)
			return err
		},
	}
}

// completeCommand is the hidden command the completion scripts call.
func (a *app) completeCommand() *cli.Command {
	return &cli.Command{
		Name:   "__complete",
		Hidden: true,
		Action: func(c *cli.Context) error {
			var words []string
			switch c.Args().First() {
			case "commands":
				for _, cmd := range c.App.Commands {
					if !cmd.Hidden {
						words = append(words, cmd.Name)
					}
				}
			case "libraries":
				cfg, err := a.config()
				if err != nil {
					return nil
				}
				for _, l := range cfg.Libraries {
					words = append(words, l.Name)
				}
			case "scripts", "decks":
				cat, _, err := a.catalog()
				if err != nil {
					return nil // completion never prints errors
				}
				words = names(cat, c.Args().First())
			}
			sort.Strings(words)
			_, err := fmt.Fprintln(a.io.Out, strings.Join(words, "\n"))
			return err
		},
	}
}

func names(cat *store.Catalog, kind string) []string {
	var words []string
	if kind == "decks" {
		for _, d := range cat.Decks() {
			words = append(words, d.Name)
		}
		return words
	}
	for _, s := range cat.Scripts() {
		words = append(words, cat.Ref(s))
	}
	return words
}

// completeScripts is urfave/cli's own --generate-bash-completion hook.
func (a *app) completeScripts(c *cli.Context) {
	if cat, _, err := a.catalog(); err == nil {
		fmt.Fprintln(a.io.Out, strings.Join(names(cat, "scripts"), "\n"))
	}
}

func (a *app) completeDecks(c *cli.Context) {
	if cat, _, err := a.catalog(); err == nil {
		fmt.Fprintln(a.io.Out, strings.Join(names(cat, "decks"), "\n"))
	}
}

func (a *app) aliasCommand() *cli.Command {
	flagPrefix := &cli.StringFlag{Name: "prefix", Value: "cs-", Usage: "`PREFIX` of each alias name"}
	flagAliasDeck := &cli.StringFlag{Name: "deck", Aliases: []string{"d"}, Usage: "add --deck `NAME` to every alias"}
	return &cli.Command{
		Name:  "alias",
		Usage: "print shell alias lines, one per script, for your shell's rc file",
		Flags: []cli.Flag{flagPrefix, flagAliasDeck},
		Action: func(c *cli.Context) error {
			cat, _, err := a.catalog()
			if err != nil {
				return err
			}
			deck := ""
			if d := c.String(flagAliasDeck.Name); d != "" {
				deck = " --deck " + shellWord(d)
			}
			for _, s := range cat.Scripts() {
				ref := cat.Ref(s)
				name := c.String(flagPrefix.Name) + strings.ReplaceAll(ref, "/", "-")
				fmt.Fprintf(a.io.Out, "alias %s=%s\n", name, shellWord("cscript run "+ref+deck))
			}
			return nil
		},
	}
}

// shellWord quotes s for a POSIX shell, unless it is made only of safe characters.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
