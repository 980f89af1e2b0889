package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
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
// result in Options.Tools (or pass a zero Tools, which the first transfer
// fills in). Without sh it returns a *MissingToolError naming sh (wrapping
// the exec's error).
func Probe(ctx context.Context, ex Executor) (*Tools, error) {
	t := &Tools{}
	if err := probeInto(ctx, ex, t, agentGuess{}); err != nil {
		return nil, err
	}
	return t, nil
}

// agentGuess is an agent binary for the architecture the container
// probably has (the local one), to install in the probe's exec, into the
// first of dirs that lets it run. A zero agentGuess installs nothing.
type agentGuess struct {
	bin  []byte
	arch string
	dirs []string
}

// probeInto probes the container into t. With an agentGuess, the same exec
// also installs the agent when the container's machine is the guessed one;
// t's agent state then says how that went (and stays untried otherwise).
func probeInto(ctx context.Context, ex Executor, t *Tools, guess agentGuess) error {
	cmd := []string{"sh", "-c", probeScript}
	var stdin io.Reader
	var id agentID
	if machines := unameOf(guess.arch); len(guess.bin) > 0 && machines != "" {
		id = identify(guess.bin)
		cmd = append([]string{"sh", "-c", probeInstallScript, "sh", id.file, machines, randomWord()}, guess.dirs...)
		stdin = bytes.NewReader(guess.bin)
	}
	var stdout bytes.Buffer
	stderr := newTail(4096)
	err := ex.Exec(ctx, cmd, stdin, &limitWriter{w: &stdout, n: 64 << 10}, stderr)
	if ctx.Err() != nil {
		return fmt.Errorf("probe: %w", ctx.Err())
	}
	probed, rest, ended := strings.Cut("\n"+stdout.String(), "\nend\n")
	if !ended {
		if err == nil {
			err = fmt.Errorf("no output from the probe script")
		}
		if !commandNotFound(err, stderr.String()) {
			// The exec itself failed (the connection broke, the container
			// went away): that says nothing about the image.
			return &RemoteError{Step: "probe", Stderr: stderr.String(), Err: err}
		}
		if s := strings.TrimSpace(stderr.String()); s != "" {
			err = fmt.Errorf("%w: %s", err, s)
		}
		return &MissingToolError{Missing: []string{"sh"}, Err: err}
	}
	*t = Tools{Sh: true, agent: &agentState{}}
	for _, line := range strings.Split(probed, "\n") {
		switch {
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
	if stdin != nil && !strings.HasPrefix(rest, "noarch\t") && (err == nil || strings.HasSuffix(rest, "\x00")) {
		// The install ran and said how it went. An exec cut short before
		// the install said all of it leaves it untried: useAgent tries
		// again with an exec of its own.
		st := t.agent
		st.tried = true
		st.path, st.err = parseInstall(rest, id, err, stderr)
		st.set(id)
	}
	return nil
}

// toolsFor returns opts.Tools, probing the container first when it is nil or
// zero (then into opts.Tools, so that the caller's later transfers reuse
// it: transfers sharing a zero Tools must not start at the same time).
// worth says whether this transfer wants the agent: the probe then also
// installs the agent built for the local machine's architecture.
func toolsFor(ctx context.Context, ex Executor, opts Options, worth bool) (*Tools, error) {
	t := opts.Tools
	if t == nil {
		t = &Tools{}
	}
	if t.Sh {
		return t, nil
	}
	var guess agentGuess
	if worth && opts.Agent != nil {
		guess = agentGuess{bin: opts.Agent(runtime.GOARCH), arch: runtime.GOARCH, dirs: opts.agentDirs}
		if guess.dirs == nil {
			guess.dirs = defaultAgentDirs()
		}
	}
	if err := probeInto(ctx, ex, t, guess); err != nil {
		return nil, err
	}
	return t, nil
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

// agentState returns t's agent; a Tools made by hand gets one for one
// transfer.
func (t *Tools) agentState() *agentState {
	if t.agent == nil {
		return &agentState{}
	}
	return t.agent
}

// noAgent says why transfers to this container do without the agent: the
// reason its install failed, "" when it is installed or was never tried.
func (t *Tools) noAgent() string {
	if t == nil || t.agent == nil {
		return ""
	}
	t.agent.mu.Lock()
	defer t.agent.mu.Unlock()
	if t.agent.err == nil {
		return ""
	}
	return t.agent.err.Error()
}

// unameOf lists the `uname -m` names of a GOARCH (goarch's inverse), space
// separated; "" for an architecture cscript has no agent for.
func unameOf(arch string) string {
	switch arch {
	case "amd64":
		return "x86_64 amd64"
	case "arm64":
		return "aarch64 arm64 armv8l"
	}
	return ""
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
