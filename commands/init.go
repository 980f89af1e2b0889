package commands

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/examples"
	"github.com/cscript-dev/cscript/store"
)

func (a *app) initCommand() *cli.Command {
	flagName := &cli.StringFlag{Name: "name", Usage: "the library's `NAME` in the config (default: local, or the directory's name)"}
	flagEmpty := &cli.BoolFlag{Name: "empty", Usage: "create the library without the examples"}
	return &cli.Command{
		Name:      "init",
		Usage:     "create a new library with the examples, git-initialised, and add it to the config",
		ArgsUsage: "[DIR]",
		Flags:     []cli.Flag{flagName, flagEmpty},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageErrorf("init takes at most one directory, got %d arguments", c.NArg())
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			dir := c.Args().First()
			if dir == "" {
				dir = a.paths().LocalLibraryDir()
			}
			if dir, err = filepath.Abs(dir); err != nil {
				return err
			}
			name := c.String(flagName.Name)
			if name == "" {
				name = store.DefaultLibrary
				if ref, ok := cfg.Library(name); ok && !cfg.Default && ref.Path != dir {
					name = filepath.Base(dir)
				}
			}
			if !store.ValidName(name) {
				return &store.ValidationError{Problems: []store.Problem{{Message: fmt.Sprintf("library name %q is not a DNS-1123 label: use lower-case letters, digits and '-', e.g. --name team-scripts", name)}}}
			}
			if ref, ok := cfg.Library(name); ok && !cfg.Default && ref.Path != dir {
				return usageErrorf("a library called %q already exists at %s: choose another with --name", name, ref.Path)
			}
			if err := initLibrary(dir, !c.Bool(flagEmpty.Name)); err != nil {
				return err
			}
			if _, ok := cfg.Library(name); !ok || cfg.Default {
				if cfg.Default {
					cfg.Libraries = nil
					cfg.Default = false
				}
				if _, ok := cfg.Library(name); !ok {
					cfg.Libraries = append(cfg.Libraries, store.LibraryRef{Name: name, Path: dir})
				}
				if err := cfg.Save(a.paths().ConfigFile); err != nil {
					return err
				}
			}
			fmt.Fprintf(a.io.Out, "Created library %q at %s (a git repository).\nTry: cscript list; cscript render hello --deck local\n", name, dir)
			return nil
		},
	}
}

// initLibrary creates dir with the example library (or just the layout) and commits it.
func initLibrary(dir string, withExamples bool) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s already exists and is not empty: choose a new directory, or add it with `cscript library add NAME %s`: %w", dir, dir, fs.ErrExist)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	// Build in a temp dir beside the target and rename: no half-made library on failure.
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".init-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if withExamples {
		err = fs.WalkDir(examples.FS, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			target := filepath.Join(tmp, path)
			if d.IsDir() {
				return os.MkdirAll(target, 0o755)
			}
			data, err := examples.FS.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, 0o644)
		})
	} else {
		err = os.MkdirAll(filepath.Join(tmp, "decks"), 0o755)
		if err == nil {
			err = os.WriteFile(filepath.Join(tmp, store.LibraryConfigFile), []byte("# Library configuration: presets map short names to images.\npresets: {}\n"), 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("writing the library: %w", err)
	}
	if err := store.InitLibraryRepo(tmp); err != nil {
		return err
	}
	_ = os.Remove(dir) // an empty directory may exist
	return os.Rename(tmp, dir)
}
