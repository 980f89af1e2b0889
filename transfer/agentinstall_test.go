package transfer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// noMktempImage has what the agent's install needs but mktemp: the install
// makes its private directory with mkdir under a random name instead.
func noMktempImage(t testing.TB) localExec {
	return toolImage(t, coreTools("tar", "chmod", "uname", "rm", "ls"))
}

// The image (or anything that ran in the container before) may have put a
// symlink where an earlier cscript put the agent, /tmp/.cscript-agent-HASH:
// the install must neither follow it (overwriting the file it points to)
// nor use what is there. It goes into a new directory of its own.
func TestAgentInstallIgnoresPlantedSymlink(t *testing.T) {
	for _, img := range []imageCase{{"busybox", busyboxImage}, {"gnu", gnuImage}, {"no mktemp", noMktempImage}} {
		t.Run(img.name, func(t *testing.T) {
			ex := &countingExec{inner: img.ex(t)}
			opts := agentOpts(t, probed(t, ex))
			dir := opts.agentDirs[0]
			victim := filepath.Join(t.TempDir(), "victim")
			writeFile(t, victim, []byte("precious"), 0o644)
			planted := filepath.Join(dir, identify(agentBinary(t)).file)
			if err := os.Symlink(victim, planted); err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			data := randomBytes(100_000, 3)
			src := filepath.Join(tmp, "f.bin")
			writeFile(t, src, data, 0o644)
			res, err := Upload(context.Background(), ex, LocalPath(src), RemotePath(filepath.Join(tmp, "c", "f.bin")), opts)
			if err != nil || !res.Agent {
				t.Fatalf("Upload = %+v, %v; want it done by the agent", res, err)
			}
			if got, err := os.ReadFile(victim); err != nil || string(got) != "precious" {
				t.Errorf("the file the planted symlink points to: %q, %v", got, err)
			}
			if l, err := os.Readlink(planted); err != nil || l != victim {
				t.Errorf("the planted symlink: %q, %v", l, err)
			}
			st := opts.Tools.agent
			private := filepath.Dir(st.path)
			if st.path == planted || filepath.Dir(private) != dir || private != st.dir {
				t.Errorf("agent at %q (directory %q); want it in a new directory in %s", st.path, st.dir, dir)
			}
			if fi, err := os.Lstat(private); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
				t.Errorf("the agent's directory: %v, %v; want a directory of mode 0700", fi.Mode(), err)
			}
		})
	}
}

// The agent is checked before each use (its directory is still private and
// its sha256 what cscript installed): one that changed since is installed
// again, and the transfer is done by the new one.
func TestAgentTamperedIsReinstalled(t *testing.T) {
	cases := []struct {
		name string
		// needsSHA: only an image with sha256sum catches it; without, the
		// check asks the agent itself, and a fake can lie (its directory
		// being private is then the protection).
		needsSHA bool
		tamper   func(t *testing.T, st *agentState, sum string)
	}{
		{"replaced by one that lies about its sum", true, func(t *testing.T, st *agentState, sum string) {
			if err := os.Chmod(st.path, 0o700); err != nil {
				t.Fatal(err)
			}
			fake := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = sum ]; then echo '%s'; exit 0; fi\necho forged >&2\nexit 1\n", sum)
			writeFile(t, st.path, []byte(fake), 0o700)
		}},
		{"one byte changed", false, func(t *testing.T, st *agentState, _ string) {
			b, err := os.ReadFile(st.path)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 1
			if err := os.Chmod(st.path, 0o700); err != nil {
				t.Fatal(err)
			}
			writeFile(t, st.path, b, 0o700)
		}},
		{"directory opened to others", false, func(t *testing.T, st *agentState, _ string) {
			if err := os.Chmod(st.dir, 0o777); err != nil {
				t.Fatal(err)
			}
		}},
		{"removed", false, func(t *testing.T, st *agentState, _ string) {
			if err := os.RemoveAll(st.dir); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, img := range []imageCase{{"busybox", busyboxImage}, {"no sha256sum", noSHAAgentImage}} {
		for _, tt := range cases {
			if tt.needsSHA && img.name == "no sha256sum" {
				continue
			}
			t.Run(img.name+"/"+tt.name, func(t *testing.T) {
				ex := &countingExec{inner: img.ex(t)}
				opts := agentOpts(t, probed(t, ex))
				tmp := t.TempDir()
				data := randomBytes(300_000, 5)
				src := filepath.Join(tmp, "f.bin")
				writeFile(t, src, data, 0o644)
				remote := filepath.Join(tmp, "c", "f.bin")
				if res, err := Upload(context.Background(), ex, LocalPath(src), RemotePath(remote), opts); err != nil || !res.Agent {
					t.Fatalf("Upload = %+v, %v; want it done by the agent", res, err)
				}
				st := opts.Tools.agent
				first := st.path
				tt.tamper(t, st, identify(agentBinary(t)).sum)
				back := filepath.Join(tmp, "back.bin")
				res, err := Download(context.Background(), ex, RemotePath(remote), LocalPath(back), opts)
				if err != nil {
					t.Fatalf("Download after the agent changed: %v", err)
				}
				got, _ := os.ReadFile(back)
				if !res.Agent || !bytes.Equal(got, data) || ex.installs != 2 || st.path == first || st.path == "" {
					t.Errorf("Download = %+v (%d bytes), %d installs, agent now at %q (was %q); want it installed again and used",
						res, len(got), ex.installs, st.path, first)
				}
			})
		}
	}
}

// noSHAAgentImage is busybox without sha256sum.
func noSHAAgentImage(t testing.TB) localExec {
	ex := busyboxImage(t)
	if err := os.Remove(filepath.Join(ex.path, "sha256sum")); err != nil {
		t.Fatal(err)
	}
	return ex
}

// A first directory that does not let the agent run (mounted noexec; here a
// chmod that will not make it executable there) keeps it as the source of
// a copy into the next directory, and is removed once that copy runs.
func TestAgentCopiedOnWhenTheFirstDirectoryDoesNotLetItRun(t *testing.T) {
	// dash, which runs chmod from PATH (busybox's sh runs its own).
	img := toolImage(t, coreTools("tar", "uname", "rm", "ls", "mktemp"))
	ex := &countingExec{inner: img}
	noexec, other := t.TempDir(), t.TempDir()
	real, err := exec.LookPath("chmod")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(img.path, "chmod"), []byte("#!/bin/sh\ncase $2 in "+noexec+"/*) exec "+real+" 600 \"$2\" ;; esac\nexec "+real+" \"$@\"\n"), 0o755)
	opts := agentOpts(t, probed(t, ex))
	opts.agentDirs = []string{noexec, other}
	st := opts.Tools.agent
	if useAgent(context.Background(), ex, opts.Tools, opts, true) == nil {
		t.Fatalf("the agent did not install: %v", st.err)
	}
	if filepath.Dir(st.dir) != other {
		t.Errorf("agent in %q, want a directory in %s", st.dir, other)
	}
	if left := listAll(t, noexec); len(left) != 0 {
		t.Errorf("left in the first directory: %q", left)
	}
}
