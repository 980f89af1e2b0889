package transfer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
)

// Tools says which commands the image has. Probe fills it in.
type Tools struct {
	Sh, Tar, SHA256Sum, Gzip, Cat, Wc, Tee, Mkdir bool
	// DevFD says whether /dev/fd exists (needed to count upload bytes with
	// tee).
	DevFD bool
	// Arch is the container's machine as a GOARCH name ("amd64", "arm64"),
	// from uname -m; "" when unknown. It selects the agent's binary.
	Arch string

	// agent remembers the agent installed in this container (or that
	// installing it failed), so that a run installs it at most once.
	agent *agentState
}

// Missing lists what a transfer of a file (dir=false) or a directory lacks:
// sh, wc and tar, or (for a file) cat in place of tar. Empty means it can
// go ahead.
func (t *Tools) Missing(dir bool) []string {
	var m []string
	if !t.Sh {
		return []string{"sh"}
	}
	if !t.Wc {
		m = append(m, "wc")
	}
	switch {
	case t.Tar:
	case dir:
		m = append(m, "tar")
	case !t.Cat:
		m = append(m, "tar", "cat")
	}
	return m
}

// Probe runs one small sh script in the container and reports which of the
// tools transfers use exist. Callers probe once per container and pass the
// result in Options.Tools. Without sh it returns a *MissingToolError naming
// sh (wrapping the exec's error).
func Probe(ctx context.Context, ex Executor) (*Tools, error) {
	var stdout bytes.Buffer
	stderr := newTail(4096)
	err := ex.Exec(ctx, []string{"sh", "-c", probeScript}, nil, &limitWriter{w: &stdout, n: 64 << 10}, stderr)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("probe: %w", ctx.Err())
	}
	t := &Tools{}
	sc := bufio.NewScanner(&stdout)
	ended := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "end":
			ended = true
		case line == "devfd":
			t.DevFD = true
		case strings.HasPrefix(line, "arch "):
			t.Arch = goarch(strings.TrimPrefix(line, "arch "))
		case strings.HasPrefix(line, "tool "):
			switch strings.TrimPrefix(line, "tool ") {
			case "tar":
				t.Tar = true
			case "sha256sum":
				t.SHA256Sum = true
			case "gzip":
				t.Gzip = true
			case "cat":
				t.Cat = true
			case "wc":
				t.Wc = true
			case "tee":
				t.Tee = true
			case "mkdir":
				t.Mkdir = true
			}
		}
	}
	if !ended {
		if err == nil {
			err = fmt.Errorf("no output from the probe script")
		}
		if !commandNotFound(err, stderr.String()) {
			// The exec itself failed (the connection broke, the container
			// went away): that says nothing about the image.
			return nil, &RemoteError{Step: "probe", Stderr: stderr.String(), Err: err}
		}
		if s := strings.TrimSpace(stderr.String()); s != "" {
			err = fmt.Errorf("%w: %s", err, s)
		}
		return nil, &MissingToolError{Missing: []string{"sh"}, Err: err}
	}
	t.Sh = true
	t.agent = &agentState{}
	return t, nil
}

func toolsFor(ctx context.Context, ex Executor, opts Options) (*Tools, error) {
	if opts.Tools != nil {
		return opts.Tools, nil
	}
	return Probe(ctx, ex)
}

// commandNotFound says whether an exec failed because its command is not in
// the image: runc's `exec: "sh": executable file not found in $PATH`, or a
// shell's status 127.
func commandNotFound(err error, stderr string) bool {
	s := err.Error() + " " + stderr
	if strings.Contains(s, "executable file not found") || strings.Contains(s, "no such file or directory") {
		return true
	}
	var st interface{ ExitStatus() int }
	return errors.As(err, &st) && st.ExitStatus() == 127
}

// goarch maps `uname -m` to the GOARCH of the agent binaries cscript carries.
func goarch(machine string) string {
	switch strings.TrimSpace(machine) {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64", "armv8l":
		return "arm64"
	}
	return ""
}
