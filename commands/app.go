// Package commands is cscript's command-line interface: one file per command,
// each a thin layer that reads flags, calls a library package and formats the result.
package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/store"
)

// BuildInfo is set by the linker in main.
type BuildInfo struct {
	Version, Commit, Date string
	// Force is closed by a second interrupt (see HandleSignals); may be nil.
	Force <-chan struct{}
}

// app holds what every command needs; it is built fresh for every process (no globals).
type app struct {
	info  BuildInfo
	io    streams
	now   func() time.Time
	paths func() store.Paths
	// secrets are the secret values known so far (a run adds its own); the
	// Kubernetes client's log (--kube-verbosity) and the final error are
	// redacted with them.
	secrets *redact.Redactor
	// restoreLog undoes the routing of the Kubernetes client's log.
	restoreLog func()
	// act is the application layer the commands call.
	act *action.Configuration
	// target is the cluster the command talks to, once it is known (for
	// the message of an API server that cannot be reached).
	target *kube.Target
	// helpErr is the error of `help WORD` for a WORD that is no command
	// (urfave/cli's CommandNotFound hook cannot return one).
	helpErr error
}

// Main runs cscript with args and returns the process exit code.
func Main(ctx context.Context, info BuildInfo, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newApp(info, stdin, stdout, stderr).main(ctx, args)
}

func (a *app) main(ctx context.Context, args []string) int {
	cliApp := a.cli()
	if isKubectlPlugin(args) {
		cliApp.Name = "kubectl cscript"
		var err error
		if args, err = pluginArgs(cliApp, args); err != nil {
			return a.report(err)
		}
	}
	return a.runCLI(ctx, cliApp, args)
}

// runCLI runs the command tree cliApp (a.cli(), or in tests one with a
// command added) with args and returns the process exit code.
func (a *app) runCLI(ctx context.Context, cliApp *cli.App, args []string) int {
	a.io.ctx = ctx // Ctrl-C stops a question at once
	err := cliApp.RunContext(ctx, interspersed(cliApp, args))
	if err == nil {
		err = a.helpErr
	}
	if errors.Is(err, errVersionShown) {
		err = nil
	}
	var ec cli.ExitCoder
	if _, ok := fail.Of(err); !ok && errors.As(err, &ec) {
		// urfave/cli's own error (an unknown help topic): a bad command line.
		err = fail.Wrap(fail.Usage, err)
	}
	if _, said := fail.Of(err); !said && a.target != nil && fail.KindOf(err) == fail.Unavailable {
		err = fail.Errorf(fail.Unavailable, "cannot reach the API server at %s (context %s): %w", a.target.Config.Host, a.target.Context, err)
	}
	if a.restoreLog != nil {
		a.restoreLog()
	}
	return a.report(err)
}

// report prints the error cscript ends with, redacted by every secret the
// command came to know, and returns the exit code.
func (a *app) report(err error) int {
	return ReportError(a.io.Err, a.secrets, err)
}

// New builds a fresh command tree.
func New(info BuildInfo, stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	return newApp(info, stdin, stdout, stderr).cli()
}

func newApp(info BuildInfo, stdin io.Reader, stdout, stderr io.Writer) *app {
	a := &app{
		info:    info,
		io:      streams{In: stdin, Out: stdout, Err: stderr, getenv: os.Getenv},
		now:     time.Now,
		paths:   store.DefaultPaths,
		secrets: redact.New(),
	}
	// Through a: tests replace a.now, a.paths and a.io.getenv after newApp.
	a.act = &action.Configuration{
		Paths:    func() store.Paths { return a.paths() },
		Now:      func() time.Time { return a.now() },
		Secrets:  a.secrets,
		Getenv:   func(k string) string { return a.io.getenv(k) },
		Stdin:    stdin,
		Force:    info.Force,
		Prompter: terminal{a},
		Log:      terminal{a},
	}
	return a
}

func (a *app) cli() *cli.App {
	info := a.info
	stdin, stdout, stderr := a.io.In, a.io.Out, a.io.Err
	usage := func(_ *cli.Context, err error, _ bool) error {
		return &usageError{msg: err.Error() + " (see --help)"}
	}
	cliApp := &cli.App{
		Name:                 "cscript",
		Usage:                "run cluster scripts in one-off containers of a Kubernetes cluster or a Docker engine",
		Version:              info.Version,
		Reader:               stdin,
		Writer:               stdout,
		ErrWriter:            stderr,
		HideVersion:          true,
		EnableBashCompletion: true,
		// A --set expression (or a -f file name) may hold commas: never split them.
		DisableSliceFlagSeparator: true,
		Suggest:                   true,
		// Exit codes are mapped once, in Main; never os.Exit inside Run, so deferred cleanup runs.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   usage,
		Flags:          []cli.Flag{flagKubeVerbosity, flagVersion},
		// `help WORD` of no command: the same message as `cscript WORD`.
		CommandNotFound: func(c *cli.Context, word string) {
			cmds, parent := c.Command.Subcommands, c.Command.Name+" "
			if c.Command.Name == "" || c.Command.Name == c.App.Name || len(cmds) == 0 {
				cmds, parent = c.App.Commands, ""
			}
			a.helpErr = unknownCommand(cmds, parent, word)
		},
		// Without a command: the help; with a word that is no command: a bad command line.
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return unknownCommand(c.App.Commands, "", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Before: func(c *cli.Context) error {
			if c.Bool(flagVersion.Name) {
				if err := printVersion(c.App.Writer, info); err != nil {
					return err
				}
				return errVersionShown
			}
			if a.restoreLog == nil {
				a.restoreLog = kubeLogging(c.Int(flagKubeVerbosity.Name), a.io.Err, a.secrets)
			}
			return nil
		},
		Commands: []*cli.Command{
			a.initCommand(),
			a.listCommand(),
			a.showCommand(),
			a.newCommand(),
			a.editCommand(),
			a.rmCommand(),
			a.mvCommand(),
			a.validateCommand(),
			a.renderCommand(),
			a.runCommand(),
			a.resourceCommand(),
			a.lifecycleCommand(),
			a.runsCommand(),
			a.traceCommand(),
			a.gcCommand(),
			a.withDeckUse(a.deckCommand()),
			a.libraryCommand(),
			a.syncCommand(),
			a.uiCommand(),
			a.completionCommand(),
			a.completeCommand(),
			a.aliasCommand(),
			a.schemaCommand(),
			a.explainCommand(),
			versionCommand(info),
		},
	}
	setUsageHandler(cliApp.Commands, usage, "")
	addExamples(cliApp, cliApp.Commands, "")
	return cliApp
}

// setUsageHandler gives every command the usage error handler h; every
// command with subcommands an Action that reports a word that is none of
// them as a bad command line (urfave/cli runs the parent's Action then);
// and every other command a check that refuses more positional arguments
// than its ArgsUsage names (parent is "" or "NAME " of their parent).
func setUsageHandler(cmds []*cli.Command, h cli.OnUsageErrorFunc, parent string) {
	for _, c := range cmds {
		c.OnUsageError = h
		path := parent + c.Name
		switch {
		case len(c.Subcommands) > 0:
			cmd, action := c, c.Action
			c.Action = func(ctx *cli.Context) error {
				if ctx.NArg() > 0 {
					err := unknownCommand(cmd.Subcommands, cmd.Name+" ", ctx.Args().First())
					if hint := parentHints[path]; hint != "" {
						err = usageErrorf("%v; %s", err, fmt.Sprintf(hint, ctx.Args().First()))
					}
					return err
				}
				if action != nil {
					return action(ctx)
				}
				return cli.ShowSubcommandHelp(ctx)
			}
		case !c.Hidden && c.Action != nil:
			if most := maxArgs(c.ArgsUsage); most >= 0 {
				usage, action := c.ArgsUsage, c.Action
				c.Action = func(ctx *cli.Context) error {
					if ctx.NArg() > most {
						return tooManyArgs(ctx.App.Name+" "+path, usage, ctx.Args().Slice())
					}
					return action(ctx)
				}
			}
		}
		setUsageHandler(c.Subcommands, h, path+" ")
	}
}

// parentHints say, after the message of a word that is no subcommand of
// the command, what the word may have meant (%s is the word).
var parentHints = map[string]string{
	"runs": "to list the runs of a script: cscript runs --script %s",
}

// maxArgs is the number of positional arguments a command's ArgsUsage
// names ("NAME", "[DIR]", "OLD NEW"), or -1 for any number ("[WORD]...").
func maxArgs(usage string) int {
	n := 0
	for _, w := range strings.Fields(usage) {
		if strings.HasSuffix(w, "...") || strings.HasSuffix(w, "…") {
			return -1
		}
		n++
	}
	return n
}

// tooManyArgs is the usage error of a command line with more positional
// arguments than the command (cmd, "cscript NAME") takes.
func tooManyArgs(cmd, usage string, args []string) error {
	takes := "no arguments"
	if usage != "" {
		takes = "only " + usage
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = strconv.Quote(a)
	}
	return usageErrorf("too many arguments: %s takes %s, got %s (see %s --help)", cmd, takes, strings.Join(quoted, " "), cmd)
}

// unknownCommand is the usage error for a word that is no command of cmds
// (parent is "" or "NAME " of the command they belong to).
func unknownCommand(cmds []*cli.Command, parent, word string) error {
	best, bestD := "", len(word)/2+2
	for _, c := range cmds {
		if c.Hidden || c.Name == "help" {
			continue
		}
		for _, n := range c.Names() {
			if d := store.EditDistance(word, n); d < bestD {
				best, bestD = n, d
			}
		}
	}
	msg := fmt.Sprintf("unknown command %q", parent+word)
	if best != "" {
		msg += fmt.Sprintf(": did you mean %q?", parent+best)
	}
	return usageErrorf("%s (see cscript %s--help)", msg, parent)
}
