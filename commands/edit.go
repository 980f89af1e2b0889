package commands

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
)

func (a *app) newCommand() *cli.Command {
	flagLib := &cli.StringFlag{Name: "library", Aliases: []string{"l"}, Usage: "the `LIBRARY` to create the script in (default: the first)"}
	flagNoEdit := &cli.BoolFlag{Name: "no-edit", Usage: "do not open $EDITOR"}
	return &cli.Command{
		Name:      "new",
		Usage:     "scaffold a new script definition (opens $EDITOR on a terminal) and commit it",
		ArgsUsage: "NAME",
		Flags:     []cli.Flag{flagLib, flagNoEdit},
		Action: func(c *cli.Context) error {
			name, err := scriptArg(c)
			if err != nil {
				return err
			}
			lib, err := a.targetLibrary(c.String(flagLib.Name))
			if err != nil {
				return err
			}
			if s, ok := lib.Script(name); ok {
				return fmt.Errorf("script %q already exists in library %s at %s: use `cscript edit %s`: %w", name, lib.Library.Name, s.Source.Path, name, store.ErrExists)
			}
			author := store.GitIdentity(lib.Library.Root)
			path, err := store.NewScript(lib.Library, name, authorString(author), a.now())
			if err != nil {
				return err
			}
			if a.io.interactive() && !c.Bool(flagNoEdit.Name) {
				if err := a.editUntilValid(c, lib.Library, path, name); err != nil {
					return err
				}
			}
			if err := a.commitIfGit(lib, "cscript: new script "+name, path); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "Created %s\n", path)
			return nil
		},
	}
}

func (a *app) editCommand() *cli.Command {
	return &cli.Command{
		Name:         "edit",
		Usage:        "edit a script in $EDITOR; re-validates on save, updates `modified` and commits",
		ArgsUsage:    "NAME",
		BashComplete: a.completeScripts,
		Action: func(c *cli.Context) error {
			cat, s, err := a.scriptFromArg(c)
			if err != nil {
				return err
			}
			if !a.io.interactive() {
				return usageErrorf("edit needs a terminal: edit %s directly, then run `cscript validate`", s.Source.Path)
			}
			lib, err := cat.Library(s.Source.Library)
			if err != nil {
				return err
			}
			before, err := os.ReadFile(s.Source.Path)
			if err != nil {
				return err
			}
			if err := a.editUntilValid(c, lib.Library, s.Source.Path, s.Name); err != nil {
				return err
			}
			after, err := os.ReadFile(s.Source.Path)
			if err != nil {
				return err
			}
			if string(after) == string(before) {
				fmt.Fprintln(a.io.Out, "No changes.")
				return nil
			}
			if err := store.Touch(s.Source.Path, a.now()); err != nil {
				return err
			}
			if err := a.commitIfGit(lib, "cscript: edit script "+s.Name, s.Source.Path); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "Saved %s\n", s.Source.Path)
			return nil
		},
	}
}

// editUntilValid opens path in the editor until the library loads without a problem in
// that file, or the user gives up (the file then stays as it is, and that is said).
func (a *app) editUntilValid(c *cli.Context, lib store.Library, path, name string) error {
	for {
		if err := a.openEditor(c, path); err != nil {
			return err
		}
		ix, err := store.LoadLibrary(lib.Name, lib.Root)
		if err != nil {
			return err
		}
		var mine []store.Problem
		for _, p := range ix.Problems {
			if p.File == path || filepath.Base(p.File) == filepath.Base(path) {
				mine = append(mine, p)
			}
		}
		if len(mine) == 0 {
			return nil
		}
		for _, p := range mine {
			fmt.Fprintln(a.io.Err, p.String())
		}
		answer, err := a.io.ask("The definition is invalid. Edit again? [Y/n] ")
		if err != nil {
			return err
		}
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(answer)), "n") {
			return &store.ValidationError{Problems: mine}
		}
	}
}

// openEditor runs $VISUAL or $EDITOR (default vi) on path, attached to the terminal.
func (a *app) openEditor(c *cli.Context, path string) error {
	editor := a.io.getenv("VISUAL")
	if editor == "" {
		editor = a.io.getenv("EDITOR")
	}
	if editor == "" {
		editor = "vi"
	}
	cmd := exec.CommandContext(c.Context, "sh", "-c", editor+` "$1"`, "sh", path)
	cmd.Stdout, cmd.Stderr = a.io.Err, a.io.Err
	if f, ok := a.io.In.(*os.File); ok {
		cmd.Stdin = f // the terminal; anything else stays ours, for the questions after the editor
	}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("the editor %q exited with %d; %s is unchanged or as the editor left it", editor, ee.ExitCode(), path)
		}
		return fmt.Errorf("starting the editor %q (set $EDITOR): %w", editor, err)
	}
	return nil
}

func (a *app) rmCommand() *cli.Command {
	flagYes := &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"}
	return &cli.Command{
		Name:         "rm",
		Usage:        "remove a script definition (committed in a git library, so it can be restored)",
		ArgsUsage:    "NAME",
		Flags:        []cli.Flag{flagYes},
		BashComplete: a.completeScripts,
		Action: func(c *cli.Context) error {
			cat, s, err := a.scriptFromArg(c)
			if err != nil {
				return err
			}
			lib, err := cat.Library(s.Source.Library)
			if err != nil {
				return err
			}
			if !c.Bool(flagYes.Name) {
				if !a.io.interactive() {
					return &refusedError{msg: fmt.Sprintf("not removing %s without confirmation: pass --yes", s.Source.Path)}
				}
				answer, err := a.io.ask(fmt.Sprintf("Remove %s? [y/N] ", s.Source.Path))
				if err != nil {
					return noAnswer(err, "not removed; pass --yes to remove without asking")
				}
				if !strings.HasPrefix(strings.ToLower(answer), "y") {
					return &refusedError{msg: "not removed"}
				}
			}
			removed, err := store.Remove(lib, s)
			if err != nil {
				return err
			}
			if err := a.commitIfGit(lib, "cscript: remove script "+s.Name, removed...); err != nil {
				return err
			}
			for _, p := range removed {
				fmt.Fprintf(a.io.Out, "Removed %s\n", p)
			}
			return nil
		},
	}
}

// refusedError is a confirmation that was not given.
type refusedError struct{ msg string }

func (e *refusedError) Error() string   { return e.msg }
func (e *refusedError) Kind() fail.Kind { return fail.Refused }

func authorString(s store.Signature) string {
	if s.Email == "" {
		return s.Name
	}
	return fmt.Sprintf("%s <%s>", s.Name, s.Email)
}
