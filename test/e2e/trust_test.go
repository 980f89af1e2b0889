//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/commands"
	"github.com/cscript-dev/cscript/internal/gitserver"
	"github.com/cscript-dev/cscript/test/cluster"
)

// TestSharedLibraryTrustKubernetes: a library cloned from the test git
// server, with a Kubernetes deck, tries each local side effect — a
// credential from a local command, file and environment variable, an upload
// from a local path, a download to a local path, and paths that leave the
// working directory. Each is refused with a message naming the field, the
// value and `cscript library trust team`, and nothing happens on this
// machine; once trusted, each runs in a Pod of the cluster; a library's
// path that leaves the working directory stays refused (the same path from
// the user's command line is taken); a field changed by the maintainer is
// refused again after the sync, alone.
func TestSharedLibraryTrustKubernetes(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "trust")
	srv := gitserver.Start(t)
	url := srv.NewRepo(t, "team")

	bob := newCLIHome(t, ns)
	marker := filepath.Join(bob.root, "command-ran")
	credFile := filepath.Join(bob.root, "cred-file")
	fileValue, envValue := randomToken(t, 16), randomToken(t, 16)
	if err := os.WriteFile(credFile, []byte(fileValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bob.setenv("TRUST_E2E_ENV", envValue)
	inside := "upload-in.txt"
	if err := os.WriteFile(filepath.Join(bob.dir, inside), []byte("uploaded from the working directory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(bob.root, "outside.txt") // bob.dir/../outside.txt
	if err := os.WriteFile(outside, []byte("a file outside the working directory\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	seed := t.TempDir()
	files := map[string]string{
		"decks/kube.yaml": "description: the cluster\nnamespace: " + ns + "\n",
		"creds.yaml": "name: creds\nimage: shell\ninterpreter: sh\ncredentials:\n" +
			"  - {name: CMD, fromCommand: \"touch " + marker + "; echo tok-a\"}\n" +
			"  - {name: FILE, fromFile: " + credFile + "}\n" +
			"  - {name: ENVV, fromEnv: TRUST_E2E_ENV}\n" +
			"script: |\n  for v in \"$CMD\" \"$FILE\" \"$ENVV\"; do printf '%s' \"$v\" | sha256sum; done\n",
		"upload.yaml": "name: upload\nimage: shell\ninterpreter: sh\nparams:\n  - {name: in, default: " + inside + "}\n" +
			"files:\n  upload:\n    - {from: \"{{ .Params.in }}\", to: /work/in.txt}\nscript: cat /work/in.txt\n",
		"download.yaml": "name: download\nimage: shell\ninterpreter: sh\nparams:\n  - {name: out, default: got.txt}\n" +
			"files:\n  download:\n    - {from: /work/out.txt, to: \"{{ .Params.out }}\"}\nscript: echo from-the-pod > /work/out.txt\n",
		"upload-out.yaml": "name: upload-out\nimage: shell\ninterpreter: sh\nparams:\n  - {name: in, default: ../outside.txt}\n" +
			"files:\n  upload:\n    - {from: \"{{ .Params.in }}\", to: /work/in.txt}\nscript: cat /work/in.txt\n",
		"download-out.yaml": "name: download-out\nimage: shell\ninterpreter: sh\nparams:\n  - {name: out, default: ../escaped.txt}\n" +
			"files:\n  download:\n    - {from: /work/out.txt, to: \"{{ .Params.out }}\"}\nscript: echo from-the-pod > /work/out.txt\n",
	}
	for name, body := range files {
		p := filepath.Join(seed, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) {
		gitserver.Git(t, seed, append([]string{"-c", "user.name=Maintainer", "-c", "user.email=m@example.com"}, args...)...)
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-qm", "scripts that act locally")
	git("push", "--quiet", url, "main:main")

	if r := bob.must("library", "add", "team", url); !strings.Contains(r.Stderr, "is not authenticated") {
		t.Errorf("a git:// remote without a warning: %q", r.Stderr)
	}

	refused := func(r cliResult, what string, want ...string) {
		t.Helper()
		if r.Code != commands.ExitRunFailed {
			t.Errorf("%s: exit %d, want %d (refused)\nstdout: %s\nstderr: %s", what, r.Code, commands.ExitRunFailed, r.Stdout, r.Stderr)
			return
		}
		for _, w := range want {
			if !strings.Contains(r.Stderr, w) {
				t.Errorf("%s: the message lacks %q:\n%s", what, w, r.Stderr)
			}
		}
	}
	notTrusted := []string{"library team asks to act on this machine", "cscript library trust team"}

	// Untrusted: every local side effect is refused, and none happens.
	refused(bob.run("run", "team/creds", "--deck", "kube", "--yes"), "untrusted credentials", append(notTrusted,
		"credentials.CMD.fromCommand", "credentials.FILE.fromFile", credFile, "credentials.ENVV.fromEnv", "TRUST_E2E_ENV")...)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the untrusted library's fromCommand ran on this machine")
	}
	refused(bob.run("run", "team/upload", "--deck", "kube", "--yes"), "untrusted upload",
		append(notTrusted, `files.upload.from "{{ .Params.in }}"`)...)
	refused(bob.run("run", "team/download", "--deck", "kube", "--yes"), "untrusted download",
		append(notTrusted, `files.download.to "{{ .Params.out }}"`)...)
	if _, err := os.Stat(filepath.Join(bob.dir, "got.txt")); err == nil {
		t.Fatal("the untrusted library's download wrote a local file")
	}
	// --dry-run lists, trusts nothing.
	if r := bob.must("library", "trust", "team", "--dry-run"); !strings.Contains(r.Stdout, "fromCommand") || !strings.Contains(r.Stdout, "files.download.to") {
		t.Errorf("trust --dry-run does not list the requests:\n%s", r.Stdout)
	}
	refused(bob.run("run", "team/creds", "--deck", "kube", "--yes"), "after trust --dry-run", notTrusted...)

	// Trusted: each works, in a Pod of the cluster.
	if r := bob.must("library", "trust", "team"); !strings.Contains(r.Stdout, "trusted: 7 requests of library team") {
		t.Errorf("library trust:\n%s", r.Stdout)
	}
	r := bob.must("run", "team/creds", "--deck", "kube", "--yes")
	for name, v := range map[string]string{"fromCommand": "tok-a", "fromFile": fileValue, "fromEnv": envValue} {
		sum := sha256.Sum256([]byte(v))
		if !strings.Contains(r.Stdout, hex.EncodeToString(sum[:])) {
			t.Errorf("the Pod did not get the %s credential:\n%s", name, r.Stdout)
		}
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the trusted library's fromCommand did not run: %v", err)
	}
	if r := bob.must("run", "team/upload", "--deck", "kube", "--yes"); !strings.Contains(r.Stdout, "uploaded from the working directory") {
		t.Errorf("trusted upload:\n%s", r.Stdout)
	}
	bob.must("run", "team/download", "--deck", "kube", "--yes")
	if b, err := os.ReadFile(filepath.Join(bob.dir, "got.txt")); err != nil || string(b) != "from-the-pod\n" {
		t.Errorf("trusted download: %q, %v", b, err)
	}

	// Trusted, a library's own path may still not leave the working
	// directory; the same path from the user's command line may.
	refused(bob.run("run", "team/upload-out", "--deck", "kube", "--yes"), "a library's upload from outside",
		`files.upload.from of script upload-out "../outside.txt" climbs out of the working directory`, "--set")
	if r := bob.must("run", "team/upload-out", "--deck", "kube", "--yes", "--set", "in=../outside.txt"); !strings.Contains(r.Stdout, "a file outside the working directory") {
		t.Errorf("the user's own upload path:\n%s", r.Stdout)
	}
	escaped := filepath.Join(bob.root, "escaped.txt")
	refused(bob.run("run", "team/download-out", "--deck", "kube", "--yes"), "a library's download climbing out",
		`files.download.to of script download-out "../escaped.txt" climbs out of the working directory`)
	if _, err := os.Stat(escaped); err == nil {
		t.Fatal("the library's download climbed out of the working directory")
	}
	bob.must("run", "team/download-out", "--deck", "kube", "--yes", "--set", "out=../escaped.txt")
	if b, err := os.ReadFile(escaped); err != nil || string(b) != "from-the-pod\n" {
		t.Errorf("the user's own download path: %q, %v", b, err)
	}

	// The maintainer changes the command: after a sync, that field alone is
	// asked about again, and the new command does not run.
	files["creds.yaml"] = strings.Replace(files["creds.yaml"], "echo tok-a", "echo tok-b", 1)
	if err := os.WriteFile(filepath.Join(seed, "creds.yaml"), []byte(files["creds.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	git("commit", "-qam", "another command")
	git("push", "--quiet", url, "main:main")
	bob.must("sync", "team")
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	r = bob.run("run", "team/creds", "--deck", "kube", "--yes")
	refused(r, "a command changed after the sync", append(notTrusted, "credentials.CMD.fromCommand", "echo tok-b")...)
	if strings.Contains(r.Stderr, "fromFile") || strings.Contains(r.Stderr, "fromEnv") {
		t.Errorf("fields that did not change are asked about again:\n%s", r.Stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the changed command ran before it was trusted")
	}
	bob.must("library", "trust", "team")
	bob.must("run", "team/creds", "--deck", "kube", "--yes")
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the changed command, trusted, did not run: %v", err)
	}
	assertNamespaceClean(t, cs, ns, time.Minute)
}
