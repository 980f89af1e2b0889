package store

// Git operations on a library: clone, commit, and a sync that never loses local
// work. Everything here goes through go-git; nothing shells out to a git binary.
//
// A library is a git library when its directory itself holds .git: a library
// inside some larger repository (a dotfiles home, say) is treated as a plain
// directory, so cscript never commits to or pushes a repository it did not
// create or clone.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/cscript-dev/cscript/internal/fail"
)

// Defaults for AuthOptions.
const (
	DefaultTokenEnv  = "CSCRIPT_GIT_TOKEN"
	DefaultTokenUser = "x-access-token"
	// DefaultBranch is the branch InitLibraryRepo creates.
	DefaultBranch = "main"
	// SavedBranchPrefix starts the name of the branch Sync keeps local commits on
	// when the remote diverged.
	SavedBranchPrefix = "cscript/local-"
)

const gitRemoteName = "origin"

// Errors callers branch on.
var (
	// ErrNotGitRepo: the library directory is not a git repository.
	ErrNotGitRepo = errors.New("not a git repository")
	// ErrAlreadyGitRepo: InitLibraryRepo found an existing repository.
	ErrAlreadyGitRepo = errors.New("already a git repository")
	// ErrNothingToCommit: CommitAll or CommitPaths found no change.
	ErrNothingToCommit = errors.New("nothing to commit")
	// ErrNoRemote: the library has no remote to sync with.
	ErrNoRemote = errors.New("no git remote")
)

// Signature is a git identity.
type Signature struct {
	Name  string
	Email string
}

// AuthOptions say how to authenticate to a remote. Which method applies follows
// from the URL's scheme: ssh URLs (ssh:// and user@host:path) use SSHKeyFile if
// set, else the SSH agent, and always check the host key against known_hosts;
// https URLs send the token from the TokenEnv environment variable when it is
// set; git://, file:// and local paths use none.
type AuthOptions struct {
	// SSHUser overrides the user in the URL (default "git").
	SSHUser string
	// SSHKeyFile is a private key file; empty means use the SSH agent.
	SSHKeyFile string
	// SSHKeyPassphrase decrypts SSHKeyFile.
	SSHKeyPassphrase string
	// KnownHostsFiles replace SSH_KNOWN_HOSTS or ~/.ssh/known_hosts and
	// /etc/ssh/ssh_known_hosts.
	KnownHostsFiles []string
	// TokenEnv names the environment variable holding an HTTPS token
	// (default DefaultTokenEnv).
	TokenEnv string
	// TokenUser is the HTTP basic-auth user sent with the token
	// (default DefaultTokenUser).
	TokenUser string
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
}

// GitOptions configure CloneLibrary and Sync.
type GitOptions struct {
	// Branch to clone and sync; empty means the remote's default branch on
	// clone and the checked-out branch on sync.
	Branch string
	// VerifySignatures makes clone refuse a head commit, and sync any new
	// commit, not signed by a key in Keyring; sync then also refuses a remote
	// branch that was rewound (*RewoundError).
	VerifySignatures bool
	// Keyring is a file of armored OpenPGP public keys.
	Keyring string
	Auth    AuthOptions
	// Now is the clock for saved-branch names (default time.Now).
	Now func() time.Time
}

// RemoteError is a failure to talk to the remote. The local clone is intact.
type RemoteError struct {
	Op  string // "clone", "fetch" or "push"
	URL string
	Err error
}

func (e *RemoteError) Error() string {
	switch e.Op {
	case "fetch":
		return fmt.Sprintf("fetch from %s: %v (the library still works offline from its local clone; sync again when the remote is reachable)", e.URL, e.Err)
	case "push":
		return fmt.Sprintf("push to %s: %v (your commits are safe in the local clone; sync again to push them)", e.URL, e.Err)
	default:
		return fmt.Sprintf("%s %s: %v", e.Op, e.URL, e.Err)
	}
}

func (e *RemoteError) Unwrap() error { return e.Err }

// Kind is fail.Unavailable.
func (e *RemoteError) Kind() fail.Kind { return fail.Unavailable }

// DirtyTreeError refuses a sync because the work tree has changes that are not
// committed, or (Untracked) files the remote's commits would overwrite.
type DirtyTreeError struct {
	Dir   string
	Files []string
	// Overwrite says the files are untracked or ignored and the remote's head
	// would replace them.
	Overwrite bool
}

func (e *DirtyTreeError) Error() string {
	if e.Overwrite {
		return fmt.Sprintf("sync of %s would overwrite local files that git does not track: %s; move them away, or commit them, and sync again",
			e.Dir, strings.Join(e.Files, ", "))
	}
	dir := gitShellQuote(e.Dir)
	return fmt.Sprintf("library %s has uncommitted changes: %s; commit them (cscript new, edit and rm commit for you; by hand: git -C %s add -A && git -C %s commit) or discard them (git -C %s restore --staged --worktree FILE, or delete an untracked FILE), then sync again",
		e.Dir, strings.Join(e.Files, ", "), dir, dir, dir)
}

// Kind is fail.Conflict.
func (e *DirtyTreeError) Kind() fail.Kind { return fail.Conflict }

// SignatureError refuses a head commit whose OpenPGP signature does not verify.
type SignatureError struct {
	Commit string // full hash
	Ref    string // e.g. "origin/main"
	// Head is the head that brings the commit in, when that is another commit.
	Head    string
	Keyring string
	Reason  string
	Err     error // the verification error, if any
}

func (e *SignatureError) Error() string {
	if e.Head != "" && e.Head != e.Commit {
		return fmt.Sprintf("refusing commit %s under %s at %s: %s (every new commit must verify against %s, not only the head); the local library is unchanged",
			gitShortHash(e.Commit), gitShortHash(e.Head), e.Ref, e.Reason, e.Keyring)
	}
	return fmt.Sprintf("refusing commit %s at %s: %s (signatures are verified against %s); the local library is unchanged",
		gitShortHash(e.Commit), e.Ref, e.Reason, e.Keyring)
}

func (e *SignatureError) Unwrap() error { return e.Err }

// Kind is fail.Conflict.
func (e *SignatureError) Kind() fail.Kind { return fail.Conflict }

// RewoundError refuses a sync whose remote branch no longer contains the head
// of the last sync: the branch was deleted (New is ""), or it was rewound and
// Verified says signatures are verified, where only fast-forwards are taken.
// The local library is unchanged and nothing was pushed.
type RewoundError struct {
	Dir, URL, Branch string
	Old, New         string // full hashes
	Verified         bool
}

func (e *RewoundError) Error() string {
	dir := gitShellQuote(e.Dir)
	if e.New == "" {
		return fmt.Sprintf("branch %s is gone from %s (it was at %s at the last sync); not pushing it back: the library is unchanged; to publish it deliberately: git -C %s push %s %s",
			e.Branch, e.URL, gitShortHash(e.Old), dir, gitRemoteName, e.Branch)
	}
	return fmt.Sprintf("refusing the remote's branch %s: %s rewound it (a force-push) from %s to %s, which does not contain it; a branch whose signatures are verified only moves forward; the local library is unchanged; to accept the rewind after checking it, keeping your branch's commits: git -C %s branch %srewound && git -C %s reset --keep %s, then sync again",
		e.Branch, e.URL, gitShortHash(e.Old), gitShortHash(e.New), dir, SavedBranchPrefix, dir, e.New)
}

// Kind is fail.Conflict.
func (e *RewoundError) Kind() fail.Kind { return fail.Conflict }

// SyncResult says what Sync did.
type SyncResult struct {
	Dir    string
	URL    string
	Branch string
	// Before and After are the local branch's head before and after (full hashes;
	// Before is "" for a branch with no commits yet).
	Before, After string

	UpToDate      bool
	FastForwarded bool
	Pushed        bool
	Diverged      bool
	// Rewound says the remote's head no longer contains RewoundFrom, the head
	// of the last sync (a force-push): the local commits it lacks were kept on
	// SavedBranch and not pushed back.
	Rewound     bool
	RewoundFrom string
	// SavedBranch holds the local commits when Diverged or Rewound.
	SavedBranch string
	// Rebased says the local commits (LocalCommits, as they were) were put
	// on top of the remote's new commits, up to RebasedOnto, and pushed.
	Rebased     bool
	RebasedOnto string
	// ConflictFiles are the files both sides changed in the same lines, the
	// reason a Diverged sync kept the local commits on a branch.
	ConflictFiles  []string
	conflictCommit string
	// LocalCommits are the commits only on SavedBranch, oldest first (full
	// hashes); after a rebase, the local commits before it.
	LocalCommits []string
	// subjects parallels LocalCommits.
	subjects []string
}

// Message tells the user what Sync did and, after a divergence, how to get
// the local work back.
func (r *SyncResult) Message() string {
	var b strings.Builder
	switch {
	case r.Diverged || r.Rewound:
		dir := gitShellQuote(r.Dir)
		if r.Rewound {
			fmt.Fprintf(&b, "the remote %s rewound branch %s (a force-push): its head %s no longer contains %s, the head of the last sync.\n",
				r.URL, r.Branch, gitShortHash(r.After), gitShortHash(r.RewoundFrom))
			fmt.Fprintf(&b, "nothing was pushed: the %d local commit(s) the remote no longer has, which may have been removed on purpose, are kept on branch %s:\n",
				len(r.LocalCommits), r.SavedBranch)
		} else if len(r.ConflictFiles) > 0 {
			fmt.Fprintf(&b, "the library %s and its remote %s both changed the same lines of %s since the last sync (local commit %q).\n",
				r.Dir, r.URL, strings.Join(r.ConflictFiles, ", "), r.conflictCommit)
			fmt.Fprintf(&b, "your %d local commit(s) are kept on branch %s:\n", len(r.LocalCommits), r.SavedBranch)
		} else {
			fmt.Fprintf(&b, "the library %s and its remote %s both changed since the last sync.\n", r.Dir, r.URL)
			fmt.Fprintf(&b, "your %d local commit(s) are kept on branch %s:\n", len(r.LocalCommits), r.SavedBranch)
		}
		const maxListed = 20
		for i, h := range r.LocalCommits {
			if i == maxListed {
				fmt.Fprintf(&b, "  … and %d more\n", len(r.LocalCommits)-maxListed)
				break
			}
			subject := ""
			if i < len(r.subjects) {
				subject = " " + r.subjects[i]
			}
			fmt.Fprintf(&b, "  %s%s\n", gitShortHash(h), subject)
		}
		fmt.Fprintf(&b, "branch %s now matches the remote (%s).\n", r.Branch, gitShortHash(r.After))
		fmt.Fprintf(&b, "to see your work:    git -C %s log --stat %s..%s\n", dir, r.Branch, r.SavedBranch)
		fmt.Fprintf(&b, "to re-apply it:      git -C %s cherry-pick %s..%s\n", dir, r.Branch, r.SavedBranch)
		fmt.Fprintf(&b, "or merge it:         git -C %s merge %s\n", dir, r.SavedBranch)
		if r.Rewound {
			fmt.Fprintf(&b, "to publish them deliberately, re-apply them and run cscript sync; check first that they were not removed for a reason; delete the branch when done: git -C %s branch -D %s", dir, r.SavedBranch)
		} else {
			fmt.Fprintf(&b, "then run cscript sync to push it; delete the branch when done: git -C %s branch -D %s", dir, r.SavedBranch)
		}
	case r.Rebased:
		fmt.Fprintf(&b, "put your %d local commit(s) on top of the remote's new commits (%s) and pushed %s to %s (%s):",
			len(r.LocalCommits), gitShortHash(r.RebasedOnto), r.Branch, r.URL, gitShortHash(r.After))
		for _, s := range r.subjects {
			fmt.Fprintf(&b, "\n  %s", s)
		}
	case r.Pushed && r.Before == "":
		fmt.Fprintf(&b, "pushed branch %s (%s) to %s", r.Branch, gitShortHash(r.After), r.URL)
	case r.Pushed:
		fmt.Fprintf(&b, "pushed %s to %s (%s)", r.Branch, r.URL, gitShortHash(r.After))
	case r.FastForwarded:
		fmt.Fprintf(&b, "updated %s from %s: %s..%s", r.Branch, r.URL, gitShortHash(r.Before), gitShortHash(r.After))
	default:
		fmt.Fprintf(&b, "%s is up to date with %s (%s)", r.Branch, r.URL, gitShortHash(r.After))
	}
	return b.String()
}

// CloneLibrary clones url into dir. It clones into a temporary directory beside
// dir and renames it into place, so a failed clone leaves nothing behind. dir
// must not exist or be empty.
func CloneLibrary(ctx context.Context, url, dir string, opts GitOptions) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("clone into %s: %w", dir, fs.ErrExist)
	}
	auth, err := gitAuthFor(url, opts.Auth)
	if err != nil {
		return err
	}
	var keyring string
	if opts.VerifySignatures {
		if keyring, err = readGitKeyring(opts.Keyring); err != nil {
			return err
		}
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("clone into %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".clone-")
	if err != nil {
		return fmt.Errorf("clone into %s: %w", dir, err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()

	co := &git.CloneOptions{URL: url, Auth: auth, RemoteName: gitRemoteName}
	if opts.Branch != "" {
		co.ReferenceName = plumbing.NewBranchReferenceName(opts.Branch)
	}
	r, err := git.PlainCloneContext(ctx, tmp, false, co)
	switch {
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		// An empty remote is a valid new library: set it up so the first sync pushes.
		if err := initEmptyClone(tmp, url, opts.Branch); err != nil {
			return fmt.Errorf("clone %s: %w", url, err)
		}
	case err != nil:
		return &RemoteError{Op: "clone", URL: url, Err: err}
	default:
		if opts.VerifySignatures {
			head, err := r.Head()
			if err != nil {
				return fmt.Errorf("clone %s: %w", url, err)
			}
			if err := verifyGitCommit(r, head.Hash(), gitRemoteName+"/"+head.Name().Short(), keyring, opts.Keyring); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clone into %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("clone into %s: %w", dir, err)
	}
	done = true
	return nil
}

// initEmptyClone sets dir up as the clone of an empty remote: a new
// repository on branch (DefaultBranch when empty) that tracks url, so the
// first sync pushes.
func initEmptyClone(dir, url, branch string) error {
	if branch == "" {
		branch = DefaultBranch
	}
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(branch)},
	})
	if err != nil {
		return err
	}
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: gitRemoteName, URLs: []string{url}}); err != nil {
		return err
	}
	return r.CreateBranch(&config.Branch{Name: branch, Remote: gitRemoteName, Merge: plumbing.NewBranchReferenceName(branch)})
}

// InitLibraryRepo makes dir a git repository on branch DefaultBranch and
// commits everything in it, as GitIdentity(dir).
func InitLibraryRepo(dir string) error {
	if _, err := git.PlainOpen(dir); err == nil {
		return fmt.Errorf("git init %s: %w", dir, ErrAlreadyGitRepo)
	}
	_, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(DefaultBranch)},
	})
	if err != nil {
		return fmt.Errorf("git init %s: %w", dir, err)
	}
	_, err = commitAll(dir, "Create cscript library", GitIdentity(dir), true)
	return err
}

// CommitAll stages every change under dir (new, modified and deleted files,
// honouring .gitignore) and commits it. It returns the new commit's full hash,
// or ErrNothingToCommit. An empty author name means GitIdentity(dir).
func CommitAll(dir, message string, author Signature) (string, error) {
	return commitAll(dir, message, author, false)
}

// CommitPaths commits only the given paths (absolute, or relative to dir): a
// path that exists is staged as it is in the work tree, a path that is gone is
// staged as a removal. Nothing else in the library is committed, neither
// untracked files beside them nor changes the user staged by hand; those stay
// as they were. It returns the new commit's full hash, or ErrNothingToCommit.
// An empty author name means GitIdentity(dir).
func CommitPaths(dir, message string, author Signature, paths ...string) (string, error) {
	r, err := openGitRepo(dir)
	if err != nil {
		return "", err
	}
	w, err := r.Worktree()
	if err != nil {
		return "", fmt.Errorf("commit in %s: %w", dir, err)
	}
	rels := make([]string, 0, len(paths))
	for _, p := range paths {
		rel, err := gitRelPath(dir, p)
		if err != nil {
			return "", fmt.Errorf("commit in %s: %w", dir, err)
		}
		rels = append(rels, rel)
	}
	// Commit from an index that is HEAD plus these paths, so that whatever
	// else is staged is not swept in; the user's index comes back afterwards.
	saved, err := r.Storer.Index()
	if err != nil {
		return "", fmt.Errorf("commit in %s: read index: %w", dir, err)
	}
	var head *object.Commit
	if ref, err := r.Head(); err == nil {
		if head, err = r.CommitObject(ref.Hash()); err != nil {
			return "", fmt.Errorf("commit in %s: %w", dir, err)
		}
		if err := w.Reset(&git.ResetOptions{Commit: ref.Hash(), Mode: git.MixedReset}); err != nil {
			return "", fmt.Errorf("commit in %s: %w", dir, err)
		}
	} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", fmt.Errorf("commit in %s: %w", dir, err)
	} else if err := r.Storer.SetIndex(&index.Index{Version: 2}); err != nil {
		return "", fmt.Errorf("commit in %s: %w", dir, err)
	}
	restore := func() error {
		if err := r.Storer.SetIndex(saved); err != nil {
			return err
		}
		return stageGitPaths(w, rels)
	}
	if err := stageGitPaths(w, rels); err != nil {
		_ = r.Storer.SetIndex(saved)
		return "", fmt.Errorf("commit in %s: %w", dir, err)
	}
	changed, err := gitIndexDiffers(r, head)
	if err != nil {
		_ = r.Storer.SetIndex(saved)
		return "", fmt.Errorf("commit in %s: %w", dir, err)
	}
	if !changed {
		_ = r.Storer.SetIndex(saved)
		return "", fmt.Errorf("commit in %s: %w", dir, ErrNothingToCommit)
	}
	if author.Name == "" {
		author = GitIdentity(dir)
	}
	sig := &object.Signature{Name: author.Name, Email: author.Email, When: time.Now()}
	h, err := w.Commit(message, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		_ = r.Storer.SetIndex(saved)
		return "", fmt.Errorf("commit in %s: %w", dir, err)
	}
	if err := restore(); err != nil {
		return "", fmt.Errorf("commit in %s: committed %s but could not restore the index: %w", dir, gitShortHash(h.String()), err)
	}
	return h.String(), nil
}

// gitRelPath is p relative to dir, slash-separated; it refuses a path outside dir.
func gitRelPath(dir, p string) (string, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	rel, err := filepath.Rel(dir, p)
	if err == nil && (rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator))) {
		// dir or p may go through a symlink: compare the real paths.
		if rd, err1 := filepath.EvalSymlinks(dir); err1 == nil {
			if rp, err2 := filepath.EvalSymlinks(filepath.Dir(p)); err2 == nil {
				rel, err = filepath.Rel(rd, filepath.Join(rp, filepath.Base(p)))
			}
		}
	}
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("path %s is not inside the library", p)
	}
	return filepath.ToSlash(rel), nil
}

// stageGitPaths stages each path as it is in the work tree; a path that is gone
// is staged as a removal (when the index has it).
func stageGitPaths(w *git.Worktree, rels []string) error {
	for _, rel := range rels {
		if _, err := w.Filesystem.Lstat(rel); err == nil {
			if _, err := w.Add(rel); err != nil {
				return fmt.Errorf("stage %s: %w", rel, err)
			}
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("stage %s: %w", rel, err)
		}
		if _, err := w.Remove(rel); err != nil && !errors.Is(err, index.ErrEntryNotFound) {
			return fmt.Errorf("stage removal of %s: %w", rel, err)
		}
	}
	return nil
}

// gitIndexDiffers says whether the index differs from head's tree (or, with no
// head, holds anything).
func gitIndexDiffers(r *git.Repository, head *object.Commit) (bool, error) {
	idx, err := r.Storer.Index()
	if err != nil {
		return false, err
	}
	if head == nil {
		return len(idx.Entries) > 0, nil
	}
	tree, err := head.Tree()
	if err != nil {
		return false, err
	}
	inTree := 0
	err = tree.Files().ForEach(func(f *object.File) error {
		inTree++
		e, err := idx.Entry(f.Name)
		if err != nil {
			return errGitDiffers
		}
		if e.Hash != f.Hash || e.Mode != f.Mode {
			return errGitDiffers
		}
		return nil
	})
	if errors.Is(err, errGitDiffers) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return inTree != len(idx.Entries), nil
}

var errGitDiffers = errors.New("differs")

func commitAll(dir, message string, author Signature, allowEmpty bool) (string, error) {
	r, err := openGitRepo(dir)
	if err != nil {
		return "", err
	}
	w, err := r.Worktree()
	if err != nil {
		return "", fmt.Errorf("commit in %s: %w", dir, err)
	}
	st, err := w.Status()
	if err != nil {
		return "", fmt.Errorf("commit in %s: status: %w", dir, err)
	}
	paths := make([]string, 0, len(st))
	for p := range st {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		s := st[p]
		if s.Worktree == git.Unmodified {
			continue
		}
		if s.Worktree == git.Deleted {
			_, err = w.Remove(p)
		} else {
			_, err = w.Add(p)
		}
		if err != nil {
			return "", fmt.Errorf("commit in %s: stage %s: %w", dir, p, err)
		}
	}
	if !allowEmpty {
		st, err = w.Status()
		if err != nil {
			return "", fmt.Errorf("commit in %s: status: %w", dir, err)
		}
		staged := false
		for _, s := range st {
			if s.Staging != git.Unmodified && s.Staging != git.Untracked {
				staged = true
				break
			}
		}
		if !staged {
			return "", fmt.Errorf("commit in %s: %w", dir, ErrNothingToCommit)
		}
	}
	if author.Name == "" {
		author = GitIdentity(dir)
	}
	sig := &object.Signature{Name: author.Name, Email: author.Email, When: time.Now()}
	h, err := w.Commit(message, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: allowEmpty})
	if err != nil {
		return "", fmt.Errorf("commit in %s: %w", dir, err)
	}
	return h.String(), nil
}

// GitIdentity is the user.name and user.email git would use in dir: the
// repository's config over the global (~/.gitconfig, $XDG_CONFIG_HOME/git/config)
// and system config. A missing name falls back to $USER, a missing email to
// USER@HOST, as git guesses them.
func GitIdentity(dir string) Signature {
	var cfg *config.Config
	if r, err := git.PlainOpen(dir); err == nil {
		cfg, _ = r.ConfigScoped(config.SystemScope)
	}
	if cfg == nil {
		cfg, _ = config.LoadConfig(config.GlobalScope)
		if sys, err := config.LoadConfig(config.SystemScope); err == nil && cfg != nil {
			if cfg.User.Name == "" {
				cfg.User.Name = sys.User.Name
			}
			if cfg.User.Email == "" {
				cfg.User.Email = sys.User.Email
			}
		}
	}
	var s Signature
	if cfg != nil {
		s = Signature{Name: cfg.User.Name, Email: cfg.User.Email}
	}
	login := os.Getenv("USER")
	if login == "" {
		if u, err := user.Current(); err == nil {
			login = u.Username
		}
	}
	if s.Name == "" {
		s.Name = login
	}
	if s.Email == "" && login != "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "localhost"
		}
		s.Email = login + "@" + host
	}
	return s
}

// HeadCommit is the full hash of dir's checked-out commit, or "" when dir is
// not a git repository or has no commit yet.
func HeadCommit(dir string) (string, error) {
	r, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("open git repository %s: %w", dir, err)
	}
	head, err := r.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("head of %s: %w", dir, err)
	}
	return head.Hash().String(), nil
}

// Sync brings the library in dir and its remote together on one branch:
// fast-forward when only the remote moved, push when only the local branch
// moved. When both moved, it keeps the local commits on a new branch
// SavedBranchPrefix+<UTC time>, moves the local branch to the remote head and
// reports Diverged; nothing local is lost. When the remote was rewound (its
// head no longer contains the head of the last sync, kept as the
// remote-tracking branch), the local commits it lacks are kept the same way
// and reported as Rewound, never pushed back; a deleted remote branch is a
// *RewoundError. It refuses a dirty work tree
// (*DirtyTreeError) and, with VerifySignatures, a remote head not signed by a
// key in the keyring (*SignatureError). A remote it cannot reach is a
// *RemoteError and leaves the library as it was.
func Sync(ctx context.Context, dir string, opts GitOptions) (_ *SyncResult, retErr error) {
	r, err := openGitRepo(dir)
	if err != nil {
		return nil, err
	}
	headRef, err := r.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return nil, fmt.Errorf("sync %s: %w", dir, err)
	}
	if headRef.Type() != plumbing.SymbolicReference {
		return nil, fmt.Errorf("sync %s: HEAD is detached at %s; check out a branch first (git -C %s switch %s)",
			dir, gitShortHash(headRef.Hash().String()), gitShellQuote(dir), gitOrDefault(opts.Branch, DefaultBranch))
	}
	branchRef := headRef.Target()
	branch := branchRef.Short()
	if opts.Branch != "" && opts.Branch != branch {
		return nil, fmt.Errorf("sync %s: the library is on branch %s, not %s; switch back first (git -C %s switch %s)",
			dir, branch, opts.Branch, gitShellQuote(dir), opts.Branch)
	}

	remote, err := r.Remote(gitRemoteName)
	if errors.Is(err, git.ErrRemoteNotFound) {
		return nil, fmt.Errorf("sync %s: %w named %s", dir, ErrNoRemote, gitRemoteName)
	}
	if err != nil {
		return nil, fmt.Errorf("sync %s: %w", dir, err)
	}
	url := remote.Config().URLs[0]

	w, err := r.Worktree()
	if err != nil {
		return nil, fmt.Errorf("sync %s: %w", dir, err)
	}
	if err := checkGitClean(dir, w); err != nil {
		return nil, err
	}

	var keyring string
	if opts.VerifySignatures {
		if keyring, err = readGitKeyring(opts.Keyring); err != nil {
			return nil, err
		}
	}
	auth, err := gitAuthFor(url, opts.Auth)
	if err != nil {
		return nil, err
	}

	res := &SyncResult{Dir: dir, URL: url, Branch: branch}
	var local plumbing.Hash
	if ref, err := r.Storer.Reference(branchRef); err == nil {
		local = ref.Hash()
		res.Before = local.String()
	} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, fmt.Errorf("sync %s: %w", dir, err)
	}

	remoteBranch := plumbing.NewRemoteReferenceName(gitRemoteName, branch)
	// The remote-tracking head is the commit the last sync agreed with the
	// remote on: a new remote head that does not contain it was rewound.
	var oldRemote plumbing.Hash
	if ref, err := r.Storer.Reference(remoteBranch); err == nil {
		oldRemote = ref.Hash()
	} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, fmt.Errorf("sync %s: %w", dir, err)
	}
	defer func() {
		// A refused or failed sync leaves the remote-tracking head where it
		// was, so that the next sync still sees what the remote did.
		if retErr != nil && !oldRemote.IsZero() {
			_ = r.Storer.SetReference(plumbing.NewHashReference(remoteBranch, oldRemote))
		}
	}()
	err = remote.FetchContext(ctx, &git.FetchOptions{
		RemoteName: gitRemoteName,
		RefSpecs:   []config.RefSpec{config.RefSpec(fmt.Sprintf("+refs/heads/*:refs/remotes/%s/*", gitRemoteName))},
		Auth:       auth,
	})
	remoteEmpty := errors.Is(err, transport.ErrEmptyRemoteRepository)
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) && !remoteEmpty {
		return nil, &RemoteError{Op: "fetch", URL: url, Err: err}
	}
	var theirs plumbing.Hash
	if !remoteEmpty {
		if ref, err := r.Storer.Reference(remoteBranch); err == nil {
			theirs = ref.Hash()
		} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
			return nil, fmt.Errorf("sync %s: %w", dir, err)
		}
	}

	push := func() (*SyncResult, error) {
		spec := config.RefSpec(fmt.Sprintf("%s:%s", branchRef, branchRef))
		err := remote.PushContext(ctx, &git.PushOptions{RemoteName: gitRemoteName, RefSpecs: []config.RefSpec{spec}, Auth: auth})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil, &RemoteError{Op: "push", URL: url, Err: err}
		}
		if err := r.Storer.SetReference(plumbing.NewHashReference(remoteBranch, local)); err != nil {
			return nil, fmt.Errorf("sync %s: %w", dir, err)
		}
		res.Pushed, res.After = true, local.String()
		return res, nil
	}

	if theirs.IsZero() && !oldRemote.IsZero() {
		return nil, &RewoundError{Dir: dir, URL: url, Branch: branch, Old: oldRemote.String()}
	}
	switch {
	case theirs.IsZero() && local.IsZero():
		res.UpToDate = true
		return res, nil
	case theirs.IsZero():
		return push()
	case theirs == local:
		res.UpToDate, res.After = true, local.String()
		return res, nil
	}

	theirCommit, err := r.CommitObject(theirs)
	if err != nil {
		return nil, fmt.Errorf("sync %s: %w", dir, err)
	}
	rewound := false
	if !oldRemote.IsZero() && oldRemote != theirs {
		oldCommit, err := r.CommitObject(oldRemote)
		if err != nil {
			return nil, fmt.Errorf("sync %s: %w", dir, err)
		}
		contained, err := oldCommit.IsAncestor(theirCommit)
		if err != nil {
			return nil, fmt.Errorf("sync %s: %w", dir, err)
		}
		rewound = !contained
	}
	if rewound && opts.VerifySignatures {
		return nil, &RewoundError{Dir: dir, URL: url, Branch: branch, Old: oldRemote.String(), New: theirs.String(), Verified: true}
	}
	var ourCommit *object.Commit
	if !local.IsZero() {
		if ourCommit, err = r.CommitObject(local); err != nil {
			return nil, fmt.Errorf("sync %s: %w", dir, err)
		}
		// After a rewind, local commits the remote no longer has are not
		// pushed back: the maintainer may have removed them on purpose.
		if ahead, err := theirCommit.IsAncestor(ourCommit); err != nil {
			return nil, fmt.Errorf("sync %s: %w", dir, err)
		} else if ahead && !rewound {
			return push()
		}
	}

	// From here on the local branch moves to the remote head.
	if opts.VerifySignatures {
		// Every commit the move brings in, not only the head: a signed head
		// must not carry unsigned commits under it.
		news, err := gitNewCommits(r, theirCommit, local, oldRemote)
		if err != nil {
			return nil, fmt.Errorf("sync %s: %w", dir, err)
		}
		for _, h := range news {
			if err := verifyGitCommit(r, h, gitRemoteName+"/"+branch, keyring, opts.Keyring); err != nil {
				if h != theirs {
					var se *SignatureError
					if errors.As(err, &se) {
						se.Head = theirs.String()
					}
				}
				return nil, err
			}
		}
	}
	behind := ourCommit == nil
	if !behind {
		if behind, err = ourCommit.IsAncestor(theirCommit); err != nil {
			return nil, fmt.Errorf("sync %s: %w", dir, err)
		}
	}
	if err := checkGitOverwrite(dir, w, ourCommit, theirCommit); err != nil {
		return nil, err
	}

	if !behind && !rewound {
		// Both moved: the local commits go on top of the remote's, unless
		// both changed the same lines of a file.
		mine, err := commitObjectsOnlyIn(r, ourCommit, theirCommit)
		if err != nil {
			return nil, fmt.Errorf("sync %s: %w", dir, err)
		}
		head, conflict, err := rebaseCommits(r, mine, theirCommit, opts.Now)
		if err != nil {
			return nil, fmt.Errorf("sync %s: rebase: %w", dir, err)
		}
		if conflict == nil {
			headCommit, err := r.CommitObject(head)
			if err != nil {
				return nil, fmt.Errorf("sync %s: %w", dir, err)
			}
			if err := checkGitOverwrite(dir, w, ourCommit, headCommit); err != nil {
				return nil, err
			}
			if err := w.Reset(&git.ResetOptions{Commit: head, Mode: git.MergeReset}); err != nil {
				return nil, fmt.Errorf("sync %s: move %s to %s: %w", dir, branch, gitShortHash(head.String()), err)
			}
			res.Rebased, res.RebasedOnto = true, theirs.String()
			for _, c := range mine {
				subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
				res.LocalCommits = append(res.LocalCommits, c.Hash.String())
				res.subjects = append(res.subjects, subject)
			}
			local = head
			return push()
		}
		res.ConflictFiles, res.conflictCommit = conflict.files, conflict.commit
	}
	if !behind {
		saved, err := saveGitBranch(r, local, opts.Now)
		if err != nil {
			return nil, fmt.Errorf("sync %s: keep local commits: %w", dir, err)
		}
		res.Diverged, res.Rewound, res.SavedBranch = !rewound, rewound, saved
		if rewound {
			res.RewoundFrom = oldRemote.String()
		}
		if res.LocalCommits, res.subjects, err = commitsOnlyIn(ourCommit, theirCommit); err != nil {
			return nil, fmt.Errorf("sync %s: %w", dir, err)
		}
	}
	if ourCommit == nil {
		// An unborn branch: go-git cannot reset from no commit, so point the
		// branch first; the reset then checks out every file.
		if err := r.Storer.SetReference(plumbing.NewHashReference(branchRef, theirs)); err != nil {
			return nil, fmt.Errorf("sync %s: %w", dir, err)
		}
	}
	// MergeReset, unlike HardReset, touches only the files that differ between
	// the two commits, so ignored files in the work tree survive.
	if err := w.Reset(&git.ResetOptions{Commit: theirs, Mode: git.MergeReset}); err != nil {
		return nil, fmt.Errorf("sync %s: move %s to %s: %w", dir, branch, gitShortHash(theirs.String()), err)
	}
	res.After = theirs.String()
	res.FastForwarded = behind
	return res, nil
}

func openGitRepo(dir string) (*git.Repository, error) {
	r, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("library %s: %w", dir, ErrNotGitRepo)
	}
	if err != nil {
		return nil, fmt.Errorf("open git repository %s: %w", dir, err)
	}
	return r, nil
}

// checkGitClean refuses staged, modified, deleted and untracked (not ignored) files.
func checkGitClean(dir string, w *git.Worktree) error {
	st, err := w.Status()
	if err != nil {
		return fmt.Errorf("sync %s: status: %w", dir, err)
	}
	var files []string
	for p, s := range st {
		if s.Staging != git.Unmodified || s.Worktree != git.Unmodified {
			files = append(files, p)
		}
	}
	if len(files) > 0 {
		sort.Strings(files)
		return &DirtyTreeError{Dir: dir, Files: files}
	}
	return nil
}

// checkGitOverwrite refuses to move to a commit that adds a file already present
// (ignored) in the work tree.
func checkGitOverwrite(dir string, w *git.Worktree, from, to *object.Commit) error {
	toTree, err := to.Tree()
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	fromTree := &object.Tree{}
	if from != nil {
		if fromTree, err = from.Tree(); err != nil {
			return fmt.Errorf("sync %s: %w", dir, err)
		}
	}
	changes, err := object.DiffTree(fromTree, toTree)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	var files []string
	for _, ch := range changes {
		if ch.From.Name != "" || ch.To.Name == "" {
			continue
		}
		if _, err := w.Filesystem.Lstat(ch.To.Name); err == nil {
			files = append(files, ch.To.Name)
		}
	}
	if len(files) > 0 {
		sort.Strings(files)
		return &DirtyTreeError{Dir: dir, Files: files, Overwrite: true}
	}
	return nil
}

func saveGitBranch(r *git.Repository, at plumbing.Hash, now func() time.Time) (string, error) {
	if now == nil {
		now = time.Now
	}
	base := SavedBranchPrefix + now().UTC().Format("20060102-150405")
	name := base
	for i := 2; ; i++ {
		_, err := r.Storer.Reference(plumbing.NewBranchReferenceName(name))
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			break
		}
		if err != nil {
			return "", err
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name, r.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(name), at))
}

// commitObjectsOnlyIn is commitsOnlyIn as commits.
func commitObjectsOnlyIn(r *git.Repository, ours, theirs *object.Commit) ([]*object.Commit, error) {
	hashes, _, err := commitsOnlyIn(ours, theirs)
	if err != nil {
		return nil, err
	}
	out := make([]*object.Commit, 0, len(hashes))
	for _, h := range hashes {
		c, err := r.CommitObject(plumbing.NewHash(h))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// commitsOnlyIn lists the commits reachable from ours and not from theirs, oldest
// first, with their subjects.
func commitsOnlyIn(ours, theirs *object.Commit) (hashes, subjects []string, err error) {
	reachable := map[plumbing.Hash]bool{}
	err = object.NewCommitPreorderIter(theirs, nil, nil).ForEach(func(c *object.Commit) error {
		reachable[c.Hash] = true
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	err = object.NewCommitPreorderIter(ours, reachable, nil).ForEach(func(c *object.Commit) error {
		hashes = append(hashes, c.Hash.String())
		subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
		subjects = append(subjects, subject)
		return nil
	})
	for i, j := 0, len(hashes)-1; i < j; i, j = i+1, j-1 {
		hashes[i], hashes[j] = hashes[j], hashes[i]
		subjects[i], subjects[j] = subjects[j], subjects[i]
	}
	return hashes, subjects, err
}

// gitNewCommits lists the commits reachable from to and from none of the
// known commits (zero hashes are skipped), oldest first. With no known commit
// (a branch with no history here yet) it is just to, as a clone checks.
func gitNewCommits(r *git.Repository, to *object.Commit, known ...plumbing.Hash) ([]plumbing.Hash, error) {
	seen := map[plumbing.Hash]bool{}
	have := false
	for _, h := range known {
		if h.IsZero() {
			continue
		}
		have = true
		c, err := r.CommitObject(h)
		if err != nil {
			return nil, err
		}
		err = object.NewCommitPreorderIter(c, seen, nil).ForEach(func(c *object.Commit) error {
			seen[c.Hash] = true
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if !have {
		return []plumbing.Hash{to.Hash}, nil
	}
	var out []plumbing.Hash
	err := object.NewCommitPreorderIter(to, seen, nil).ForEach(func(c *object.Commit) error {
		out = append(out, c.Hash)
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

func readGitKeyring(path string) (string, error) {
	if path == "" {
		return "", errors.New("signature verification needs a keyring file of armored public keys (--keyring)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read keyring: %w", err)
	}
	return string(b), nil
}

func verifyGitCommit(r *git.Repository, h plumbing.Hash, ref, keyring, keyringPath string) error {
	c, err := r.CommitObject(h)
	if err != nil {
		return fmt.Errorf("verify %s: %w", gitShortHash(h.String()), err)
	}
	if strings.TrimSpace(c.PGPSignature) == "" {
		return &SignatureError{Commit: h.String(), Ref: ref, Keyring: keyringPath, Reason: "the commit is not signed"}
	}
	if _, err := c.Verify(keyring); err != nil {
		return &SignatureError{Commit: h.String(), Ref: ref, Keyring: keyringPath,
			Reason: fmt.Sprintf("its signature does not verify against the keyring: %v", err), Err: err}
	}
	return nil
}

// gitAuthFor picks the auth method from the URL's scheme.
func gitAuthFor(url string, o AuthOptions) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, fmt.Errorf("git url %q: %w", url, err)
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	switch ep.Protocol {
	case "ssh":
		u := gitOrDefault(o.SSHUser, gitOrDefault(ep.User, "git"))
		hostKeys, err := gitssh.NewKnownHostsCallback(o.KnownHostsFiles...)
		if err != nil {
			return nil, fmt.Errorf("ssh host key check for %s: %w", ep.Host, err)
		}
		if o.SSHKeyFile != "" {
			k, err := gitssh.NewPublicKeysFromFile(u, o.SSHKeyFile, o.SSHKeyPassphrase)
			if err != nil {
				return nil, fmt.Errorf("ssh key %s: %w", o.SSHKeyFile, err)
			}
			k.HostKeyCallback = hostKeys
			return k, nil
		}
		if getenv("SSH_AUTH_SOCK") == "" {
			return nil, fmt.Errorf("ssh url %s needs an ssh agent (SSH_AUTH_SOCK is not set) or a key file", url)
		}
		a, err := gitssh.NewSSHAgentAuth(u)
		if err != nil {
			return nil, fmt.Errorf("ssh agent: %w", err)
		}
		a.HostKeyCallback = hostKeys
		return a, nil
	case "https", "http":
		token := getenv(gitOrDefault(o.TokenEnv, DefaultTokenEnv))
		if token == "" {
			return nil, nil
		}
		// A token goes in clear text over plain http; allow that only to this machine.
		if ep.Protocol == "http" && !gitIsLoopback(ep.Host) {
			return nil, fmt.Errorf("refusing to send the git token over plain http to %s; use https", ep.Host)
		}
		return &githttp.BasicAuth{Username: gitOrDefault(o.TokenUser, DefaultTokenUser), Password: token}, nil
	default:
		return nil, nil
	}
}

func gitIsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func gitOrDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func gitShortHash(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}

// gitShellQuote quotes s for a POSIX shell when it needs it.
func gitShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@,=", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
