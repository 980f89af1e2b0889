package transfer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
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

// agentState is the agent of one container: installed at path, in dir (a
// directory the install made for it alone, mode 0700), or tried and failed
// (path "", err says why).
type agentState struct {
	mu    sync.Mutex
	tried bool
	path  string
	dir   string
	sum   string // the sha256 (hex) the file at path must have
	err   error
}

// installedAgent is an agent ready for a transfer.
type installedAgent struct {
	path string
	sum  string // its sha256, checked before each run
}

// installAgentFunc defines ia: $1 file name, $2 a random word, $3...
// candidate directories. In the first candidate that is a writable
// directory it makes a directory of its own (mktemp -d; without mktemp,
// mkdir -m 700 with the random word in the name: either fails rather than
// reuse what is there), checks that it is a directory it owns and has made
// private, and writes the binary from stdin into it with noclobber (never
// through a symlink or over a file). When that directory does not let it
// run, it copies it on to a directory of its own in the next candidate.
// It prints `agent<TAB>PATH<TAB>SIZE SHA256` (the agent's own `sum` of
// itself) or `noagent<TAB>REASON`. The shell runs commands after cat, so
// it stays the session's process and stdin arrives whole (see the package comment and docs/exec-stdin.md).
const installAgentFunc = `ia() {
n=$1 rnd=$2; shift 2
if ! command -v cat >/dev/null 2>&1; then printf 'noagent\tthe image has no cat\0'; return 0; fi
src=
for d in "$@"; do
  case $d in /*) ;; *) d=$PWD/$d ;; esac
  [ -d "$d" ] && [ -w "$d" ] || continue
  if ! p=$(mktemp -d "$d/.cscript-XXXXXX" 2>/dev/null); then
    p=$d/.cscript-$rnd
    mkdir -m 700 "$p" 2>/dev/null || continue
  fi
  if [ -L "$p" ] || [ ! -d "$p" ] || [ ! -O "$p" ] || ! chmod 700 "$p" 2>/dev/null; then continue; fi
  t=$p/$n
  if [ -z "$src" ]; then
    if ! (set -C; cat > "$t"); then rm -rf "$p"; continue; fi
    src=$t
  elif ! (set -C; cat < "$src" > "$t"); then
    rm -rf "$p"; continue
  fi
  chmod 500 "$t" 2>/dev/null
  if r=$("$t" sum "$t" 2>/dev/null); then
    [ "$t" = "$src" ] || rm -rf "${src%/*}"
    printf 'agent\t%s\t%s\0' "$t" "$r"
    return 0
  fi
  [ "$t" = "$src" ] || rm -rf "$p"
done
if [ -z "$src" ]; then cat > /dev/null; else rm -rf "${src%/*}"; fi
printf 'noagent\tno writable directory lets it run\0'
}
`

// installAgentScript: installAgentFunc's arguments.
const installAgentScript = installAgentFunc + `ia "$@"
`

// probeInstallScript is probeScript, then, when uname -m is one of the
// words of $2, installAgentFunc with $1, $3 (the random word) and $4...;
// otherwise it reads stdin to its end and prints `noarch<TAB>MACHINE`. One
// exec instead of two when the agent's architecture can be guessed (the
// local one).
const probeInstallScript = probeScript + installAgentFunc + `n=$1 accept=$2 rnd=$3; shift 3
m=$(uname -m 2>/dev/null)
case " $accept " in
*" $m "*) ia "$n" "$rnd" "$@" ;;
*) cat > /dev/null; printf 'noarch\t%s\0' "$m" ;;
esac
`

// agentChanged starts the output of runAgentScript when the agent is not
// the one installed.
const agentChanged = "CSCRIPT-AGENT-CHANGED\t"

// runAgentScript runs the agent: $1 its path, $2 its sha256, $3... its
// arguments. First it checks that the agent's directory is still a
// directory it owns, private (mode 0700) and not a symlink, and that the
// agent's sha256 is the one installed (by sha256sum; an image without it
// asks the agent, which catches a damaged file, not a forged one); if not,
// it prints agentChanged and why, and exits without reading stdin.
const runAgentScript = `a=$1 s=$2; shift 2
d=${a%/*}
no() { printf 'CSCRIPT-AGENT-CHANGED\t%s\0' "$1"; exit 0; }
if [ -L "$d" ] || [ ! -d "$d" ] || [ ! -O "$d" ]; then no "its directory is gone or not this user's"; fi
case $(ls -ld "$d" 2>/dev/null) in drwx------*|'') ;; *) no "its directory is open to others" ;; esac
if [ -L "$a" ] || [ ! -f "$a" ]; then no "it is gone"; fi
if command -v sha256sum >/dev/null 2>&1; then h=$(sha256sum < "$a"); h=${h%% *}; else h=$("$a" sum "$a" 2>/dev/null); h=${h#* }; fi
[ "$h" = "$s" ] || no "its sha256 is not the one installed"
exec "$a" "$@"
`

// agentChangedError is a transfer that did not run because the agent is
// not the one installed (see runAgentScript).
type agentChangedError struct {
	st     *agentState
	reason string
}

func (e *agentChangedError) Error() string {
	return "cscript's agent in the container changed since it was installed: " + e.reason
}

// forget makes the next useAgent install the agent again.
func (e *agentChangedError) forget() {
	if e.st == nil {
		return
	}
	e.st.mu.Lock()
	defer e.st.mu.Unlock()
	e.st.tried, e.st.path, e.st.dir, e.st.sum, e.st.err = false, "", "", "", nil
}

// parseAgentChanged reads runAgentScript's complaint from out, which starts
// with agentChanged.
func parseAgentChanged(out []byte, st *agentState) error {
	out = out[len(agentChanged):]
	if i := bytes.IndexByte(out, 0); i >= 0 {
		out = out[:i]
	}
	return &agentChangedError{st: st, reason: clip(string(out))}
}

// useAgent returns the agent in the container, installing it first if
// worth is set and it is not there yet; nil means use the scripts.
func useAgent(ctx context.Context, ex Executor, tools *Tools, opts Options, worth bool) *installedAgent {
	if opts.Agent == nil || !tools.Sh {
		return nil
	}
	st := tools.agentState()
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.tried && worth {
		st.install(ctx, ex, tools, opts)
	}
	if st.path == "" {
		return nil
	}
	return &installedAgent{path: st.path, sum: st.sum}
}

// install installs the agent, st.mu held.
func (st *agentState) install(ctx context.Context, ex Executor, tools *Tools, opts Options) {
	if tools.Arch == "" {
		st.tried, st.err = true, errors.New("the container's machine is unknown (uname -m) or one cscript has no agent for")
		return
	}
	bin := opts.Agent(tools.Arch)
	if len(bin) == 0 {
		st.tried, st.err = true, fmt.Errorf("no agent for %s", tools.Arch)
		return
	}
	dirs := opts.agentDirs
	if dirs == nil {
		dirs = defaultAgentDirs()
	}
	id := identify(bin)
	st.path, st.err = installAgent(ctx, ex, bin, id, dirs)
	st.set(id)
	// A cancelled install is not the container's fault: try again next time.
	st.tried = ctx.Err() == nil
}

// set records what the agent installed at st.path must be.
func (st *agentState) set(id agentID) {
	st.dir, st.sum = "", ""
	if st.path != "" {
		st.dir, st.sum = path.Dir(st.path), id.sha256
	}
}

// installAgent copies bin into the container and checks that it runs and
// arrived whole.
func installAgent(ctx context.Context, ex Executor, bin []byte, id agentID, dirs []string) (string, error) {
	cmd := append([]string{"sh", "-c", installAgentScript, "sh", id.file, randomWord()}, dirs...)
	var stdout bytes.Buffer
	stderr := newTail(4096)
	err := ex.Exec(ctx, cmd, bytes.NewReader(bin), &limitWriter{w: &stdout, n: 64 << 10}, stderr)
	return parseInstall(stdout.String(), id, err, stderr)
}

// randomWord names the agent's directory where the image has no mktemp:
// nothing in the container can know it in advance.
func randomWord() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// agentID is what an install checks an agent binary by, from one sha256 of
// it: its file name in the container (after its checksum, so that two
// versions of cscript never mix up their agents) and what its `sum` of
// itself must print.
type agentID struct {
	file   string
	sum    string // "SIZE SHA256"
	sha256 string
}

func identify(bin []byte) agentID {
	sum := sha256.Sum256(bin)
	h := hex.EncodeToString(sum[:])
	return agentID{file: ".cscript-agent-" + h[:12], sum: fmt.Sprintf("%d %s", len(bin), h), sha256: h}
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
