package commands

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
	"github.com/cscript-dev/cscript/trust"
)

var (
	flagTrustDryRun = &cli.BoolFlag{Name: "dry-run", Usage: "list what the library asks to do on this machine, trust nothing"}
	flagRevoke      = &cli.BoolFlag{Name: "revoke", Usage: "forget the trust given to the library"}
)

// trustStore is the user's consent to libraries' local-side features.
func (a *app) trustStore() *trust.Store {
	return trust.Open(filepath.Join(a.paths().StateDir, "trust.json"))
}

// shared says whether a library comes from elsewhere (a git remote): then
// its local-side features need the user's consent. A plain local directory
// without a remote is the user's own.
func shared(cfg *store.Config, lib *store.Index) bool {
	if ref, ok := cfg.Library(lib.Library.Name); ok && ref.URL != "" {
		return true
	}
	repo, err := git.PlainOpen(lib.Library.Root)
	if err != nil {
		return false
	}
	remotes, err := repo.Remotes()
	return err == nil && len(remotes) > 0
}

// checkTrust refuses a run whose script or deck comes from a shared library
// and asks for local-side features the user has not trusted, and a local
// path from a shared library that is absolute or climbs out of the working
// directory (unless the user gave that very path on the command line).
func (a *app) checkTrust(r *resolved, out *templates.Rendered) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	ts := a.trustStore()
	check := func(libName string, features []trust.Feature) error {
		lib, err := r.cat.Library(libName)
		if err != nil || !shared(cfg, lib) {
			return nil
		}
		bad, err := ts.Untrusted(libName, features)
		if err != nil {
			return err
		}
		if len(bad) > 0 {
			return &trust.RefusedError{Library: libName, Features: bad}
		}
		return nil
	}
	if err := check(r.script.Source.Library, trust.OfScript(r.script)); err != nil {
		return err
	}
	if r.deck != nil {
		if err := check(r.deck.Source.Library, trust.OfDeck(r.deck)); err != nil {
			return err
		}
	}
	lib, err := r.cat.Library(r.script.Source.Library)
	if err != nil || !shared(cfg, lib) {
		return nil
	}
	fromUser := map[string]bool{}
	for _, v := range r.userValues {
		fromUser[filepath.Clean(v)] = true
	}
	for _, f := range out.Script.Files.Upload {
		if !fromUser[filepath.Clean(f.From)] {
			if err := trust.LocalPath("files.upload.from of script "+r.script.Name, f.From); err != nil {
				return err
			}
		}
	}
	for _, f := range out.Script.Files.Download {
		if !fromUser[filepath.Clean(f.To)] {
			if err := trust.LocalPath("files.download.to of script "+r.script.Name, f.To); err != nil {
				return err
			}
		}
	}
	return nil
}

// libraryTrust lists a library's local-side features and trusts them.
func (a *app) libraryTrust(c *cli.Context) error {
	name := c.Args().First()
	if name == "" || c.NArg() > 1 {
		return usageErrorf("library trust takes one library name")
	}
	ts := a.trustStore()
	if c.Bool(flagRevoke.Name) {
		if err := ts.Revoke(name); err != nil {
			return err
		}
		fmt.Fprintf(a.io.Out, "library %s is no longer trusted on this machine\n", name)
		return nil
	}
	cat, _, err := a.catalog()
	if err != nil {
		return err
	}
	lib, err := cat.Library(name)
	if err != nil {
		return err
	}
	features := trust.OfLibrary(lib)
	if len(features) == 0 {
		fmt.Fprintf(a.io.Out, "library %s asks for nothing on this machine\n", name)
	} else {
		fmt.Fprintf(a.io.Out, "library %s asks to act on this machine:\n", name)
		for _, f := range features {
			fmt.Fprintf(a.io.Out, "  %s\n", f)
		}
	}
	if c.Bool(flagTrustDryRun.Name) {
		return nil
	}
	if err := ts.Trust(name, features); err != nil {
		return err
	}
	fmt.Fprintf(a.io.Out, "trusted: %d request(s) of library %s; a change after a sync is asked about again\n", len(features), name)
	return nil
}

// insecureRemote warns about a remote that anyone on the network path can
// change: what it serves is what this machine runs.
func (a *app) insecureRemote(url string) {
	for _, scheme := range []string{"git://", "http://"} {
		if strings.HasPrefix(strings.ToLower(url), scheme) {
			fmt.Fprintf(a.io.Err, "warning: %s is not authenticated: anyone on the network path can change the scripts you run; use https:// or ssh\n", url)
			return
		}
	}
}
