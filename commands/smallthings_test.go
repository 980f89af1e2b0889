package commands

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// The small things a user notices: a flag's placeholder is a placeholder
// (never words of its usage taken from backticks), an --output default is
// one of the formats it lists, --version works, `help WORD` never
// suggests "", counts are singular for one, a missing param says what to
// set, and extra positional arguments are refused (exit 2) naming them.
func TestSmallThingsUsersNotice(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	root := newApp(BuildInfo{}, strings.NewReader(""), os.Stdout, os.Stderr).cli()
	placeholder := regexp.MustCompile("`([^`]*)`")
	valid := regexp.MustCompile(`^[A-Z][A-Z0-9_]*([=:|.][A-Z][A-Z0-9_]*)*$`)
	checkFlags := func(where string, flags []cli.Flag) {
		for _, f := range flags {
			df, ok := f.(cli.DocGenerationFlag)
			if !ok {
				continue
			}
			usage, name := df.GetUsage(), f.Names()[0]
			m := placeholder.FindStringSubmatch(usage)
			switch _, isBool := f.(*cli.BoolFlag); {
			case isBool && m != nil:
				t.Errorf("%s --%s is a switch, but its usage has a placeholder %q (backticks): %s", where, name, m[1], usage)
			case !isBool && m == nil:
				t.Errorf("%s --%s shows the placeholder \"value\": mark one in its usage with backticks: %s", where, name, usage)
			case !isBool && !valid.MatchString(m[1]):
				t.Errorf("%s --%s has the placeholder %q: use upper case (NAME, KEY=VALUE): %s", where, name, m[1], usage)
			}
			if name == "output" {
				sf := f.(*cli.StringFlag)
				c := choicesPattern.FindStringSubmatch(usage)
				if c == nil {
					t.Errorf("%s --output lists no formats: %s", where, usage)
				} else if sf.Value != "" && !regexp.MustCompile(`\b`+sf.Value+`\b`).MatchString(c[1]) {
					t.Errorf("%s --output defaults to %q, not one of %s", where, sf.Value, c[1])
				}
			}
		}
	}
	checkFlags("cscript", root.Flags)
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			checkFlags(path+c.Name, c.Flags)
			walk(path+c.Name+" ", c.Subcommands)
		}
	}
	walk("cscript ", root.Commands)

	var b strings.Builder
	show := func(args ...string) {
		r := e.run("", args...)
		b.WriteString("$ cscript " + strings.Join(args, " ") + "\n")
		b.WriteString(r.out)
		if r.err != "" {
			b.WriteString("stderr: " + r.err)
		}
		fmt.Fprintf(&b, "exit %d\n\n", r.code)
	}
	show("--version")
	show("run", "hello", "--version")
	show("help", "qqq")
	show("deck", "help", "qqq")
	show("help", "rnu")
	show("validate")
	show("render", "db-restore", "--deck", "local")
	show("version", "extra")
	show("render", "hello", "extra", "--deck", "local")
	show("mv", "a", "b", "c")
	show("runs", "hello")
	show("deck", "show", "local", "staging")
	help, _, _ := strings.Cut(e.mustRun("run", "--help").out, "EXAMPLES:")
	for _, l := range strings.Split(help, "\n") {
		if strings.Contains(l, "--detach") || strings.Contains(l, "--mode") || strings.Contains(l, "--keep-runs") {
			b.WriteString(strings.Join(strings.Fields(l), " ") + "\n")
		}
	}
	help = e.mustRun("resource", "show", "--help").out
	for _, l := range strings.Split(help, "\n") {
		if strings.Contains(l, "--output") {
			b.WriteString(strings.Join(strings.Fields(l), " ") + "\n")
		}
	}
	out := b.String()
	if strings.Contains(out, `""?`) {
		t.Errorf("an empty suggestion:\n%s", out)
	}
	e.golden("small-things", out)
}
