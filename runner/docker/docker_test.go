package docker

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/transfer"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name       string
		spec       Spec
		wantCmd    []string
		wantDir    string
		wantMemory int64
		wantEnv    []string
		wantLabels map[string]string
	}{
		{
			name:       "defaults",
			spec:       Spec{Script: "hello", RunID: "r1", Image: "busybox", Interpreter: "sh", Env: map[string]string{"B": "2", "A": "1=x"}},
			wantCmd:    runner.InterpreterCommand("sh", "/work/.cscript/script"),
			wantDir:    "/work",
			wantMemory: 512 << 20,
			wantEnv:    []string{"A=1=x", "B=2"},
			wantLabels: map[string]string{LabelManagedBy: ManagedByValue, LabelRunID: "r1", LabelScript: "hello"},
		},
		{
			name:       "python, own dir and memory, extra labels",
			spec:       Spec{Script: "p", Image: "python", Interpreter: "python", WorkDir: "/srv/job/", Memory: 64 << 20, Labels: map[string]string{"x": "y", LabelManagedBy: "someone"}},
			wantCmd:    runner.InterpreterCommand("python", "/srv/job/.cscript/script"),
			wantDir:    "/srv/job",
			wantMemory: 64 << 20,
			wantEnv:    []string{},
			wantLabels: map[string]string{LabelManagedBy: ManagedByValue, LabelScript: "p", "x": "y"},
		},
		{
			name:       "no memory limit",
			spec:       Spec{Image: "debian", Interpreter: "bash", Memory: -1},
			wantCmd:    runner.InterpreterCommand("bash", "/work/.cscript/script"),
			wantDir:    "/work",
			wantEnv:    []string{},
			wantLabels: map[string]string{LabelManagedBy: ManagedByValue},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, host := Config(tt.spec)
			if diff := cmp.Diff(tt.wantCmd, []string(cfg.Cmd)); diff != "" {
				t.Errorf("cmd (-want +got):\n%s", diff)
			}
			if len(cfg.Entrypoint) != 0 || cfg.Entrypoint == nil {
				t.Errorf("entrypoint %#v, want an empty non-nil list (reset the image's)", cfg.Entrypoint)
			}
			if cfg.WorkingDir != tt.wantDir {
				t.Errorf("working dir %q, want %q", cfg.WorkingDir, tt.wantDir)
			}
			if host.Memory != tt.wantMemory || host.MemorySwap != tt.wantMemory {
				t.Errorf("memory %d swap %d, want %d", host.Memory, host.MemorySwap, tt.wantMemory)
			}
			if diff := cmp.Diff(tt.wantEnv, cfg.Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLabels, cfg.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"ok", Spec{Image: "i", Interpreter: "sh"}, ""},
		{"no image", Spec{Interpreter: "sh"}, "has no image"},
		{"interpreter", Spec{Image: "i", Interpreter: "ruby"}, "unknown interpreter"},
		{"relative work dir", Spec{Image: "i", Interpreter: "sh", WorkDir: "work"}, "not absolute"},
		{"env name", Spec{Image: "i", Interpreter: "sh", Env: map[string]string{"A=B": "x"}}, "not a valid env var name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validate(tt.spec)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("validate: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestContainerName(t *testing.T) {
	for script, prefix := range map[string]string{
		"db-restore":            "cscript-db-restore-",
		"Weird Name/ÜBER":       "cscript-weird-name-ber-",
		"":                      "cscript-",
		strings.Repeat("a", 80): "cscript-" + strings.Repeat("a", 40) + "-",
	} {
		got := containerName(script)
		if !strings.HasPrefix(got, prefix) || len(got) != len(prefix)+6 {
			t.Errorf("containerName(%q) = %q, want %q and 6 characters", script, got, prefix)
		}
	}
}

// TestWriteTarRoundTrip sends a tree through the upload archive writer and
// the transfer package's extractor: what arrives equals what was sent, and
// the modes let a non-root user read it.
func TestWriteTarRoundTrip(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{"a.txt": "alpha\n", "sub/b.bin": strings.Repeat("b", 100000), "sub/deeper/c": ""}
	for name, body := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.txt", filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(src)
	var buf bytes.Buffer
	res := &transfer.Result{}
	if err := writeTar(&buf, src, fi, "work/in", res); err != nil {
		t.Fatal(err)
	}
	if res.Files != 3 || res.Bytes != 100006 {
		t.Errorf("result %+v, want 3 files of 100006 bytes", res)
	}
	// Every entry is under the destination, with readable modes.
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hdr.Name, "work/in") {
			t.Errorf("entry %q outside work/in", hdr.Name)
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Mode&0o444 != 0o444 {
			t.Errorf("%s has mode %o: not readable by others", hdr.Name, hdr.Mode)
		}
	}
	dst := t.TempDir()
	// The archive API puts entries relative to "/"; here relative to dst.
	if _, err := transfer.Extract(bytes.NewReader(buf.Bytes()), transfer.LocalPath(dst), transfer.ExtractOptions{Prefix: "work"}); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		got, err := os.ReadFile(filepath.Join(dst, "work", "in", filepath.FromSlash(name)))
		if err != nil || string(got) != body {
			t.Errorf("%s: %d bytes, %v", name, len(got), err)
		}
	}
	if target, err := os.Readlink(filepath.Join(dst, "work", "in", "link")); err != nil || target != "a.txt" {
		t.Errorf("link: %q %v", target, err)
	}

	// A single file: its sha256 is reported.
	one := filepath.Join(src, "a.txt")
	fi, _ = os.Stat(one)
	res = &transfer.Result{}
	buf.Reset()
	if err := writeTar(&buf, one, fi, "work/a.txt", res); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("alpha\n"))
	if res.Files != 1 || res.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("single file result %+v", res)
	}
}

func TestExitCodeOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{&runner.ScriptError{Code: 3}, 3},
		{&runner.MissingToolError{Tool: "bash"}, 127},
		{&runner.RunError{Op: "x", Err: errors.New("y")}, 125},
		{errors.New("plain"), 125},
	}
	for _, tt := range tests {
		if got := runner.ExitCodeOf(tt.err); got != tt.want {
			t.Errorf("runner.ExitCodeOf(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// The container is hardened like the Pod, and -i opens its stdin.
func TestConfigHardeningAndStdin(t *testing.T) {
	cfg, host := Config(Spec{Image: "busybox", Interpreter: "sh"})
	if diff := cmp.Diff([]string{"ALL"}, host.CapDrop); diff != "" {
		t.Errorf("capabilities dropped (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"no-new-privileges"}, host.SecurityOpt); diff != "" {
		t.Errorf("security options (-want +got):\n%s", diff)
	}
	if cfg.OpenStdin || cfg.AttachStdin {
		t.Errorf("stdin open without Spec.Stdin")
	}
	cfg, _ = Config(Spec{Image: "busybox", Interpreter: "sh", Stdin: strings.NewReader("x"), SecretEnv: []string{"B", "A"}})
	if !cfg.OpenStdin || !cfg.AttachStdin || !cfg.StdinOnce {
		t.Errorf("stdin: open %v attach %v once %v, want all", cfg.OpenStdin, cfg.AttachStdin, cfg.StdinOnce)
	}
	if got := cfg.Labels[LabelSecretEnv]; got != "A,B" {
		t.Errorf("secret env label %q", got)
	}
}

// A Docker run has the defaults of every backend: the run core's timeout,
// and the script's memory limit or none (as a Pod without one).
func TestOneDefaultTimeoutAndMemoryOnEveryBackend(t *testing.T) {
	spec := runner.Spec{Script: "s", Image: "busybox", Interpreter: "sh"}
	ds, err := SpecOf(spec, runner.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.timeout() != runner.DefaultTimeout || ds.memory() != 0 {
		t.Errorf("defaults: timeout %s memory %d, want %s and no limit", ds.timeout(), ds.memory(), runner.DefaultTimeout)
	}
	spec.Timeout = 90 * time.Second
	spec.Resources.Limits = map[string]string{"memory": "64Mi"}
	if ds, err = SpecOf(spec, runner.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if ds.timeout() != 90*time.Second || ds.memory() != 64<<20 {
		t.Errorf("script's own: timeout %s memory %d", ds.timeout(), ds.memory())
	}
	spec.Credentials = []runner.Credential{{Name: "PW", SecretRef: &runner.SecretKeyRef{Name: "db", Key: "pw"}}}
	if _, err := SpecOf(spec, runner.RunOptions{}); err == nil || !strings.Contains(err.Error(), "local source") {
		t.Errorf("a Secret ref on Docker: %v", err)
	}
}

func TestSecretValues(t *testing.T) {
	got := secretValues([]string{"A=1", "B=two=2", "C=3", "D="}, "B,D,Z")
	if diff := cmp.Diff([]string{"two=2"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
