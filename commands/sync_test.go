package commands

import (
	"os"
	"path/filepath"
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

	// Both commit: Bob's sync diverges, keeps his work on a branch, exits 5 and says how to get it back.
	alice.mustRun("new", "alice-only", "-l", "team")
	alice.mustRun("sync")
	bob.mustRun("new", "bob-only", "-l", "team")
	r := bob.run("", "sync")
	if r.code != ExitConflict || !strings.Contains(r.out, "cscript/local-") {
		t.Fatalf("diverged sync: exit %d\nstdout %q\nstderr %q", r.code, r.out, r.err)
	}
	if out := bob.mustRun("list").out; !strings.Contains(out, "alice-only") || strings.Contains(out, "bob-only") {
		t.Errorf("after divergence bob should be on the remote head:\n%s", out)
	}
	branches := gitserver.Git(t, bobLib, "branch", "--list", "cscript/local-*")
	saved := strings.TrimSpace(strings.TrimPrefix(branches, "*"))
	if saved == "" {
		t.Fatalf("no saved branch in %s", bobLib)
	}
	if files := gitserver.Git(t, bobLib, "ls-tree", "--name-only", saved); !strings.Contains(files, "bob-only.yaml") {
		t.Errorf("bob's commit is not on %s: %s", saved, files)
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
