package action

import (
	"path/filepath"

	"github.com/go-git/go-git/v5"

	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
	"github.com/cscript-dev/cscript/trust"
)

// TrustStore is the user's consent to libraries' local-side features.
func (c *Configuration) TrustStore() *trust.Store {
	return trust.Open(filepath.Join(c.paths().StateDir, "trust.json"))
}

// Shared says whether a library comes from elsewhere (a git remote): then
// its local-side features need the user's consent. A plain local directory
// without a remote is the user's own.
func Shared(cfg *store.Config, lib *store.Index) bool {
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
// directory (unless the user gave that very path as a value).
func (c *Configuration) checkTrust(r *Resolved, out *templates.Rendered) error {
	cfg, err := c.Config()
	if err != nil {
		return err
	}
	ts := c.TrustStore()
	check := func(libName string, features []trust.Feature) error {
		lib, err := r.Catalog.Library(libName)
		if err != nil || !Shared(cfg, lib) {
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
	if err := check(r.Script.Source.Library, trust.OfScript(r.Script)); err != nil {
		return err
	}
	if r.Deck != nil {
		if err := check(r.Deck.Source.Library, trust.OfDeck(r.Deck)); err != nil {
			return err
		}
	}
	lib, err := r.Catalog.Library(r.Script.Source.Library)
	if err != nil || !Shared(cfg, lib) {
		return nil
	}
	fromUser := map[string]bool{}
	for _, v := range r.userValues {
		fromUser[filepath.Clean(v)] = true
	}
	for _, f := range out.Script.Files.Upload {
		if !fromUser[filepath.Clean(f.From)] {
			if err := trust.LocalPath("files.upload.from of script "+r.Script.Name, f.From); err != nil {
				return err
			}
		}
	}
	for _, f := range out.Script.Files.Download {
		if !fromUser[filepath.Clean(f.To)] {
			if err := trust.LocalPath("files.download.to of script "+r.Script.Name, f.To); err != nil {
				return err
			}
		}
	}
	return nil
}
