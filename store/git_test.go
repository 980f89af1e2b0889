package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"github.com/cscript-dev/cscript/internal/gitserver"
	"io/fs"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

// isolateGitEnv points HOME and the git config at a fresh directory so that
// neither the real git binary nor go-git reads the machine's configuration.
func isolateGitEnv(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("USER", "tester")
	t.Setenv("SSH_AUTH_SOCK", "")
	gitWriteFile(t, filepath.Join(home, ".gitconfig"), "[user]\n\tname = Global User\n\temail = global@example.com\n[init]\n\tdefaultBranch = main\n")
	return home
}

func gitWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gitReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runGit runs the real git binary; it is only used to set up and inspect.
func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func gitFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startGitDaemon starts a real git daemon on 127.0.0.1 (internal/gitserver).
func startGitDaemon(t *testing.T) *gitserver.Server { return gitserver.Start(t) }

// seedLibrary makes a library with InitLibraryRepo and pushes it to url with
// the real git.
func gitSeedLibrary(t *testing.T, url string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		gitWriteFile(t, filepath.Join(dir, name), content)
	}
	if err := InitLibraryRepo(dir); err != nil {
		t.Fatalf("InitLibraryRepo: %v", err)
	}
	gitRun(t, dir, "push", "--quiet", url, "main:main")
	return dir
}

func gitClone(t *testing.T, url string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lib")
	if err := CloneLibrary(context.Background(), url, dir, GitOptions{}); err != nil {
		t.Fatalf("CloneLibrary: %v", err)
	}
	return dir
}

func gitCommit(t *testing.T, dir, msg string) string {
	t.Helper()
	h, err := CommitAll(dir, msg, Signature{Name: "Alice", Email: "alice@example.com"})
	if err != nil {
		t.Fatalf("CommitAll: %v", err)
	}
	return h
}

func gitSync(t *testing.T, dir string, opts GitOptions) *SyncResult {
	t.Helper()
	res, err := Sync(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Sync(%s): %v", dir, err)
	}
	return res
}

func gitHead(t *testing.T, dir string) string {
	t.Helper()
	h, err := HeadCommit(dir)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestGitCloneEditSyncBothWays(t *testing.T) {
	isolateGitEnv(t)
	srv := startGitDaemon(t)
	url := srv.NewRepo(t, "lib")
	seed := gitSeedLibrary(t, url, map[string]string{"hello.yaml": "v1\n", "gone.yaml": "soon gone\n", ".gitignore": "*.local\n"})

	a := gitClone(t, url)
	b := gitClone(t, url)
	if got, want := gitHead(t, a), gitHead(t, seed); got != want || len(got) != 40 {
		t.Fatalf("HeadCommit(clone) = %q, want %q", got, want)
	}
	if got := gitReadFile(t, filepath.Join(a, "hello.yaml")); got != "v1\n" {
		t.Fatalf("cloned hello.yaml = %q, want v1", got)
	}
	if entries, _ := os.ReadDir(filepath.Dir(a)); len(entries) != 1 {
		t.Fatalf("clone left %d entries beside the library, want only lib", len(entries))
	}

	// A edits, adds and deletes, commits and syncs: a push.
	gitWriteFile(t, filepath.Join(a, "hello.yaml"), "v2\n")
	gitWriteFile(t, filepath.Join(a, "sub", "new.yaml"), "new\n")
	if err := os.Remove(filepath.Join(a, "gone.yaml")); err != nil {
		t.Fatal(err)
	}
	before := gitHead(t, a)
	pushed := gitCommit(t, a, "edit hello")
	res := gitSync(t, a, GitOptions{})
	want := &SyncResult{Dir: a, URL: url, Branch: "main", Before: pushed, After: pushed, Pushed: true}
	if diff := cmp.Diff(res, want, cmp.AllowUnexported(SyncResult{})); diff != "" {
		t.Errorf("Sync(A) (-got +want):\n%s", diff)
	}
	if got := srv.Head(t, "lib"); got != pushed {
		t.Fatalf("server main = %s, want the pushed %s", got, pushed)
	}
	if got := gitRun(t, a, "log", "-1", "--format=%an <%ae> %P %s"); got != "Alice <alice@example.com> "+before+" edit hello" {
		t.Errorf("pushed commit = %q", got)
	}

	// An ignored file in B must survive the fast-forward.
	gitWriteFile(t, filepath.Join(b, "mine.local"), "mine\n")
	// B fast-forwards and sees all three changes.
	res = gitSync(t, b, GitOptions{})
	want = &SyncResult{Dir: b, URL: url, Branch: "main", Before: before, After: pushed, FastForwarded: true}
	if diff := cmp.Diff(res, want, cmp.AllowUnexported(SyncResult{})); diff != "" {
		t.Errorf("Sync(B) (-got +want):\n%s", diff)
	}
	if got := gitReadFile(t, filepath.Join(b, "hello.yaml")); got != "v2\n" {
		t.Errorf("B hello.yaml = %q, want v2", got)
	}
	if got := gitReadFile(t, filepath.Join(b, "sub", "new.yaml")); got != "new\n" {
		t.Errorf("B sub/new.yaml = %q, want new", got)
	}
	if _, err := os.Stat(filepath.Join(b, "gone.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("B gone.yaml still there after sync: %v", err)
	}
	if got := gitReadFile(t, filepath.Join(b, "mine.local")); got != "mine\n" {
		t.Errorf("ignored mine.local = %q after fast-forward", got)
	}
	if got := gitRun(t, b, "status", "--porcelain"); got != "" {
		t.Errorf("B work tree not clean after fast-forward:\n%s", got)
	}

	// Nothing new: up to date on both sides.
	res = gitSync(t, b, GitOptions{})
	if !res.UpToDate || res.Pushed || res.FastForwarded || res.Before != pushed || res.After != pushed {
		t.Errorf("second Sync(B) = %+v, want up to date at %s", res, pushed)
	}
	if !strings.Contains(res.Message(), "up to date") {
		t.Errorf("Message() = %q, want it to say up to date", res.Message())
	}
}

func TestGitSyncDivergedKeepsLocalCommits(t *testing.T) {
	isolateGitEnv(t)
	srv := startGitDaemon(t)
	url := srv.NewRepo(t, "lib")
	gitSeedLibrary(t, url, map[string]string{"hello.yaml": "v1\n"})
	a := gitClone(t, url)
	b := gitClone(t, url)

	gitWriteFile(t, filepath.Join(a, "hello.yaml"), "from A\n")
	remoteHead := gitCommit(t, a, "A edits hello")
	gitSync(t, a, GitOptions{})

	gitWriteFile(t, filepath.Join(b, "hello.yaml"), "from B\n")
	first := gitCommit(t, b, "B edits hello")
	gitWriteFile(t, filepath.Join(b, "b.yaml"), "only in B\n")
	second := gitCommit(t, b, "B adds b.yaml")

	now := func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)) }
	res := gitSync(t, b, GitOptions{Now: now})
	const saved = "cscript/local-20240102-020405" // UTC
	want := &SyncResult{
		Dir: b, URL: url, Branch: "main", Before: second, After: remoteHead,
		Diverged: true, SavedBranch: saved, LocalCommits: []string{first, second},
		subjects:      []string{"B edits hello", "B adds b.yaml"},
		ConflictFiles: []string{"hello.yaml"}, conflictCommit: "B edits hello",
	}
	if diff := cmp.Diff(res, want, cmp.AllowUnexported(SyncResult{})); diff != "" {
		t.Fatalf("Sync(B) (-got +want):\n%s", diff)
	}

	// The local branch is the remote head, the work tree matches it...
	if got := gitHead(t, b); got != remoteHead {
		t.Errorf("B head = %s, want remote head %s", got, remoteHead)
	}
	if got := gitReadFile(t, filepath.Join(b, "hello.yaml")); got != "from A\n" {
		t.Errorf("B hello.yaml = %q, want A's version", got)
	}
	if _, err := os.Stat(filepath.Join(b, "b.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("b.yaml still in the work tree: %v", err)
	}
	if got := gitRun(t, b, "status", "--porcelain"); got != "" {
		t.Errorf("B work tree not clean:\n%s", got)
	}
	// ...and the local work is on the saved branch, commits and contents.
	if got := gitRun(t, b, "rev-parse", saved); got != second {
		t.Errorf("%s = %s, want %s", saved, got, second)
	}
	gitRun(t, b, "merge-base", "--is-ancestor", first, saved)
	if got := gitRun(t, b, "show", saved+":b.yaml"); got != "only in B" {
		t.Errorf("b.yaml on %s = %q", saved, got)
	}
	if got := gitRun(t, b, "show", saved+":hello.yaml"); got != "from B" {
		t.Errorf("hello.yaml on %s = %q", saved, got)
	}
	msg := res.Message()
	for _, s := range []string{saved, first[:7] + " B edits hello", second[:7] + " B adds b.yaml",
		"git -C " + b + " cherry-pick main.." + saved, "git -C " + b + " log", "merge " + saved} {
		if !strings.Contains(msg, s) {
			t.Errorf("Message() lacks %q:\n%s", s, msg)
		}
	}
	// The commands in the message work: cherry-picking brings B's file back.
	gitRun(t, b, "-c", "user.name=B", "-c", "user.email=b@example.com", "cherry-pick", "-X", "theirs", "main.."+saved)
	if got := gitReadFile(t, filepath.Join(b, "b.yaml")); got != "only in B\n" {
		t.Errorf("after cherry-pick b.yaml = %q", got)
	}

	// A second divergence in the same second gets its own branch.
	gitWriteFile(t, filepath.Join(a, "hello.yaml"), "from A again\n")
	gitCommit(t, a, "A again")
	gitSync(t, a, GitOptions{})
	res = gitSync(t, b, GitOptions{Now: now})
	if !res.Diverged || res.SavedBranch != saved+"-2" {
		t.Errorf("second divergence: Diverged=%v SavedBranch=%q, want %s-2", res.Diverged, res.SavedBranch, saved)
	}
	if got := gitRun(t, b, "rev-parse", saved); got != second {
		t.Errorf("first saved branch moved to %s", got)
	}
}

func TestGitSyncDirtyTreeBlocks(t *testing.T) {
	isolateGitEnv(t)
	srv := startGitDaemon(t)
	url := srv.NewRepo(t, "lib")
	gitSeedLibrary(t, url, map[string]string{"hello.yaml": "v1\n", "other.yaml": "o\n", ".gitignore": "*.local\n"})

	tests := []struct {
		name  string
		dirty func(t *testing.T, dir string)
		files []string
	}{
		{"modified", func(t *testing.T, dir string) { gitWriteFile(t, filepath.Join(dir, "hello.yaml"), "changed\n") }, []string{"hello.yaml"}},
		{"untracked", func(t *testing.T, dir string) { gitWriteFile(t, filepath.Join(dir, "new.yaml"), "n\n") }, []string{"new.yaml"}},
		{"deleted", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "other.yaml")) }, []string{"other.yaml"}},
		{"staged", func(t *testing.T, dir string) {
			gitWriteFile(t, filepath.Join(dir, "hello.yaml"), "staged\n")
			gitRun(t, dir, "add", "hello.yaml")
		}, []string{"hello.yaml"}},
		{"several", func(t *testing.T, dir string) {
			gitWriteFile(t, filepath.Join(dir, "hello.yaml"), "changed\n")
			gitWriteFile(t, filepath.Join(dir, "a", "z.yaml"), "z\n")
		}, []string{"a/z.yaml", "hello.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := gitClone(t, url)
			before := gitHead(t, dir)
			tt.dirty(t, dir)
			_, err := Sync(context.Background(), dir, GitOptions{})
			var dirty *DirtyTreeError
			if !errors.As(err, &dirty) {
				t.Fatalf("Sync = %v, want *DirtyTreeError", err)
			}
			if diff := cmp.Diff(dirty.Files, tt.files); diff != "" {
				t.Errorf("Files (-got +want):\n%s", diff)
			}
			for _, f := range tt.files {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("message does not name %s: %v", f, err)
				}
			}
			if !strings.Contains(err.Error(), "commit") || !strings.Contains(err.Error(), "discard") {
				t.Errorf("message does not say to commit or discard: %v", err)
			}
			if got := gitHead(t, dir); got != before {
				t.Errorf("head moved from %s to %s", before, got)
			}
		})
	}

	t.Run("ignored files do not block", func(t *testing.T) {
		dir := gitClone(t, url)
		gitWriteFile(t, filepath.Join(dir, "secret.local"), "x\n")
		res := gitSync(t, dir, GitOptions{})
		if !res.UpToDate {
			t.Errorf("Sync = %+v, want up to date", res)
		}
	})

	t.Run("remote adds a file that is ignored locally", func(t *testing.T) {
		a := gitClone(t, url)
		b := gitClone(t, url)
		gitWriteFile(t, filepath.Join(b, "keep.local"), "mine\n")
		gitWriteFile(t, filepath.Join(a, "keep.local"), "theirs\n")
		gitRun(t, a, "add", "-f", "keep.local")
		gitCommit(t, a, "track keep.local")
		gitSync(t, a, GitOptions{})
		before := gitHead(t, b)
		_, err := Sync(context.Background(), b, GitOptions{})
		var dirty *DirtyTreeError
		if !errors.As(err, &dirty) || !dirty.Overwrite || !cmp.Equal(dirty.Files, []string{"keep.local"}) {
			t.Fatalf("Sync = %v, want *DirtyTreeError{Overwrite, [keep.local]}", err)
		}
		if got := gitReadFile(t, filepath.Join(b, "keep.local")); got != "mine\n" {
			t.Errorf("keep.local = %q, want it untouched", got)
		}
		if got := gitHead(t, b); got != before {
			t.Errorf("head moved")
		}
	})
}

func TestGitSyncOffline(t *testing.T) {
	isolateGitEnv(t)
	srv := startGitDaemon(t)
	url := srv.NewRepo(t, "lib")
	gitSeedLibrary(t, url, map[string]string{"hello.yaml": "v1\n"})
	dir := gitClone(t, url)
	gitWriteFile(t, filepath.Join(dir, "hello.yaml"), "offline edit\n")
	local := gitCommit(t, dir, "offline edit")

	dead := "git://127.0.0.1:" + strconv.Itoa(gitFreePort(t)) + "/lib.git"
	gitRun(t, dir, "remote", "set-url", "origin", dead)
	_, err := Sync(context.Background(), dir, GitOptions{})
	var re *RemoteError
	if !errors.As(err, &re) || re.URL != dead || re.Op != "fetch" || re.Unwrap() == nil {
		t.Fatalf("Sync = %v, want *RemoteError for fetch from %s", err, dead)
	}
	if !strings.Contains(err.Error(), "offline") {
		t.Errorf("message does not mention offline use: %v", err)
	}
	if got := gitHead(t, dir); got != local {
		t.Errorf("head = %s, want the local commit %s", got, local)
	}

	// Once the remote is back, the commit made offline is pushed.
	gitRun(t, dir, "remote", "set-url", "origin", url)
	if res := gitSync(t, dir, GitOptions{}); !res.Pushed || srv.Head(t, "lib") != local {
		t.Errorf("Sync after reconnect = %+v, server at %s; want %s pushed", res, srv.Head(t, "lib"), local)
	}
}

func TestGitCloneErrors(t *testing.T) {
	isolateGitEnv(t)
	srv := startGitDaemon(t)
	url := srv.NewRepo(t, "lib")
	gitSeedLibrary(t, url, map[string]string{"hello.yaml": "v1\n"})

	t.Run("unreachable remote leaves nothing", func(t *testing.T) {
		parent := t.TempDir()
		dead := "git://127.0.0.1:" + strconv.Itoa(gitFreePort(t)) + "/lib.git"
		err := CloneLibrary(context.Background(), dead, filepath.Join(parent, "lib"), GitOptions{})
		var re *RemoteError
		if !errors.As(err, &re) || re.Op != "clone" {
			t.Fatalf("CloneLibrary = %v, want *RemoteError", err)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Errorf("failed clone left %v", entries)
		}
	})
	t.Run("existing directory", func(t *testing.T) {
		dir := t.TempDir()
		gitWriteFile(t, filepath.Join(dir, "x"), "x")
		if err := CloneLibrary(context.Background(), url, dir, GitOptions{}); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("CloneLibrary = %v, want fs.ErrExist", err)
		}
	})
	t.Run("empty directory is fine", func(t *testing.T) {
		dir := t.TempDir()
		if err := CloneLibrary(context.Background(), url, dir, GitOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := gitReadFile(t, filepath.Join(dir, "hello.yaml")); got != "v1\n" {
			t.Errorf("hello.yaml = %q", got)
		}
	})
	t.Run("branch", func(t *testing.T) {
		work := gitClone(t, url)
		gitRun(t, work, "checkout", "--quiet", "-b", "prod")
		gitWriteFile(t, filepath.Join(work, "prod.yaml"), "p\n")
		gitCommit(t, work, "prod only")
		gitRun(t, work, "push", "--quiet", "origin", "prod")

		dir := filepath.Join(t.TempDir(), "lib")
		if err := CloneLibrary(context.Background(), url, dir, GitOptions{Branch: "prod"}); err != nil {
			t.Fatal(err)
		}
		if got := gitRun(t, dir, "branch", "--show-current"); got != "prod" {
			t.Errorf("cloned branch = %q, want prod", got)
		}
		res := gitSync(t, dir, GitOptions{Branch: "prod"})
		if !res.UpToDate || res.Branch != "prod" {
			t.Errorf("Sync = %+v", res)
		}
		if _, err := Sync(context.Background(), dir, GitOptions{Branch: "main"}); err == nil || !strings.Contains(err.Error(), "on branch prod") {
			t.Errorf("Sync with another branch = %v, want an error naming the checked-out branch", err)
		}
	})
	t.Run("empty remote", func(t *testing.T) {
		empty := srv.NewRepo(t, "empty")
		dir := filepath.Join(t.TempDir(), "lib")
		if err := CloneLibrary(context.Background(), empty, dir, GitOptions{}); err != nil {
			t.Fatal(err)
		}
		other := filepath.Join(t.TempDir(), "lib")
		if err := CloneLibrary(context.Background(), empty, other, GitOptions{}); err != nil {
			t.Fatal(err)
		}
		if h := gitHead(t, dir); h != "" {
			t.Errorf("HeadCommit of an empty clone = %q", h)
		}
		if res := gitSync(t, dir, GitOptions{}); !res.UpToDate {
			t.Errorf("Sync of empty with empty = %+v", res)
		}
		gitWriteFile(t, filepath.Join(dir, "first.yaml"), "1\n")
		h := gitCommit(t, dir, "first")
		if res := gitSync(t, dir, GitOptions{}); !res.Pushed || srv.Head(t, "empty") != h {
			t.Errorf("first Sync = %+v, want %s pushed", res, h)
		}
		// A clone made while the remote was empty catches up.
		if res := gitSync(t, other, GitOptions{}); !res.FastForwarded || res.Before != "" || res.After != h {
			t.Errorf("Sync of the other empty clone = %+v, want fast-forward to %s", res, h)
		}
		if got := gitReadFile(t, filepath.Join(other, "first.yaml")); got != "1\n" {
			t.Errorf("first.yaml = %q", got)
		}
	})
}

// gpgKey makes an ed25519 signing key in its own GNUPGHOME and returns its
// fingerprint and the path of its armored public key.
func gpgKey(t *testing.T, gnupghome, uid string) (fpr, pubkey string) {
	t.Helper()
	gpg := func(args ...string) string {
		cmd := exec.Command("gpg", append([]string{"--batch", "--homedir", gnupghome}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("gpg %v: %v\n%s", args, err, stderr)
		}
		return string(out)
	}
	gpg("--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
	for _, line := range strings.Split(gpg("--with-colons", "--list-keys", uid), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" {
			fpr = f[9]
			break
		}
	}
	if fpr == "" {
		t.Fatalf("no fingerprint for %s", uid)
	}
	pubkey = filepath.Join(t.TempDir(), "keyring.asc")
	gitWriteFile(t, pubkey, gpg("--armor", "--export", fpr))
	return fpr, pubkey
}

func TestGitSyncVerifySignatures(t *testing.T) {
	isolateGitEnv(t)
	// A short path: gpg-agent's socket lives here and socket paths are limited.
	gnupghome, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+gnupghome)
		_ = cmd.Run()
		os.RemoveAll(gnupghome)
	})
	os.Chmod(gnupghome, 0o700)
	t.Setenv("GNUPGHOME", gnupghome)
	trusted, keyring := gpgKey(t, gnupghome, "Trusted <trusted@example.com>")
	stranger, _ := gpgKey(t, gnupghome, "Stranger <stranger@example.com>")

	srv := startGitDaemon(t)
	url := srv.NewRepo(t, "lib")
	gitSeedLibrary(t, url, map[string]string{"hello.yaml": "v1\n"})
	lib := gitClone(t, url)
	work := gitClone(t, url)
	verify := GitOptions{VerifySignatures: true, Keyring: keyring}

	commit := func(content, key string) string {
		gitWriteFile(t, filepath.Join(work, "hello.yaml"), content)
		args := []string{"-c", "gpg.program=gpg", "commit", "--quiet", "-am", content}
		if key != "" {
			args = append([]string{"-c", "user.signingkey=" + key}, append(args, "-S")...)
		}
		gitRun(t, work, args...)
		gitRun(t, work, "push", "--quiet", "--force", "origin", "main")
		return gitRun(t, work, "rev-parse", "HEAD")
	}

	signed := commit("signed\n", trusted)
	res := gitSync(t, lib, verify)
	if !res.FastForwarded || res.After != signed {
		t.Fatalf("Sync to a signed head = %+v, want fast-forward to %s", res, signed)
	}

	tests := []struct {
		name   string
		key    string
		reason string
	}{
		{"unsigned", "", "not signed"},
		{"signed by a key not in the keyring", stranger, "does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gitRun(t, work, "reset", "--quiet", "--hard", signed)
			head := commit(tt.name+"\n", tt.key)
			_, err := Sync(context.Background(), lib, verify)
			var se *SignatureError
			if !errors.As(err, &se) {
				t.Fatalf("Sync = %v, want *SignatureError", err)
			}
			if se.Commit != head || !strings.Contains(se.Reason, tt.reason) {
				t.Errorf("SignatureError = %+v, want commit %s and reason %q", se, head, tt.reason)
			}
			if !strings.Contains(err.Error(), head[:7]) || !strings.Contains(err.Error(), "unchanged") {
				t.Errorf("message = %v", err)
			}
			if got := gitHead(t, lib); got != signed {
				t.Errorf("local head moved to %s, want %s", got, signed)
			}
			if got := gitReadFile(t, filepath.Join(lib, "hello.yaml")); got != "signed\n" {
				t.Errorf("work tree changed: %q", got)
			}
		})
	}

	t.Run("clone refuses an unsigned head", func(t *testing.T) {
		parent := t.TempDir()
		err := CloneLibrary(context.Background(), url, filepath.Join(parent, "lib"), verify)
		var se *SignatureError
		if !errors.As(err, &se) {
			t.Fatalf("CloneLibrary = %v, want *SignatureError", err)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Errorf("refused clone left %v", entries)
		}
	})

	// A signed head does not carry the unsigned commits under it.
	gitRun(t, work, "reset", "--quiet", "--hard", signed)
	unsigned := commit("unsigned under a signed head\n", "")
	signedOver := commit("signed over\n", trusted)
	_, err = Sync(context.Background(), lib, verify)
	var se *SignatureError
	if !errors.As(err, &se) || se.Commit != unsigned || se.Head != signedOver || !strings.Contains(se.Reason, "not signed") {
		t.Fatalf("Sync to a signed head over unsigned commits = %v (%+v), want *SignatureError for %s", err, se, unsigned)
	}
	if got := gitHead(t, lib); got != signed {
		t.Errorf("local head moved to %s, want %s", got, signed)
	}

	// The maintainer drops the bad commits and signs anew: the sync goes through.
	gitRun(t, work, "reset", "--quiet", "--hard", signed)
	signedAgain := commit("signed again\n", trusted)
	if res := gitSync(t, lib, verify); !res.FastForwarded || res.After != signedAgain {
		t.Errorf("Sync = %+v, want fast-forward to %s", res, signedAgain)
	}

	// Rolling the branch back to an older signed commit is refused, every time.
	gitRun(t, work, "reset", "--quiet", "--hard", signed)
	gitRun(t, work, "push", "--quiet", "--force", "origin", "main")
	for i := 0; i < 2; i++ {
		_, err = Sync(context.Background(), lib, verify)
		var re *RewoundError
		if !errors.As(err, &re) || !re.Verified || re.Old != signedAgain || re.New != signed {
			t.Fatalf("Sync to an older signed commit = %v, want *RewoundError from %s to %s", err, signedAgain, signed)
		}
		if got := gitHead(t, lib); got != signedAgain {
			t.Errorf("local head moved to %s, want %s", got, signedAgain)
		}
		if got := gitReadFile(t, filepath.Join(lib, "hello.yaml")); got != "signed again\n" {
			t.Errorf("work tree changed: %q", got)
		}
	}
	if _, err := Sync(context.Background(), lib, GitOptions{VerifySignatures: true}); err == nil || !strings.Contains(err.Error(), "keyring") {
		t.Errorf("Sync without a keyring = %v, want an error asking for one", err)
	}
}

func TestGitLocalRepo(t *testing.T) {
	isolateGitEnv(t)

	plain := t.TempDir()
	if h, err := HeadCommit(plain); h != "" || err != nil {
		t.Errorf("HeadCommit(plain dir) = %q, %v; want \"\", nil", h, err)
	}
	if _, err := Sync(context.Background(), plain, GitOptions{}); !errors.Is(err, ErrNotGitRepo) {
		t.Errorf("Sync(plain dir) = %v, want ErrNotGitRepo", err)
	}
	if _, err := CommitAll(plain, "x", Signature{}); !errors.Is(err, ErrNotGitRepo) {
		t.Errorf("CommitAll(plain dir) = %v, want ErrNotGitRepo", err)
	}

	dir := t.TempDir()
	gitWriteFile(t, filepath.Join(dir, "hello.yaml"), "v1\n")
	gitWriteFile(t, filepath.Join(dir, "decks", "local.yaml"), "d\n")
	gitWriteFile(t, filepath.Join(dir, ".gitignore"), "*.local\n")
	gitWriteFile(t, filepath.Join(dir, "x.local"), "ignored\n")
	if err := InitLibraryRepo(dir); err != nil {
		t.Fatal(err)
	}
	if err := InitLibraryRepo(dir); !errors.Is(err, ErrAlreadyGitRepo) {
		t.Errorf("second InitLibraryRepo = %v, want ErrAlreadyGitRepo", err)
	}
	if got := gitRun(t, dir, "branch", "--show-current"); got != "main" {
		t.Errorf("branch = %q, want main", got)
	}
	if got := gitRun(t, dir, "ls-files"); got != ".gitignore\ndecks/local.yaml\nhello.yaml" {
		t.Errorf("committed files:\n%s", got)
	}
	if got := gitRun(t, dir, "log", "--format=%an <%ae>"); got != "Global User <global@example.com>" {
		t.Errorf("initial commit author = %q", got)
	}
	if got, want := gitHead(t, dir), gitRun(t, dir, "rev-parse", "HEAD"); got != want {
		t.Errorf("HeadCommit = %q, want %q", got, want)
	}
	if _, err := CommitAll(dir, "nothing", Signature{}); !errors.Is(err, ErrNothingToCommit) {
		t.Errorf("CommitAll with no change = %v, want ErrNothingToCommit", err)
	}
	if _, err := Sync(context.Background(), dir, GitOptions{}); !errors.Is(err, ErrNoRemote) {
		t.Errorf("Sync without a remote = %v, want ErrNoRemote", err)
	}

	// Default author is the git identity; deletions are committed.
	os.Remove(filepath.Join(dir, "decks", "local.yaml"))
	h, err := CommitAll(dir, "rm deck", Signature{})
	if err != nil {
		t.Fatal(err)
	}
	if got := gitRun(t, dir, "log", "-1", "--format=%H %an %s", "--name-status"); got != h+" Global User rm deck\n\nD\tdecks/local.yaml" {
		t.Errorf("commit:\n%s", got)
	}
	if got := gitRun(t, dir, "status", "--porcelain"); got != "" {
		t.Errorf("not clean after commit:\n%s", got)
	}
}

func TestGitIdentity(t *testing.T) {
	home := isolateGitEnv(t)
	host, _ := os.Hostname()
	repo := t.TempDir()
	gitRun(t, repo, "init", "--quiet")
	gitRun(t, repo, "config", "user.name", "Repo User")

	tests := []struct {
		name      string
		gitconfig string
		dir       string
		want      Signature
	}{
		{"global", "[user]\n\tname = G\n\temail = g@example.com\n", t.TempDir(), Signature{"G", "g@example.com"}},
		{"repo over global", "[user]\n\tname = G\n\temail = g@example.com\n", repo, Signature{"Repo User", "g@example.com"}},
		{"no config", "", t.TempDir(), Signature{"tester", "tester@" + host}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gitWriteFile(t, filepath.Join(home, ".gitconfig"), tt.gitconfig)
			if diff := cmp.Diff(GitIdentity(tt.dir), tt.want); diff != "" {
				t.Errorf("GitIdentity (-got +want):\n%s", diff)
			}
		})
	}
}

func TestGitAuth(t *testing.T) {
	dir := t.TempDir()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "id_ed25519")
	gitWriteFile(t, keyFile, string(pem.EncodeToMemory(block)))
	knownPub, _, _ := ed25519.GenerateKey(rand.Reader)
	known, _ := ssh.NewPublicKey(knownPub)
	knownHosts := filepath.Join(dir, "known_hosts")
	gitWriteFile(t, knownHosts, "git.example.com "+string(ssh.MarshalAuthorizedKey(known)))

	env := map[string]string{"CSCRIPT_GIT_TOKEN": "tok", "MY_TOKEN": "mine"}
	getenv := func(k string) string { return env[k] }

	tests := []struct {
		name    string
		url     string
		opts    AuthOptions
		want    any
		wantErr string
	}{
		{name: "https token", url: "https://git.example.com/lib.git", opts: AuthOptions{Getenv: getenv},
			want: &githttp.BasicAuth{Username: "x-access-token", Password: "tok"}},
		{name: "https other env and user", url: "https://git.example.com/lib.git", opts: AuthOptions{Getenv: getenv, TokenEnv: "MY_TOKEN", TokenUser: "oauth2"},
			want: &githttp.BasicAuth{Username: "oauth2", Password: "mine"}},
		{name: "https no token", url: "https://git.example.com/lib.git", opts: AuthOptions{Getenv: func(string) string { return "" }}},
		{name: "http loopback", url: "http://127.0.0.1:8080/lib.git", opts: AuthOptions{Getenv: getenv},
			want: &githttp.BasicAuth{Username: "x-access-token", Password: "tok"}},
		{name: "http elsewhere refuses the token", url: "http://git.example.com/lib.git", opts: AuthOptions{Getenv: getenv}, wantErr: "plain http"},
		{name: "git protocol", url: "git://127.0.0.1/lib.git"},
		{name: "local path", url: "/srv/lib.git"},
		{name: "ssh without agent or key", url: "git@git.example.com:org/lib.git",
			opts: AuthOptions{Getenv: func(string) string { return "" }, KnownHostsFiles: []string{knownHosts}}, wantErr: "SSH_AUTH_SOCK"},
		{name: "ssh without known_hosts", url: "ssh://git@git.example.com/lib.git",
			opts: AuthOptions{SSHKeyFile: keyFile, KnownHostsFiles: []string{filepath.Join(dir, "missing")}}, wantErr: "known_hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := gitAuthFor(tt.url, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if got != nil {
					t.Fatalf("auth = %v, want none", got)
				}
				return
			}
			if diff := cmp.Diff(any(got), tt.want); diff != "" {
				t.Errorf("auth (-got +want):\n%s", diff)
			}
		})
	}

	t.Run("ssh key file checks known_hosts", func(t *testing.T) {
		got, err := gitAuthFor("ssh://deploy@git.example.com:2222/lib.git", AuthOptions{SSHKeyFile: keyFile, KnownHostsFiles: []string{knownHosts}})
		if err != nil {
			t.Fatal(err)
		}
		pk, ok := got.(*gitssh.PublicKeys)
		if !ok || pk.User != "deploy" {
			t.Fatalf("auth = %#v, want *ssh.PublicKeys for user deploy", got)
		}
		addr := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22}
		if err := pk.HostKeyCallback("git.example.com:22", addr, known); err != nil {
			t.Errorf("known host key rejected: %v", err)
		}
		otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
		other, _ := ssh.NewPublicKey(otherPub)
		if err := pk.HostKeyCallback("git.example.com:22", addr, other); err == nil {
			t.Error("a host key not in known_hosts was accepted")
		}
	})
}

// TestGitSyncHTTPToken runs clone and sync over smart HTTP (git http-backend
// behind a server that demands the token as basic auth) on 127.0.0.1.
func TestGitSyncHTTPToken(t *testing.T) {
	isolateGitEnv(t)
	backend, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	gitRun(t, root, "init", "--quiet", "--bare", "--initial-branch=main", "lib.git")
	gitRun(t, filepath.Join(root, "lib.git"), "config", "http.receivepack", "true")
	cgiHandler := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(backend)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "x-access-token" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		cgiHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/lib.git"

	t.Setenv(DefaultTokenEnv, "")
	if err := CloneLibrary(context.Background(), url, filepath.Join(t.TempDir(), "lib"), GitOptions{}); !errors.Is(err, transport.ErrAuthenticationRequired) {
		t.Fatalf("clone without the token = %v, want authentication required", err)
	}
	t.Setenv(DefaultTokenEnv, "s3cret")
	a := gitClone(t, url) // an empty remote
	gitWriteFile(t, filepath.Join(a, "hello.yaml"), "over http\n")
	h := gitCommit(t, a, "first over http")
	if res := gitSync(t, a, GitOptions{}); !res.Pushed || res.After != h {
		t.Fatalf("Sync = %+v, want %s pushed", res, h)
	}
	if got := gitRun(t, filepath.Join(root, "lib.git"), "rev-parse", "main"); got != h {
		t.Fatalf("server main = %s, want %s", got, h)
	}
	b := gitClone(t, url)
	if got := gitReadFile(t, filepath.Join(b, "hello.yaml")); got != "over http\n" {
		t.Errorf("second clone hello.yaml = %q", got)
	}
}

func TestGitCommitPaths(t *testing.T) {
	isolateGitEnv(t)
	dir := t.TempDir()
	gitWriteFile(t, filepath.Join(dir, "old.yaml"), "old\n")
	if err := InitLibraryRepo(dir); err != nil {
		t.Fatal(err)
	}
	gitWriteFile(t, filepath.Join(dir, "new.yaml"), "new\n")
	gitWriteFile(t, filepath.Join(dir, "prod-creds.env"), "TOKEN=x\n")
	if err := os.Remove(filepath.Join(dir, "old.yaml")); err != nil {
		t.Fatal(err)
	}
	h, err := CommitPaths(dir, "touch two", Signature{Name: "A", Email: "a@example.com"},
		filepath.Join(dir, "new.yaml"), filepath.Join(dir, "old.yaml"))
	if err != nil {
		t.Fatalf("CommitPaths: %v", err)
	}
	if got := gitRun(t, dir, "show", "--name-status", "--format=", h); got != "A\tnew.yaml\nD\told.yaml" {
		t.Errorf("commit changes:\n%s", got)
	}
	if got := gitRun(t, dir, "status", "--porcelain"); got != "?? prod-creds.env" {
		t.Errorf("status after CommitPaths:\n%s", got)
	}
	if _, err := CommitPaths(dir, "again", Signature{}, "new.yaml"); !errors.Is(err, ErrNothingToCommit) {
		t.Errorf("CommitPaths of an unchanged file = %v, want ErrNothingToCommit", err)
	}
	if _, err := CommitPaths(dir, "outside", Signature{}, filepath.Join(t.TempDir(), "x")); err == nil {
		t.Error("CommitPaths of a path outside the library succeeded")
	}
}

// The maintainer removes a published commit with a force-push: a clone that
// had synced to it keeps it (and its own work) on a branch, moves to the
// remote head and never pushes the removed commit back.
func TestGitSyncRewoundRemoteIsNotPushedBack(t *testing.T) {
	isolateGitEnv(t)
	srv := startGitDaemon(t)
	url := srv.NewRepo(t, "lib")
	gitSeedLibrary(t, url, map[string]string{"hello.yaml": "v1\n"})
	good := srv.Head(t, "lib")
	a := gitClone(t, url)
	b := gitClone(t, url)

	gitWriteFile(t, filepath.Join(a, "leak.env"), "TOKEN=x\n")
	bad := gitCommit(t, a, "A leaks a token")
	gitSync(t, a, GitOptions{})
	gitSync(t, b, GitOptions{}) // b now has the bad commit
	gitWriteFile(t, filepath.Join(b, "b.yaml"), "b\n")
	mine := gitCommit(t, b, "B adds b.yaml")

	// The maintainer removes the bad commit.
	gitRun(t, srv.Base, "--git-dir=lib.git", "update-ref", "refs/heads/main", good)

	now := func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }
	res := gitSync(t, b, GitOptions{Now: now})
	const saved = "cscript/local-20240102-030405"
	want := &SyncResult{
		Dir: b, URL: url, Branch: "main", Before: mine, After: good,
		Rewound: true, RewoundFrom: bad, SavedBranch: saved, LocalCommits: []string{bad, mine},
		subjects: []string{"A leaks a token", "B adds b.yaml"},
	}
	if diff := cmp.Diff(res, want, cmp.AllowUnexported(SyncResult{})); diff != "" {
		t.Fatalf("Sync(B) (-got +want):\n%s", diff)
	}
	if got := srv.Head(t, "lib"); got != good {
		t.Fatalf("the removed commit was pushed back: remote head %s, want %s", got, good)
	}
	if got := gitHead(t, b); got != good {
		t.Errorf("B head = %s, want %s", got, good)
	}
	if got := gitRun(t, b, "rev-parse", saved); got != mine {
		t.Errorf("%s = %s, want %s", saved, got, mine)
	}
	msg := res.Message()
	for _, s := range []string{"rewound", bad[:7], saved, "nothing was pushed", "cherry-pick main.." + saved, "deliberately"} {
		if !strings.Contains(msg, s) {
			t.Errorf("Message() lacks %q:\n%s", s, msg)
		}
	}
	// The next sync (and the one after) does not push it back either.
	for i := 0; i < 2; i++ {
		if res := gitSync(t, b, GitOptions{}); !res.UpToDate || res.Pushed {
			t.Errorf("sync after the rewind = %+v, want up to date", res)
		}
	}
	// A, whose own branch still holds the bad commit, does not push it back.
	res = gitSync(t, a, GitOptions{Now: now})
	if !res.Rewound || srv.Head(t, "lib") != good {
		t.Errorf("A's sync after the rewind = %+v, remote head %s", res, srv.Head(t, "lib"))
	}

	// A deleted remote branch is not recreated.
	gitRun(t, srv.Base, "--git-dir=lib.git", "update-ref", "-d", "refs/heads/main")
	_, err := Sync(context.Background(), b, GitOptions{})
	var re *RewoundError
	if !errors.As(err, &re) || re.New != "" || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("Sync after the branch was deleted = %v, want *RewoundError", err)
	}
	if out := gitRun(t, srv.Base, "--git-dir=lib.git", "branch", "--list"); out != "" {
		t.Errorf("the deleted branch was pushed back: %q", out)
	}
}
