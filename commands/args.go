package commands

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed moves a command's positional arguments after its flags, so
// that `cscript run NAME --deck D` works: urfave/cli/v2 stops parsing flags at
// the first positional argument. Everything after "--" stays positional.
//
// Global flags (the App's own) may come before the command or anywhere after
// it; they are moved in front of the command, where urfave/cli reads them.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 || args[1] == completeName {
		return args // the completion scripts' words, as typed
	}
	globals, args := globalFlags(app, args)
	out := append([]string{args[0]}, globals...)
	cmds := app.Commands
	var leaf *cli.Command
	i := 1
	for i < len(args) {
		c := findCommand(cmds, args[i])
		if c == nil {
			break
		}
		out = append(out, args[i])
		leaf, cmds = c, c.Subcommands
		i++
		if len(cmds) == 0 {
			break
		}
	}
	if leaf == nil {
		return append(out, args[1:]...)
	}
	var flags, positional []string
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			flags = append(flags, a)
			if !strings.Contains(a, "=") && takesValue(leaf, strings.TrimLeft(a, "-")) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			positional = append(positional, a)
		}
	}
	out = append(out, flags...)
	for _, p := range positional {
		if strings.HasPrefix(p, "-") && p != "-" {
			out = append(out, "--")
			break
		}
	}
	return append(out, positional...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
		for _, a := range c.Aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

// takesValue reports whether the named flag of c needs a value (all but booleans).
func takesValue(c *cli.Command, name string) bool {
	for _, f := range c.Flags {
		for _, n := range f.Names() {
			if n == name {
				_, isBool := f.(*cli.BoolFlag)
				return !isBool
			}
		}
	}
	return false
}

// globalFlags takes the App's own flags (with their values) out of args,
// stopping at "--".
func globalFlags(app *cli.App, args []string) (globals, rest []string) {
	rest = []string{args[0]}
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return globals, append(rest, args[i:]...)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := appFlag(app, name)
		if !strings.HasPrefix(a, "-") || a == "-" || f == nil {
			rest = append(rest, a)
			continue
		}
		globals = append(globals, a)
		if _, isBool := f.(*cli.BoolFlag); !isBool && !hasValue && i+1 < len(args) {
			globals = append(globals, args[i+1])
			i++
		}
	}
	return globals, rest
}

func appFlag(app *cli.App, name string) cli.Flag {
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}
