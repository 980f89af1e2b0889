package commands

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cscript-dev/cscript/internal/gitserver"
)

// Two users share a library through a real git daemon on 127.0.0.1.
func TestLibraryAddSyncBothWaysAndDivergence(t *testing.T) {
	srv := gitserver.Start(t)
	url := srv.NewRepo(t, "team")

	alice := newEnv(t)
	alice.mustRun("init", filepath.Join(alice.root, "seed"), "--name", "seed")
	gitserver.Git(t, filepath.Join(alice.root, "seed"), "push", "--quiet", url, "main:main")

	alice.mustRun("library", "add", "team", url)
	bob := newEnv(t)
	bob.mustRun("library", "add", "team", url)
	if r := bob.mustRun("list"); !strings.Contains(r.out, "team/hello") && !strings.Contains(r.out, "hello") {
		t.Fatalf("bob's clone does not list the library:\n%s", r.out)
	}

	// Alice adds a script (a commit) and syncs: it is pushed; Bob syncs: he sees it.
	alice.mustRun("new", "backup", "-l", "team")
	if r := alice.mustRun("sync"); !strings.Contains(strings.ToLower(r.out), "push") {
		t.Errorf("alice's sync should push: %q", r.out)
	}
	bob.mustRun("sync", "team")
	if r := bob.mustRun("show", "team/backup"); !strings.Contains(r.out, "name: backup") {
		t.Fatalf("bob does not see alice's script:\n%s", r.out)
	}

	// A dirty tree blocks sync and names the file.
	bobLib := filepath.Join(bob.root, "data_home", "cscript", "libraries", "team")
	if err := os.WriteFile(filepath.Join(bobLib, "scratch.yaml"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := bob.run("", "sync"); r.code != ExitConflict || !strings.Contains(r.err, "scratch.yaml") {
		t.Fatalf("sync of a dirty tree: exit %d, stderr %q", r.code, r.err)
	}
	if err := os.Remove(filepath.Join(bobLib, "scratch.yaml")); err != nil {
		t.Fatal(err)
	}

	// Both commit, to different files: Bob's sync puts his commit on top of
	// Alice's and pushes; no branch, nothing disappears from list.
	alice.mustRun("new", "alice-only", "-l", "team")
	alice.mustRun("sync")
	bob.mustRun("new", "bob-only", "-l", "team")
	r := bob.mustRun("sync")
	if !strings.Contains(r.out, "on top of") {
		t.Fatalf("sync after both committed: %q", r.out)
	}
	if out := bob.mustRun("list").out; !strings.Contains(out, "alice-only") || !strings.Contains(out, "bob-only") {
		t.Errorf("after the rebase bob should list both scripts:\n%s", out)
	}
	alice.mustRun("sync")
	if out := alice.mustRun("list").out; !strings.Contains(out, "bob-only") {
		t.Errorf("alice does not get bob's script:\n%s", out)
	}
	if got := gitserver.Git(t, bobLib, "branch", "--list", "cscript/local-*"); got != "" {
		t.Errorf("a branch was kept: %s", got)
	}

	// Both change the same line of a script: a real conflict keeps Bob's
	// work on a branch, exits 5 and says which file and how to get it back.
	editorScript(t, alice, `sed -i 's/^description: .*/description: Alice was here./' "$1"`)
	alice.mustRun("edit", "team/hello")
	alice.mustRun("sync")
	editorScript(t, bob, `sed -i 's/^description: .*/description: Bob was here./' "$1"`)
	bob.mustRun("edit", "team/hello")
	r = bob.run("", "sync")
	if r.code != ExitConflict {
		t.Fatalf("conflicting sync: exit %d\nstdout %q\nstderr %q", r.code, r.out, r.err)
	}
	norm := regexp.MustCompile(`cscript/local-[0-9-]+`).ReplaceAllString(r.out+"--- stderr\n"+r.err, "cscript/local-$$TIME")
	norm = regexp.MustCompile(`\b[0-9a-f]{7}\b`).ReplaceAllString(norm, "$$HASH")
	norm = strings.ReplaceAll(norm, url, "$URL")
	bob.golden("sync-conflict", norm)
	if out := bob.mustRun("show", "team/hello").out; !strings.Contains(out, "Alice was here.") {
		t.Errorf("after the conflict bob should be on the remote head:\n%s", out)
	}
	branches := gitserver.Git(t, bobLib, "branch", "--list", "cscript/local-*")
	saved := strings.TrimSpace(strings.TrimPrefix(branches, "*"))
	if saved == "" {
		t.Fatalf("no saved branch in %s", bobLib)
	}
	if got := gitserver.Git(t, bobLib, "show", saved+":hello.yaml"); !strings.Contains(got, "Bob was here.") {
		t.Errorf("bob's commit is not on %s:\n%s", saved, got)
	}
	if r := bob.mustRun("list"); !strings.Contains(r.err, "keeps local commits on branch "+saved) {
		t.Errorf("list does not say where bob's work is: %q", r.err)
	}
}

// The maintainer force-pushes a published commit away: a user who had synced
// it keeps it on a branch, sync exits 5, and the commit is not pushed back.
func TestSyncRewoundRemoteExitsConflictWithoutPushing(t *testing.T) {
	srv := gitserver.Start(t)
	url := srv.NewRepo(t, "team")
	alice := newEnv(t)
	alice.mustRun("init", filepath.Join(alice.root, "seed"), "--name", "seed")
	gitserver.Git(t, filepath.Join(alice.root, "seed"), "push", "--quiet", url, "main:main")
	good := srv.Head(t, "team")

	alice.mustRun("library", "add", "team", url)
	alice.mustRun("new", "oops", "-l", "team")
	alice.mustRun("sync")
	gitserver.Git(t, filepath.Join(srv.Base, "team.git"), "update-ref", "refs/heads/main", good)

	r := alice.run("", "sync")
	if r.code != ExitConflict || !strings.Contains(r.out, "rewound") || !strings.Contains(r.out, "cscript/local-") {
		t.Fatalf("sync after a rewind: exit %d\nstdout %q\nstderr %q", r.code, r.out, r.err)
	}
	if got := srv.Head(t, "team"); got != good {
		t.Fatalf("the removed commit was pushed back: remote head %s, want %s", got, good)
	}
	alice.mustRun("sync")
	if got := srv.Head(t, "team"); got != good {
		t.Fatalf("the second sync pushed the removed commit back: %s", got)
	}
	if out := alice.mustRun("list").out; strings.Contains(out, "oops") {
		t.Errorf("the removed script is still listed:\n%s", out)
	}
}

// A library made with init gets a remote and is shared without raw git;
// `library rm` then `library add` with the same name works, whether the
// clone left behind is of the same remote (reused) or of another (moved
// aside, said where).
func TestInitRemoteSyncAndReAddSameName(t *testing.T) {
	srv := gitserver.Start(t)
	url := srv.NewRepo(t, "team")
	alice := newEnv(t)
	alice.mustRun("init")
	if r := alice.run("", "library", "remote", "nope", url); r.code != ExitNotFound {
		t.Errorf("remote of an unknown library: exit %d %q", r.code, r.err)
	}
	r := alice.mustRun("library", "remote", "local", url)
	alice.golden("library-remote", strings.ReplaceAll(r.out, url, "$URL"))
	if out := alice.mustRun("library", "list").out; !strings.Contains(out, url) {
		t.Errorf("library list lacks the URL:\n%s", out)
	}
	if r := alice.mustRun("sync"); !strings.Contains(r.out, "pushed") {
		t.Fatalf("first sync: %q", r.out)
	}
	if got, want := srv.Head(t, "team"), gitserver.Git(t, alice.lib(), "rev-parse", "HEAD"); got != want {
		t.Fatalf("remote head %s, alice's %s", got, want)
	}

	bob := newEnv(t)
	bob.mustRun("library", "add", "team", url)
	bob.mustRun("library", "rm", "team")
	r = bob.mustRun("library", "add", "team", url)
	if !strings.Contains(r.err, "Using the clone") {
		t.Errorf("re-add of the same remote: %q", r.err)
	}
	if out := bob.mustRun("list", "hello").out; !strings.Contains(out, "team") {
		t.Errorf("bob's list:\n%s", out)
	}
	bob.mustRun("new", "bobs", "-l", "team")
	bob.mustRun("sync")
	alice.mustRun("sync")
	if out := alice.mustRun("list", "bobs").out; !strings.Contains(out, "bobs") {
		t.Errorf("alice does not get bob's script:\n%s", out)
	}

	// The same name for another remote: the old clone is moved aside, kept.
	other := srv.NewRepo(t, "other")
	seed := filepath.Join(bob.root, "seed")
	bob.mustRun("init", seed, "--name", "seed", "--empty")
	bob.mustRun("new", "other-only", "-l", "seed")
	gitserver.Git(t, seed, "push", "--quiet", other, "main:main")
	bob.mustRun("library", "rm", "team")
	r = bob.mustRun("library", "add", "team", other)
	aside := regexpFind(t, `to (\S+\.old-\d{8}-\d{6})`, r.err)
	if _, err := os.Stat(filepath.Join(aside, "bobs.yaml")); err != nil {
		t.Errorf("the old clone was not kept at %s: %v", aside, err)
	}
	if out := bob.mustRun("list", "team/").out; !strings.Contains(out, "other-only") || strings.Contains(out, "bobs") {
		t.Errorf("bob's team library after the re-add:\n%s", out)
	}
}
