package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cscript-dev/cscript/internal/gitserver"
)

// A library cloned from a git server may not act on this machine until the
// user trusts it: its fromCommand does not run, its fromFile and fromEnv are
// not read, its local paths cannot leave the working directory; once trusted
// it works, and a change after a sync is asked about again.
func TestSharedLibraryNeedsTrust(t *testing.T) {
	srv := gitserver.Start(t)
	url := srv.NewRepo(t, "team")

	alice := newEnv(t)
	seed := filepath.Join(alice.root, "seed")
	alice.mustRun("init", seed, "--name", "seed")
	marker := filepath.Join(t.TempDir(), "ran")
	files := map[string]string{
		"decks/dock.yaml": "backend: docker\n",
		"creds.yaml": "name: creds\nimage: shell\ninterpreter: sh\ncredentials:\n" +
			"  - {name: A, fromCommand: \"touch " + marker + "; echo tok-a\"}\n" +
			"  - {name: B, fromEnv: HOME}\n" +
			"script: echo hi\n",
		"escape.yaml": "name: escape\nimage: shell\ninterpreter: sh\nparams:\n  - {name: out, default: ../../.bashrc}\n" +
			"files:\n  download:\n    - {from: /work/x, to: \"{{ .Params.out }}\"}\nscript: echo x > /work/x\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(seed, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitserver.Git(t, seed, "add", "-A")
	gitserver.Git(t, seed, "commit", "-qm", "scripts that act locally")
	gitserver.Git(t, seed, "push", "--quiet", url, "main:main")

	bob := newEnv(t)
	if r := bob.mustRun("library", "add", "team", url); !strings.Contains(r.err, "is not authenticated") {
		t.Errorf("a git:// remote without a warning: %q", r.err)
	}

	r := bob.run("", "run", "team/creds", "--deck", "dock", "--yes")
	if r.code != ExitRunFailed || !strings.Contains(r.err, "library team asks to act on this machine") ||
		!strings.Contains(r.err, "credentials.A.fromCommand") || !strings.Contains(r.err, "credentials.B.fromEnv") ||
		!strings.Contains(r.err, "cscript library trust team") {
		t.Fatalf("untrusted fromCommand: exit %d\n%s", r.code, r.err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the untrusted library's fromCommand ran on this machine")
	}

	if r := bob.mustRun("library", "trust", "team", "--dry-run"); !strings.Contains(r.out, "fromCommand") {
		t.Errorf("trust --dry-run does not list the command:\n%s", r.out)
	}
	if r := bob.run("", "run", "team/creds", "--deck", "dock", "--yes"); r.code != ExitRunFailed {
		t.Fatalf("--dry-run trusted the library: exit %d\n%s", r.code, r.err)
	}
	bob.mustRun("library", "trust", "team")
	r = bob.run("", "run", "team/creds", "--deck", "dock", "--yes")
	if strings.Contains(r.err, "asks to act on this machine") {
		t.Fatalf("a trusted library is still refused:\n%s", r.err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the trusted library's fromCommand did not run (exit %d):\n%s", r.code, r.err)
	}

	// Trusted, but its own local path may not leave the working directory;
	// the same path given on the command line may.
	r = bob.run("", "run", "team/escape", "--deck", "dock", "--yes")
	if r.code != ExitRunFailed || !strings.Contains(r.err, `files.download.to of script escape "../../.bashrc" climbs out of the working directory`) {
		t.Fatalf("a library's escaping download path: exit %d\n%s", r.code, r.err)
	}
	r = bob.run("", "run", "team/escape", "--deck", "dock", "--yes", "--set", "out=../../.bashrc")
	if strings.Contains(r.err, "climbs out") {
		t.Errorf("the user's own path was refused:\n%s", r.err)
	}

	// A change after a sync is asked about again.
	if err := os.WriteFile(filepath.Join(seed, "creds.yaml"), []byte(strings.Replace(files["creds.yaml"], "echo tok-a", "echo tok-b", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	gitserver.Git(t, seed, "commit", "-qam", "another command")
	gitserver.Git(t, seed, "push", "--quiet", url, "main:main")
	bob.mustRun("sync", "team")
	os.Remove(marker)
	r = bob.run("", "run", "team/creds", "--deck", "dock", "--yes")
	if r.code != ExitRunFailed || !strings.Contains(r.err, "tok-b") || strings.Contains(r.err, "fromEnv") {
		t.Fatalf("a changed command after sync: exit %d (want only the changed field refused)\n%s", r.code, r.err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the changed command ran before it was trusted")
	}

	// The user's own library (no remote) needs no consent.
	alice.mustRun("library", "add", "own", seed)
}
