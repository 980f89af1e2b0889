package store

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// RemoteURL is the URL of the remote Sync uses in the library at dir, or ""
// when it has none; an error when dir is not a git repository.
func RemoteURL(dir string) (string, error) {
	r, err := openGitRepo(dir)
	if err != nil {
		return "", err
	}
	rem, err := r.Remote(gitRemoteName)
	if errors.Is(err, git.ErrRemoteNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("library %s: %w", dir, err)
	}
	if urls := rem.Config().URLs; len(urls) > 0 {
		return urls[0], nil
	}
	return "", nil
}

// SetRemote makes url the remote Sync uses in the library at dir (a git
// repository, as `cscript init` makes), replacing another one, and makes
// the checked-out branch track it. It returns that branch. What was known
// of a replaced remote's branches is forgotten, so that the first sync
// with the new one compares with it alone.
func SetRemote(dir, url string) (string, error) {
	if _, err := transport.NewEndpoint(url); err != nil {
		return "", fmt.Errorf("git url %q: %w", url, err)
	}
	r, err := openGitRepo(dir)
	if err != nil {
		return "", err
	}
	head, err := r.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return "", fmt.Errorf("library %s: %w", dir, err)
	}
	if head.Type() != plumbing.SymbolicReference {
		return "", fmt.Errorf("library %s: HEAD is detached; check out a branch first (git -C %s switch %s)", dir, gitShellQuote(dir), DefaultBranch)
	}
	branch := head.Target().Short()
	if old, err := r.Remote(gitRemoteName); err == nil {
		if urls := old.Config().URLs; len(urls) == 1 && urls[0] == url {
			return branch, nil
		}
		if err := r.DeleteRemote(gitRemoteName); err != nil {
			return "", fmt.Errorf("library %s: %w", dir, err)
		}
		refs, err := r.References()
		if err != nil {
			return "", fmt.Errorf("library %s: %w", dir, err)
		}
		var stale []plumbing.ReferenceName
		_ = refs.ForEach(func(ref *plumbing.Reference) error {
			if strings.HasPrefix(ref.Name().String(), "refs/remotes/"+gitRemoteName+"/") {
				stale = append(stale, ref.Name())
			}
			return nil
		})
		for _, n := range stale {
			if err := r.Storer.RemoveReference(n); err != nil {
				return "", fmt.Errorf("library %s: %w", dir, err)
			}
		}
	} else if !errors.Is(err, git.ErrRemoteNotFound) {
		return "", fmt.Errorf("library %s: %w", dir, err)
	}
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: gitRemoteName, URLs: []string{url}}); err != nil {
		return "", fmt.Errorf("library %s: %w", dir, err)
	}
	cfg, err := r.Config()
	if err != nil {
		return "", fmt.Errorf("library %s: %w", dir, err)
	}
	cfg.Branches[branch] = &config.Branch{Name: branch, Remote: gitRemoteName, Merge: plumbing.NewBranchReferenceName(branch)}
	if err := r.SetConfig(cfg); err != nil {
		return "", fmt.Errorf("library %s: %w", dir, err)
	}
	return branch, nil
}

// SavedBranches lists the branches Sync kept local commits on
// (SavedBranchPrefix…) in the library at dir, sorted; none when dir is not
// a git repository.
func SavedBranches(dir string) []string {
	r, err := git.PlainOpen(dir)
	if err != nil {
		return nil
	}
	iter, err := r.Branches()
	if err != nil {
		return nil
	}
	var out []string
	_ = iter.ForEach(func(ref *plumbing.Reference) error {
		if n := ref.Name().Short(); strings.HasPrefix(n, SavedBranchPrefix) {
			out = append(out, n)
		}
		return nil
	})
	sort.Strings(out)
	return out
}
