package commands

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// Every visible command and subcommand (and cscript itself) shows examples
// in its help, and every example is a command line that parses: its
// command is this one or one of its subcommands, each flag is one the
// command takes (with a value where it needs one, one of the choices of
// an --output), and it gives no more arguments than the command takes.
// A new command without examples fails here.
func TestHelpShowsExamples(t *testing.T) {
	e := newEnv(t)
	root := newApp(BuildInfo{}, strings.NewReader(""), os.Stdout, os.Stderr).cli()
	var walk func(path []string, cmds []*cli.Command)
	check := func(path []string) {
		key := strings.Join(path, " ")
		ex := examples[key]
		if len(ex) == 0 {
			t.Errorf("cscript %s has no examples: add some to examples in examples.go", key)
			return
		}
		r := e.run("", append(path, "--help")...)
		if r.code != 0 {
			t.Errorf("cscript %s --help: exit %d %s", key, r.code, r.err)
			return
		}
		_, section, ok := strings.Cut(r.out, "\nEXAMPLES:\n")
		if !ok {
			t.Errorf("cscript %s --help shows no EXAMPLES:\n%s", key, r.out)
			return
		}
		for _, x := range ex {
			if !strings.Contains(section, "   "+x+"\n") {
				t.Errorf("cscript %s --help lacks the example %q:\n%s", key, x, section)
			}
			if err := checkExample(root, path, x); err != "" {
				t.Errorf("cscript %s: example %q: %s", key, x, err)
			}
		}
	}
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			p := append(append([]string(nil), path...), c.Name)
			check(p)
			walk(p, c.Subcommands)
		}
	}
	check(nil)
	walk(nil, root.Commands)
	for key := range examples {
		if key != "" && findPath(root.Commands, strings.Fields(key)) == nil {
			t.Errorf("examples of %q: there is no such command", key)
		}
	}
}

// checkExample says what is wrong with example x of the command at path
// ("" when nothing).
func checkExample(app *cli.App, path []string, x string) string {
	for _, part := range strings.Split(x, " | ") {
		if strings.Contains(part, "cscript ") {
			x = part
		}
	}
	words := shellWords(x)
	for len(words) > 0 && words[0] != "cscript" {
		words = words[1:]
	}
	if len(words) == 0 {
		return "it does not run cscript"
	}
	words = words[1:]
	var leaf *cli.Command
	cmds, i := app.Commands, 0
	for ; i < len(words); i++ {
		c := findCommand(cmds, words[i])
		if c == nil {
			break
		}
		leaf, cmds = c, c.Subcommands
	}
	got := words[:i]
	if len(got) < len(path) || strings.Join(got[:len(path)], " ") != strings.Join(path, " ") {
		return "it runs cscript " + strings.Join(got, " ") + ", not this command or one of its subcommands"
	}
	var flags []cli.Flag
	if leaf != nil {
		flags = leaf.Flags
	}
	flags = append(flags, app.Flags...)
	positional := 0
	for ; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "-") || w == "-" {
			positional++
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
		f := flagNamed(flags, name)
		if f == nil {
			return "no flag " + w
		}
		if _, isBool := f.(*cli.BoolFlag); isBool {
			continue
		}
		if !hasValue {
			if i+1 >= len(words) {
				return "flag " + w + " without a value"
			}
			i++
			value = words[i]
		}
		if name == "o" || name == "output" {
			if m := choicesPattern.FindStringSubmatch(f.(*cli.StringFlag).Usage); m == nil || !regexp.MustCompile(`\b`+value+`\b`).MatchString(m[1]) {
				return "-o " + value + " is not one of the choices of " + f.(*cli.StringFlag).Usage
			}
		}
	}
	if leaf != nil {
		if most := maxArgs(leaf.ArgsUsage); most >= 0 && positional > most {
			return "more arguments than " + leaf.ArgsUsage
		}
	}
	return ""
}

func flagNamed(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func findPath(cmds []*cli.Command, path []string) *cli.Command {
	var c *cli.Command
	for _, p := range path {
		if c = findCommand(cmds, p); c == nil {
			return nil
		}
		cmds = c.Subcommands
	}
	return c
}

// shellWords splits a shell command line into words as far as the
// examples need: quotes, and a word that is a comment, a pipe, a
// redirection or the end of a process substitution ends the command (a
// pipe into cscript is cut off before).
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	in, quote := false, rune(0)
	flush := func() {
		if in {
			words = append(words, cur.String())
		}
		cur.Reset()
		in = false
	}
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ':
			flush()
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	flush()
	for i, w := range words {
		if w == "#" || w == "|" || w == ">" || w == ">>" {
			return words[:i]
		}
		if strings.HasSuffix(w, ")") {
			words[i] = strings.TrimSuffix(w, ")")
			return words[:i+1]
		}
		if strings.HasPrefix(w, "<(") {
			words[i] = strings.TrimPrefix(w, "<(")
		}
	}
	return words
}
