package commands

import "github.com/urfave/cli/v2"

// Flags are defined once and read by name through these variables.
var (
	flagOutput = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: outputTable, Usage: "output format: table, json or yaml"}
	flagDeck   = &cli.StringFlag{Name: "deck", Aliases: []string{"d"}, Usage: "the deck (target environment) to use: `NAME` or LIB/NAME", EnvVars: []string{"CSCRIPT_DECK"}}
	flagSet    = &cli.StringSliceFlag{Name: "set", Usage: "set a value or param on the command line, Helm-style: `KEY=VALUE` (a.b=c, list[0]=x, a=1,b=2)"}
	flagSetStr = &cli.StringSliceFlag{Name: "set-string", Usage: "like --set, but the value is always a string: `KEY=VALUE`"}
	flagValues = &cli.StringSliceFlag{Name: "values", Aliases: []string{"f"}, Usage: "a YAML `FILE` of values (may repeat; later files win)"}
)

// valuesFlags are the flags that feed the values of a render or a run.
func valuesFlags() []cli.Flag { return []cli.Flag{flagDeck, flagSet, flagSetStr, flagValues} }
