package kube

import (
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// shellExec runs commands in a local shell with env: a container whose
// image has a shell and no printenv.
type shellExec struct{ env []string }

func (s shellExec) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := exec.CommandContext(ctx, "/bin/sh", cmd[1:]...)
	c.Env, c.Stdin, c.Stdout, c.Stderr = s.env, stdin, stdout, stderr
	return c.Run()
}

// The values are read with the shell's builtins, newlines and all; a
// missing or empty one is no value to hide; the count is checked.
func TestContainerEnvWithShellBuiltins(t *testing.T) {
	ex := shellExec{env: []string{"PATH=/nonexistent", "A=one", "B=two\nlines\n", "C="}}
	got, err := containerEnv(context.Background(), ex, []string{"A", "B", "C", "MISSING"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "one|two\nlines\n" {
		t.Errorf("values %q", got)
	}
	if _, err := containerEnv(context.Background(), ex, []string{"A", "$(touch x)"}); err == nil {
		t.Error("a name that is not a variable name was read")
	}
	short := shellExec{env: []string{"A=one"}}
	if _, err := containerEnv(context.Background(), fewer{short}, []string{"A", "B"}); err == nil || !strings.Contains(err.Error(), "got 1 values for 2 names") {
		t.Errorf("a short answer: %v, want the count checked", err)
	}
}

// fewer answers for all but the last name, like a broken image.
type fewer struct{ shellExec }

func (f fewer) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return f.shellExec.Exec(ctx, cmd[:len(cmd)-1], stdin, stdout, stderr)
}
