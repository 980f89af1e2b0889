package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

func (a *app) newCommand() *cli.Command {
	flagLib := &cli.StringFlag{Name: "library", Aliases: []string{"l"}, Usage: "the `LIBRARY` to create the script in (default: the first)"}
	flagNoEdit := &cli.BoolFlag{Name: "no-edit", Usage: "do not open an editor ($VISUAL, $EDITOR, or vi on a terminal)"}
	flagFrom := &cli.StringFlag{Name: "from", Usage: "start from a copy of the existing `SCRIPT` (NAME or LIB/NAME) instead of the scaffold"}
	return &cli.Command{
		Name:      "new",
		Usage:     "scaffold a new script definition, edit it (a temporary copy, validated on save) and commit it",
		ArgsUsage: "NAME",
		Flags:     []cli.Flag{flagLib, flagNoEdit, flagFrom},
		Action: func(c *cli.Context) error {
			name, err := scriptArg(c)
			if err != nil {
				return err
			}
			if !store.ValidName(name) {
				return usageErrorf("script name %q is not valid: use lower-case letters, digits and '-' (a DNS-1123 label)", name)
			}
			lib, err := a.targetLibrary(c.String(flagLib.Name))
			if err != nil {
				return err
			}
			if s, ok := lib.Script(name); ok {
				return fmt.Errorf("script %q already exists in library %s at %s: use `cscript edit %s`: %w", name, lib.Library.Name, s.Source.Path, name, store.ErrExists)
			}
			rel := name + ".yaml"
			libPath := filepath.Join(lib.Library.Root, rel)
			if _, err := os.Lstat(libPath); err == nil {
				return fmt.Errorf("%s %w and is not a valid script (see `cscript validate %s`): remove or rename it first", libPath, store.ErrExists, lib.Library.Name)
			}
			author := authorString(store.GitIdentity(lib.Library.Root))
			initial := store.ScriptScaffold(name, author, a.now())
			if from := c.String(flagFrom.Name); from != "" {
				if initial, err = a.copyOf(from, name, author); err != nil {
					return err
				}
			}
			check := a.scriptCheck(lib, rel)
			body := initial
			if editor := a.editor(); editor != "" && !c.Bool(flagNoEdit.Name) {
				var changed bool
				body, changed, err = a.editCopy(c.Context, editor, "script "+name, libPath, initial, check, nil)
				if err != nil {
					return err
				}
				if !changed && c.String(flagFrom.Name) == "" {
					return &refusedError{msg: fmt.Sprintf("cancelled: the editor was quit without a change, so script %q was not created", name)}
				}
			} else if ps, err := check(initial); err != nil {
				return err
			} else if len(ps) > 0 {
				kept, err := keepAttempt(name, initial, ps)
				if err != nil {
					return err
				}
				return notSaved("script "+name, kept, ps)
			}
			if err := store.CreateFileAtomic(libPath, body, 0o644); err != nil {
				return fmt.Errorf("new script %q: %w", name, err)
			}
			if err := a.commitIfGit(lib, "cscript: new script "+name, libPath); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "Created %s\n", libPath)
			return nil
		},
	}
}

// copyOf is the definition of the script ref renamed to name, with author,
// created and modified set for the copy.
func (a *app) copyOf(ref, name, author string) ([]byte, error) {
	_, src, err := a.scriptFromRef(ref)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(src.Source.Path)
	if err != nil {
		return nil, err
	}
	ts := a.now().UTC().Format("2006-01-02T15:04:05Z07:00")
	return store.SetFields(src.Source.Path, data, [][2]string{{"name", name}, {"author", author}, {"created", ts}, {"modified", ts}})
}

// scriptFromRef finds the script ref (NAME or LIB/NAME).
func (a *app) scriptFromRef(ref string) (*store.Catalog, *store.Script, error) {
	cat, _, err := a.catalogFor(ref)
	if err != nil {
		return nil, nil, err
	}
	s, err := cat.Script(ref)
	if err != nil {
		return nil, nil, err
	}
	return cat, s, nil
}

func (a *app) editCommand() *cli.Command {
	return &cli.Command{
		Name:         "edit",
		Usage:        "edit a script (a temporary copy, in $VISUAL or $EDITOR); re-validated on save, `modified` updated, committed",
		ArgsUsage:    "NAME",
		BashComplete: a.completeScripts,
		Action: func(c *cli.Context) error {
			cat, s, err := a.scriptFromArg(c)
			lib, rel, ps, invalid := a.invalidFile(cat, err)
			if err != nil && !invalid {
				return err
			}
			if !invalid {
				if lib, err = cat.Library(s.Source.Library); err != nil {
					return err
				}
				rel = s.Source.RelPath
			}
			editor := a.editor()
			if editor == "" {
				return usageErrorf("edit needs a terminal, or an editor in $VISUAL or $EDITOR: edit %s directly, then run `cscript validate`",
					filepath.Join(lib.Library.Root, filepath.FromSlash(rel)))
			}
			_, name := store.SplitRef(c.Args().First())
			return a.editFile(c.Context, editor, lib, rel, "script "+name, a.scriptCheck(lib, rel), true, ps)
		},
	}
}

// editFile edits the library file rel through a temporary copy and, when
// the copy was changed and is valid, writes it back (with `modified`
// updated when touch) and commits only that file.
//
// An invalid file (problems, as found) is opened with its problems on top.
func (a *app) editFile(ctx context.Context, editor string, lib *store.Index, rel, what string, check func([]byte) ([]store.Problem, error), touch bool, problems []store.Problem) error {
	libPath := filepath.Join(lib.Library.Root, filepath.FromSlash(rel))
	before, err := os.ReadFile(libPath)
	if err != nil {
		return err
	}
	st, err := os.Stat(libPath)
	if err != nil {
		return err
	}
	body, changed, err := a.editCopy(ctx, editor, what, libPath, before, check, problems)
	if err != nil {
		return err
	}
	if !changed {
		fmt.Fprintln(a.io.Out, "No changes.")
		return nil
	}
	if err := store.WriteFileAtomic(libPath, body, st.Mode().Perm()); err != nil {
		return err
	}
	if touch {
		if err := store.Touch(libPath, a.now()); err != nil {
			return err
		}
	}
	if err := a.commitIfGit(lib, "cscript: edit "+what, libPath); err != nil {
		return err
	}
	fmt.Fprintf(a.io.Out, "Saved %s\n", libPath)
	return nil
}

// scriptCheck returns the problems the script file rel of lib would have
// with data as its contents, as validate reports them: the file's own, and
// its templates'.
func (a *app) scriptCheck(lib *store.Index, rel string) func([]byte) ([]store.Problem, error) {
	return func(data []byte) ([]store.Problem, error) {
		ix, err := store.LoadLibraryWith(lib.Library.Name, lib.Library.Root, store.LoadOptions{Overlay: map[string][]byte{rel: data}})
		if err != nil {
			return nil, err
		}
		file := filepath.Join(lib.Library.Root, filepath.FromSlash(rel))
		var ps []store.Problem
		for _, p := range ix.Problems {
			if p.File == file {
				ps = append(ps, p)
			}
		}
		for _, s := range ix.Scripts {
			if s.Source.RelPath == rel {
				ps = append(ps, templates.Check(s, lib.Library.Root)...)
			}
		}
		for _, f := range ix.Other {
			if f.RelPath == rel {
				ps = append(ps, store.Problem{File: file, Line: 1, Col: 1, Message: fmt.Sprintf("this is a %s definition, not a script: keep the script's fields and no kind", f.Kind)})
			}
		}
		return ps, nil
	}
}

// deckCheck is scriptCheck for the deck file rel.
func (a *app) deckCheck(lib *store.Index, rel string) func([]byte) ([]store.Problem, error) {
	return func(data []byte) ([]store.Problem, error) {
		ix, err := store.LoadLibraryWith(lib.Library.Name, lib.Library.Root, store.LoadOptions{Overlay: map[string][]byte{rel: data}})
		if err != nil {
			return nil, err
		}
		file := filepath.Join(lib.Library.Root, filepath.FromSlash(rel))
		var ps []store.Problem
		for _, p := range ix.Problems {
			if p.File == file {
				ps = append(ps, p)
			}
		}
		return ps, nil
	}
}

// editor is the editor command to run: $VISUAL, else $EDITOR, else vi on
// a terminal; "" when there is none (no terminal and neither variable set).
func (a *app) editor() string {
	for _, v := range []string{"VISUAL", "EDITOR"} {
		if e := strings.TrimSpace(a.io.getenv(v)); e != "" {
			return e
		}
	}
	if a.io.interactive() {
		return "vi"
	}
	return ""
}

// problemMark starts the comment lines editCopy puts above the text after
// an invalid save; they are removed before the text is checked again.
const problemMark = "# cscript edit: "

// maxUnattendedRounds is how many invalid saves editCopy takes without a
// terminal before it gives up.
const maxUnattendedRounds = 10

// editCopy lets the user edit a temporary copy of initial, the future
// contents of the library file libPath, until check finds no problem.
// After an invalid save the editor opens again with the problems as
// comments at the top (on a terminal, after asking). It returns the text
// (without those comments) and whether it differs from initial; a first
// editor session that changes nothing returns changed false. Giving up
// after problems (quitting the editor without a change, or answering no)
// keeps the attempt in its temporary file and returns an error that names
// it; the library is never touched here. Problems initial already has
// (an invalid file being fixed) are shown on top from the start.
func (a *app) editCopy(ctx context.Context, editor, what, libPath string, initial []byte, check func([]byte) ([]store.Problem, error), start []store.Problem) ([]byte, bool, error) {
	base := strings.TrimSuffix(filepath.Base(libPath), filepath.Ext(libPath))
	f, err := os.CreateTemp("", "cscript-"+base+"-*.yaml")
	if err != nil {
		return nil, false, fmt.Errorf("edit %s: %w", what, err)
	}
	tmp := f.Name()
	shown := initial
	if len(start) > 0 {
		shown = withProblems(what, start, initial)
	}
	_, err = f.Write(shown)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return nil, false, fmt.Errorf("edit %s: %w", what, err)
	}
	var problems []store.Problem
	rounds := 0
	for {
		if err := a.openEditor(ctx, editor, tmp); err != nil {
			after, rerr := os.ReadFile(tmp)
			if rerr == nil && bytes.Equal(stripProblems(after), initial) {
				os.Remove(tmp)
				return nil, false, fmt.Errorf("%w: %s not saved, the library is unchanged", err, what)
			}
			return nil, false, fmt.Errorf("%w: %s not saved, the library is unchanged; your attempt is kept in %s", err, what, tmp)
		}
		after, err := os.ReadFile(tmp)
		if err != nil {
			return nil, false, fmt.Errorf("edit %s: %w", what, err)
		}
		if bytes.Equal(after, shown) {
			if problems == nil {
				os.Remove(tmp)
				return initial, false, nil
			}
			return nil, false, notSaved(what, tmp, problems)
		}
		body := stripProblems(after)
		ps, err := check(body)
		if err != nil {
			return nil, false, fmt.Errorf("%w (your attempt is kept in %s)", err, tmp)
		}
		if len(ps) == 0 {
			os.Remove(tmp)
			return body, !bytes.Equal(body, initial), nil
		}
		problems = ps
		for _, p := range ps {
			fmt.Fprintln(a.io.Err, p.String())
		}
		shown = withProblems(what, ps, body)
		if err := store.WriteFileAtomic(tmp, shown, 0o600); err != nil {
			return nil, false, err
		}
		if a.io.interactive() {
			answer, err := a.io.ask(fmt.Sprintf("%s is invalid. Edit again? [Y/n] ", what))
			if err != nil {
				return nil, false, fmt.Errorf("%w (%s not saved; your attempt is kept in %s)", err, what, tmp)
			}
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(answer)), "n") {
				return nil, false, notSaved(what, tmp, problems)
			}
		} else if rounds++; rounds >= maxUnattendedRounds {
			// Without a terminal nobody may be there to give up: an editor
			// that always changes something and never fixes it ends here.
			return nil, false, notSaved(fmt.Sprintf("%s (still invalid after %d saves)", what, rounds), tmp, problems)
		} else {
			fmt.Fprintf(a.io.Err, "%s is invalid: opening the editor again (quit it without a change to give up)\n", what)
		}
	}
}

// withProblems is body under comment lines listing ps.
func withProblems(what string, ps []store.Problem, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s%s is not saved: it has %s; lines count from the first line below these comments,\n", problemMark, what, plural(len(ps), "problem", "problems"))
	fmt.Fprintf(&b, "%swhich cscript removes. Fix them, save and quit; quit without a change to give up.\n", problemMark)
	for _, p := range ps {
		fmt.Fprintf(&b, "%s%s\n", problemMark, strings.ReplaceAll(p.String(), "\n", "\n"+problemMark))
	}
	b.Write(body)
	return b.Bytes()
}

// stripProblems removes the comment lines withProblems put at the top.
func stripProblems(data []byte) []byte {
	for bytes.HasPrefix(data, []byte(problemMark)) || bytes.HasPrefix(data, []byte(strings.TrimSpace(problemMark)+"\n")) {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return nil
		}
		data = data[i+1:]
	}
	return data
}

// keepAttempt writes an invalid text with its problems to a temporary file
// and returns its path.
func keepAttempt(name string, body []byte, ps []store.Problem) (string, error) {
	f, err := os.CreateTemp("", "cscript-"+name+"-*.yaml")
	if err != nil {
		return "", err
	}
	_, err = f.Write(withProblems(name, ps, body))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return f.Name(), err
}

// notSaved is the error of an edit given up after problems.
func notSaved(what, kept string, ps []store.Problem) error {
	return &store.ValidationError{
		What:     fmt.Sprintf("%s not saved (the library is unchanged; your attempt is kept in %s)", what, kept),
		Problems: ps,
	}
}

// openEditor runs editor (a shell command line, as git runs $EDITOR) on
// path, attached to the terminal when there is one.
func (a *app) openEditor(ctx context.Context, editor, path string) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", editor+` "$1"`, "sh", path)
	cmd.Stdout, cmd.Stderr = a.io.Err, a.io.Err
	if f, ok := a.io.In.(*os.File); ok {
		cmd.Stdin = f // the terminal; anything else stays ours, for the questions after the editor
	}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("the editor %q exited with %d", editor, ee.ExitCode())
		}
		return fmt.Errorf("starting the editor %q (set $VISUAL or $EDITOR): %w", editor, err)
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
			badLib, rel, _, invalid := a.invalidFile(cat, err)
			if err != nil && !invalid {
				return err
			}
			var lib *store.Index
			var removed []string
			_, name := store.SplitRef(c.Args().First())
			if invalid {
				// An invalid definition: its one file goes.
				lib = badLib
				path := filepath.Join(lib.Library.Root, filepath.FromSlash(rel))
				if err := a.confirm(c.Bool(flagYes.Name), fmt.Sprintf("Remove %s (invalid)?", path), path); err != nil {
					return err
				}
				if err := os.Remove(path); err != nil {
					return fmt.Errorf("remove script %q: %w", name, err)
				}
				removed = []string{path}
			} else {
				if lib, err = cat.Library(s.Source.Library); err != nil {
					return err
				}
				if err := a.confirm(c.Bool(flagYes.Name), fmt.Sprintf("Remove %s?", s.Source.Path), s.Source.Path); err != nil {
					return err
				}
				if removed, err = store.Remove(lib, s); err != nil {
					return err
				}
				name = s.Name
			}
			if err := a.commitIfGit(lib, "cscript: remove script "+name, removed...); err != nil {
				return err
			}
			for _, p := range removed {
				fmt.Fprintf(a.io.Out, "Removed %s\n", p)
			}
			return nil
		},
	}
}

// confirm asks question (y/N) unless yes; without a terminal it refuses.
func (a *app) confirm(yes bool, question, what string) error {
	if yes {
		return nil
	}
	if !a.io.interactive() {
		return &refusedError{msg: fmt.Sprintf("not removing %s without confirmation: pass --yes", what)}
	}
	answer, err := a.io.ask(question + " [y/N] ")
	if err != nil {
		return noAnswer(err, "not removed; pass --yes to remove without asking")
	}
	if !strings.HasPrefix(strings.ToLower(answer), "y") {
		return &refusedError{msg: "not removed"}
	}
	return nil
}

func (a *app) mvCommand() *cli.Command {
	return &cli.Command{
		Name:         "mv",
		Usage:        "rename a script: its file and name (committed in a git library)",
		ArgsUsage:    "OLD NEW",
		BashComplete: a.completeScripts,
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageErrorf("mv needs the script's name (NAME or LIB/NAME) and its new name, got %d arguments", c.NArg())
			}
			oldRef, name := c.Args().Get(0), c.Args().Get(1)
			if !store.ValidName(name) {
				return usageErrorf("script name %q is not valid: use lower-case letters, digits and '-' (a DNS-1123 label)", name)
			}
			cat, _, err := a.catalog()
			if err != nil {
				return err
			}
			s, err := cat.Script(oldRef)
			if err != nil {
				return err
			}
			lib, err := cat.Library(s.Source.Library)
			if err != nil {
				return err
			}
			if o, ok := lib.Script(name); ok {
				return fmt.Errorf("script %q already exists in library %s at %s: %w", name, lib.Library.Name, o.Source.Path, store.ErrExists)
			}
			oldRel := s.Source.RelPath
			newRel := path.Join(path.Dir(oldRel), name+".yaml")
			oldPath := filepath.Join(lib.Library.Root, filepath.FromSlash(oldRel))
			newPath := filepath.Join(lib.Library.Root, filepath.FromSlash(newRel))
			if _, err := os.Lstat(newPath); err == nil {
				return fmt.Errorf("%s %w: remove or rename it first", newPath, store.ErrExists)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			data, err := os.ReadFile(oldPath)
			if err != nil {
				return err
			}
			ts := a.now().UTC().Format("2006-01-02T15:04:05Z07:00")
			if data, err = store.SetFields(oldPath, data, [][2]string{{"name", name}, {"modified", ts}}); err != nil {
				return err
			}
			if err := a.checkRename(cat, lib, map[string][]byte{oldRel: nil, newRel: data}); err != nil {
				return err
			}
			st, err := os.Stat(oldPath)
			if err != nil {
				return err
			}
			if err := store.CreateFileAtomic(newPath, data, st.Mode().Perm()); err != nil {
				return err
			}
			if err := os.Remove(oldPath); err != nil {
				os.Remove(newPath)
				return err
			}
			if err := a.commitIfGit(lib, fmt.Sprintf("cscript: rename script %s to %s", s.Name, name), oldPath, newPath); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "Renamed %s to %s (%s)\n", s.Name, name, newPath)
			return nil
		},
	}
}

// checkRename refuses a change of lib's files (overlay) that would bring
// problems the library does not have now (a lifecycle naming the old name).
func (a *app) checkRename(cat *store.Catalog, lib *store.Index, overlay map[string][]byte) error {
	have := map[string]bool{}
	for _, p := range validationProblems([]*store.Index{lib}, cat) {
		have[p.Message] = true
	}
	ix, err := store.LoadLibraryWith(lib.Library.Name, lib.Library.Root, store.LoadOptions{Overlay: overlay})
	if err != nil {
		return err
	}
	libs := []*store.Index{ix}
	for _, o := range cat.Libraries() {
		if o.Library.Name != lib.Library.Name {
			libs = append(libs, o)
		}
	}
	var added []store.Problem
	for _, p := range validationProblems([]*store.Index{ix}, store.NewCatalog(libs...)) {
		if !have[p.Message] {
			added = append(added, p)
		}
	}
	if len(added) > 0 {
		return &store.ValidationError{What: "not renamed (nothing was changed): the library would have these problems; fix them first", Problems: added}
	}
	return nil
}

// invalidFile is the one library file that makes a lookup fail with err
// (a *store.ValidationError of an invalid script or deck), so that it can
// be edited or removed; ok is false for any other error.
func (a *app) invalidFile(cat *store.Catalog, err error) (lib *store.Index, rel string, ps []store.Problem, ok bool) {
	var ve *store.ValidationError
	if cat == nil || !errors.As(err, &ve) || len(ve.Problems) == 0 {
		return nil, "", nil, false
	}
	file := ve.Problems[0].File
	for _, p := range ve.Problems {
		if p.File != file {
			return nil, "", nil, false
		}
	}
	for _, ix := range cat.Libraries() {
		r, err := filepath.Rel(ix.Library.Root, file)
		if err == nil && r != "." && !strings.HasPrefix(r, "..") {
			return ix, filepath.ToSlash(r), ve.Problems, true
		}
	}
	return nil, "", nil, false
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
