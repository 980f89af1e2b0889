package commands

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// Flags are defined once and read by name through these variables. Slice
// flags are never split at commas (the App disables urfave/cli's separator):
// a --set expression is parsed whole, so `note=a\,b` and `hosts={a,b}`
// mean what they mean in Helm.
var (
	flagOutput  = outputFlag(outputTable, outputJSON, outputYAML)
	flagDeck    = &cli.StringFlag{Name: "deck", Aliases: []string{"d"}, Usage: "the deck (target environment) to use: `NAME` or LIB/NAME", EnvVars: []string{"CSCRIPT_DECK"}}
	flagSet     = &cli.StringSliceFlag{Name: "set", Usage: `set a value or param on the command line, Helm-style: ` + "`KEY=VALUE`" + ` (a.b=c, list[0]=x, a=1,b=2, list={a,b}, a\,b for a comma)`}
	flagSetStr  = &cli.StringSliceFlag{Name: "set-string", Usage: "like --set, but the value is always a string: `KEY=VALUE`"}
	flagSetFile = &cli.StringSliceFlag{Name: "set-file", Usage: "set a value to the contents of a local file: `KEY=PATH`"}
	flagSetJSON = &cli.StringSliceFlag{Name: "set-json", Usage: `set a value from JSON: ` + "`KEY=JSON`" + ` (a='{"b":1}', l='[1,2]')`}
	flagValues  = &cli.StringSliceFlag{Name: "values", Aliases: []string{"f"}, Usage: "a YAML `FILE` of values, - for stdin (may repeat; later files win)"}
)

// outputFlag is an --output (-o) flag: the first of choices is the default
// (a "" first choice: none, and the choice is not listed). Its usage lists
// the choices as "output FORMAT: a, b or c", which completion offers.
func outputFlag(choices ...string) *cli.StringFlag {
	return outputFlagWith("", choices...)
}

// outputFlagWith is outputFlag with more words after the choices.
func outputFlagWith(more string, choices ...string) *cli.StringFlag {
	listed := choices
	if choices[0] == "" {
		listed = choices[1:]
	}
	usage := "output `FORMAT`: " + strings.Join(listed[:len(listed)-1], ", ") + " or " + listed[len(listed)-1] + more
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: choices[0], Usage: usage}
}

// valuesFlags are the flags that feed the values of a render or a run.
func valuesFlags() []cli.Flag {
	return []cli.Flag{flagDeck, flagSet, flagSetStr, flagSetFile, flagSetJSON, flagValues}
}
