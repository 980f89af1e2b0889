package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// defaultAgentMinBytes is the smallest upload that installs the agent: below
// it, copying the agent (about 2 MB) costs more than it saves.
const defaultAgentMinBytes = 4 << 20

// defaultAgentDirs are where the agent may go, in order: /tmp, else the
// working directory (an emptyDir in cscript's Pods, writable even when the
// root file system is read-only). A directory mounted noexec is skipped.
func defaultAgentDirs() []string { return []string{"/tmp", "."} }

// agentState is the agent of one container: installed at path, or tried
// and failed (path "", err says why).
type agentState struct {
	mu    sync.Mutex
	tried bool
	path  string
	err   error
}

// installAgentFunc defines ia: $1 file name, $2... candidate directories.
// It reads the binary from stdin into the first writable directory, copies
// it on to the next when the first does not let it run, and prints
// `agent<TAB>PATH<TAB>SIZE SHA256` (the agent's own `sum` of itself) or
// `noagent<TAB>REASON`. The shell runs commands after cat, so it stays the
// session's process and stdin arrives whole (see docs/exec-stdin.md).
const installAgentFunc = `ia() {
n=$1; shift
if ! command -v cat >/dev/null 2>&1; then printf 'noagent\tthe image has no cat\0'; return 0; fi
src=
for d in "$@"; do
  case $d in /*) ;; *) d=$PWD/$d ;; esac
  [ -d "$d" ] && [ -w "$d" ] || continue
  t=$d/$n
  if [ -z "$src" ]; then
    cat > "$t" || { rm -f "$t"; continue; }
    src=$t
  elif ! cat < "$src" > "$t"; then
    rm -f "$t"; continue
  fi
  chmod 700 "$t" 2>/dev/null
  if r=$("$t" sum "$t" 2>/dev/null); then
    [ "$t" = "$src" ] || rm -f "$src"
    printf 'agent\t%s\t%s\0' "$t" "$r"
    return 0
  fi
  rm -f "$t"
  [ "$t" = "$src" ] && src=
done
if [ -z "$src" ]; then cat > /dev/null; fi
printf 'noagent\tno writable directory lets it run\0'
}
`

// installAgentScript: installAgentFunc's arguments.
const installAgentScript = installAgentFunc + `ia "$@"
`

// probeInstallScript is probeScript, then, when uname -m is one of the
// words of $2, installAgentFunc with $1 and $3...; otherwise it reads stdin
// to its end and prints `noarch<TAB>MACHINE`. One exec instead of two when
// the agent's architecture can be guessed (the local one).
const probeInstallScript = probeScript + installAgentFunc + `n=$1 accept=$2; shift 2
m=$(uname -m 2>/dev/null)
case " $accept " in
*" $m "*) ia "$n" "$@" ;;
*) cat > /dev/null; printf 'noarch\t%s\0' "$m" ;;
esac
`

// useAgent returns the path of the agent in the container, installing it
// first if worth is set and it is not there yet; "" means use the scripts.
func useAgent(ctx context.Context, ex Executor, tools *Tools, opts Options, worth bool) string {
	if opts.Agent == nil || !tools.Sh {
		return ""
	}
	st := tools.agent
	if st == nil {
		// A Tools made by hand: no memory between transfers.
		st = &agentState{}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.tried || !worth {
		return st.path
	}
	if tools.Arch == "" {
		st.tried, st.err = true, errors.New("the container's machine is unknown (uname -m) or one cscript has no agent for")
		return ""
	}
	bin := opts.Agent(tools.Arch)
	if len(bin) == 0 {
		st.tried, st.err = true, fmt.Errorf("no agent for %s", tools.Arch)
		return ""
	}
	dirs := opts.agentDirs
	if dirs == nil {
		dirs = defaultAgentDirs()
	}
	st.path, st.err = installAgent(ctx, ex, bin, dirs)
	// A cancelled install is not the container's fault: try again next time.
	st.tried = ctx.Err() == nil
	return st.path
}

// installAgent copies bin into the container and checks that it runs and
// arrived whole.
func installAgent(ctx context.Context, ex Executor, bin []byte, dirs []string) (string, error) {
	id := identify(bin)
	cmd := append([]string{"sh", "-c", installAgentScript, "sh", id.file}, dirs...)
	var stdout bytes.Buffer
	stderr := newTail(4096)
	err := ex.Exec(ctx, cmd, bytes.NewReader(bin), &limitWriter{w: &stdout, n: 64 << 10}, stderr)
	return parseInstall(stdout.String(), id, err, stderr)
}

// agentID is what an install checks an agent binary by, from one sha256 of
// it: its file name in the container (after its checksum, so that two
// versions of cscript never mix up their agents) and what its `sum` of
// itself must print.
type agentID struct {
	file string
	sum  string // "SIZE SHA256"
}

func identify(bin []byte) agentID {
	sum := sha256.Sum256(bin)
	return agentID{file: ".cscript-agent-" + hex.EncodeToString(sum[:6]), sum: fmt.Sprintf("%d %s", len(bin), hex.EncodeToString(sum[:]))}
}

// parseInstall reads installAgentFunc's output: the agent's path, or why it
// could not be installed. execErr and stderr are the exec's.
func parseInstall(out string, id agentID, execErr error, stderr *tail) (string, error) {
	out = strings.TrimRight(out, "\x00")
	kind, rest, _ := strings.Cut(out, "\t")
	switch {
	case kind == "agent":
		p, got, _ := strings.Cut(rest, "\t")
		if strings.TrimSpace(got) != id.sum {
			return "", fmt.Errorf("the agent arrived as %q, want %q", strings.TrimSpace(got), id.sum)
		}
		return p, nil
	case kind == "noagent":
		return "", fmt.Errorf("install the agent: %s", rest)
	case execErr != nil:
		return "", fmt.Errorf("install the agent: %w", remoteFailure("exec", execErr, stderr))
	}
	return "", fmt.Errorf("install the agent: unexpected output %q", clip(out))
}
