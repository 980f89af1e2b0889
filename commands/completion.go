package commands

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// completeScripts is urfave/cli's own --generate-bash-completion hook.
func (a *app) completeScripts(c *cli.Context) {
	if cat, _, err := a.catalog(); err == nil {
		for _, s := range cat.Scripts() {
			fmt.Fprintln(a.io.Out, cat.Ref(s))
		}
	}
}

func (a *app) completeDecks(c *cli.Context) {
	if cat, _, err := a.catalog(); err == nil {
		for _, d := range cat.Decks() {
			fmt.Fprintln(a.io.Out, d.Name)
		}
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
