package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// module writes a module of the given files into a temporary directory.
func module(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module example.test/m\n\ngo 1.22\n"
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The break #11 found: syscall.Flock and Setpgid exist on linux and not on windows. A test
// file's break counts too, and a symbol that a build constraint leaves undefined.
func TestCheckFindsWhatBreaksOnePlatform(t *testing.T) {
	dir := module(t, map[string]string{
		"lock.go": `package m

import "syscall"

func Lock(fd int) error { return syscall.Flock(fd, syscall.LOCK_EX) }
`,
		"group/group.go": `package group

func Group() int { return pgid() }
`,
		"group/pgid_unix.go": `//go:build unix

package group

import "syscall"

func pgid() int { return syscall.Getpgrp() }
`,
		"group/group_test.go": `package group

import (
	"syscall"
	"testing"
)

func TestKill(t *testing.T) { _ = syscall.Kill(0, syscall.SIGTERM) }
`,
	})
	for _, target := range []Target{{"linux", "amd64"}, {"darwin", "arm64"}} {
		result, err := Check(dir, target, []string{"./..."})
		if err != nil {
			t.Fatal(err)
		}
		if len(result.Errors) != 0 {
			t.Errorf("%s: want no errors, got %q", target, result.Errors)
		}
		// m, group, group's test variant, and the standard library beneath them.
		if result.Roots != 3 || result.Packages < 10 {
			t.Errorf("%s: checked %d packages, %d of them the module's; want 3 of the module's among many", target, result.Packages, result.Roots)
		}
	}
	result, err := Check(dir, Target{"windows", "amd64"}, []string{"./..."})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "group", "group.go") + ":3:27: undefined: pgid",
		filepath.Join(dir, "group", "group_test.go") + ":8:43: undefined: syscall.Kill",
		filepath.Join(dir, "lock.go") + ":5:42: undefined: syscall.Flock",
	}
	if len(result.Errors) != len(want)+1 { // and syscall.LOCK_EX
		t.Errorf("windows/amd64: want %d errors, each once, got %d:\n%s", len(want)+1, len(result.Errors), strings.Join(result.Errors, "\n"))
	}
	for _, w := range want {
		found := false
		for _, e := range result.Errors {
			found = found || e == w
		}
		if !found {
			t.Errorf("windows/amd64: missing %q in\n%s", w, strings.Join(result.Errors, "\n"))
		}
	}
}

func TestRun(t *testing.T) {
	dir := module(t, map[string]string{
		"a.go": "package m\n\nimport \"syscall\"\n\nvar _ = syscall.Flock\n",
	})
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"-C", dir, "-target", "linux/arm64"}, 0, "crosscheck linux/arm64: "},
		{[]string{"-C", dir, "-target", "linux/amd64", "-target", "windows/arm64"}, 1, "undefined: syscall.Flock"},
		{[]string{"-C", dir}, 2, "no -target given"},
		{[]string{"-C", dir, "-target", "windows"}, 2, `"windows" is not a platform: write goos/goarch`},
		{[]string{"-C", dir, "-target", "plan10/amd64"}, 1, "crosscheck plan10/amd64: go does not build for plan10/amd64 (go tool dist list names the platforms it does)"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stdout.String()+stderr.String(), c.out) {
			t.Errorf("crosscheck %q: exit %d, output %q; want exit %d and %q", c.args, code, stdout.String()+stderr.String(), c.code, c.out)
		}
	}
}
