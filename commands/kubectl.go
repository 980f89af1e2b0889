package commands

import (
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
)

// kubectlPluginName is the name under which kubectl finds cscript as a
// plugin (`kubectl cscript …` runs kubectl-cscript from the PATH).
const kubectlPluginName = "kubectl-cscript"

// isKubectlPlugin reports whether cscript was started as kubectl's plugin
// (argv[0] is kubectl-cscript, with or without a directory or .exe).
func isKubectlPlugin(args []string) bool {
	if len(args) == 0 {
		return false
	}
	name := strings.TrimSuffix(filepath.Base(args[0]), ".exe")
	return name == kubectlPluginName
}

// kubectlTargetFlag reports whether a (a word of the command line) is one of
// the flags a kubectl user puts anywhere — --context, -n/--namespace,
// --kubeconfig — and whether its value is the next word.
func kubectlTargetFlag(a string) (ok, valueNext bool) {
	name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
	if !strings.HasPrefix(a, "-") {
		return false, false
	}
	switch name {
	case flagContext.Name, flagNamespace.Name, "n", flagKubeconfig.Name:
		return true, !hasValue
	}
	return false, false
}

// pluginArgs turns the command line kubectl gave the plugin into cscript's:
// kubectl's --context, -n/--namespace and --kubeconfig, which a kubectl user
// puts before the command too (`kubectl cscript -n team run hello`), move
// behind the command words, where cscript's own target flags are read. A
// command without target flags is told so, not given them silently.
func pluginArgs(app *cli.App, args []string) ([]string, error) {
	var target, rest []string
	rest = append(rest, args[0])
	i := 1
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		ok, next := kubectlTargetFlag(a)
		if !ok {
			// cscript's own global flags (--kube-verbosity N) stay where they are.
			rest = append(rest, a)
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if f := appFlag(app, name); f != nil && !hasValue && i+1 < len(args) {
				if _, isBool := f.(*cli.BoolFlag); !isBool {
					rest = append(rest, args[i+1])
					i++
				}
			}
			continue
		}
		target = append(target, a)
		if next && i+1 < len(args) {
			target = append(target, args[i+1])
			i++
		}
	}
	if len(target) == 0 {
		return args, nil
	}
	// The command words (run, resource create, …), then the target flags.
	cmds := app.Commands
	var leaf *cli.Command
	var words []string
	for ; i < len(args); i++ {
		c := findCommand(cmds, args[i])
		if c == nil {
			break
		}
		words = append(words, args[i])
		leaf, cmds = c, c.Subcommands
	}
	for _, f := range target {
		if !strings.HasPrefix(f, "-") {
			continue // a value
		}
		name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if leaf == nil || !takesValue(leaf, name) {
			what := "cscript without a command"
			if leaf != nil {
				what = "cscript " + strings.Join(words, " ")
			}
			return nil, usageErrorf("%s takes no %s: only the commands that reach a cluster do (see kubectl cscript COMMAND --help)", what, f)
		}
	}
	rest = append(rest, words...)
	rest = append(rest, target...)
	return append(rest, args[i:]...), nil
}
