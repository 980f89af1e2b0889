package commands

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/store"
)

func (a *app) libraryRemoteCommand() *cli.Command {
	return &cli.Command{
		Name:      "remote",
		Usage:     "give a library (one made with `cscript init`) a git remote, so that `cscript sync` shares it",
		ArgsUsage: "NAME URL",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageErrorf("library remote needs the library's NAME and the git URL, got %d arguments", c.NArg())
			}
			name, url := c.Args().Get(0), c.Args().Get(1)
			cfg, err := a.config()
			if err != nil {
				return err
			}
			ref, ok := cfg.Library(name)
			if !ok {
				return &store.NotFoundError{What: "library", Name: name, Hint: "see `cscript library list`"}
			}
			a.insecureRemote(url)
			if _, err := os.Stat(ref.Path + "/.git"); err != nil {
				return usageErrorf("library %q at %s is not a git repository, so it cannot be synced: make it one first (git -C %s init && git -C %s add -A && git -C %s commit -m 'cscript library'), or create a library with `cscript init`",
					name, ref.Path, ref.Path, ref.Path, ref.Path)
			}
			branch, err := store.SetRemote(ref.Path, url)
			if errors.Is(err, store.ErrNotGitRepo) {
				return usageErrorf("library %q at %s is not a git repository: %v", name, ref.Path, err)
			}
			if err != nil {
				return err
			}
			ref.URL = url
			if err := cfg.Save(a.paths().ConfigFile); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "Library %q now syncs branch %s with %s: run `cscript sync %s` to publish it.\n", name, branch, url, name)
			fmt.Fprintf(a.io.Out, "With a remote it is a shared library: its scripts' local credential sources and file paths need `cscript library trust %s`.\n", name)
			return nil
		},
	}
}

// reuseOrMoveAside prepares dir for a clone of url by `library add`: a
// clone of url that an earlier `library rm` left there is reused (true);
// anything else there is moved aside, and where it went is said.
func (a *app) reuseOrMoveAside(dir, url string, verify bool) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		return false, nil
	}
	if have, err := store.RemoteURL(dir); err == nil && have == url && !verify {
		fmt.Fprintf(a.io.Err, "Using the clone of %s at %s (kept by an earlier `cscript library rm`); `cscript sync` updates it\n", url, dir)
		return true, nil
	}
	aside := dir + ".old-" + a.now().UTC().Format("20060102-150405")
	if err := os.Rename(dir, aside); err != nil {
		return false, fmt.Errorf("move the old directory %s aside: %w", dir, err)
	}
	fmt.Fprintf(a.io.Err, "Moved what was at %s (not a clone of %s) to %s\n", dir, url, aside)
	return false, nil
}
