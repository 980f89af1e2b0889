package commands

import "github.com/urfave/cli/v2"

// Flags are defined once and read by name through these variables. Slice
// flags are never split at commas (the App disables urfave/cli's separator):
// a --set expression is parsed whole, so `note=a\,b` and `hosts={a,b}`
// mean what they mean in Helm.
var (
	flagOutput  = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: outputTable, Usage: "output format: table, json or yaml"}
	flagDeck    = &cli.StringFlag{Name: "deck", Aliases: []string{"d"}, Usage: "the deck (target environment) to use: `NAME` or LIB/NAME", EnvVars: []string{"CSCRIPT_DECK"}}
	flagSet     = &cli.StringSliceFlag{Name: "set", Usage: `set a value or param on the command line, Helm-style: ` + "`KEY=VALUE`" + ` (a.b=c, list[0]=x, a=1,b=2, list={a,b}, a\,b for a comma)`}
	flagSetStr  = &cli.StringSliceFlag{Name: "set-string", Usage: "like --set, but the value is always a string: `KEY=VALUE`"}
	flagSetFile = &cli.StringSliceFlag{Name: "set-file", Usage: "set a value to the contents of a local file: `KEY=PATH`"}
	flagSetJSON = &cli.StringSliceFlag{Name: "set-json", Usage: `set a value from JSON: ` + "`KEY=JSON`" + ` (a='{"b":1}', l='[1,2]')`}
	flagValues  = &cli.StringSliceFlag{Name: "values", Aliases: []string{"f"}, Usage: "a YAML `FILE` of values, - for stdin (may repeat; later files win)"}
)

// valuesFlags are the flags that feed the values of a render or a run.
func valuesFlags() []cli.Flag {
	return []cli.Flag{flagDeck, flagSet, flagSetStr, flagSetFile, flagSetJSON, flagValues}
}
