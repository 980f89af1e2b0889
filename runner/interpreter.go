package runner

import (
	"regexp"
	"strings"
)

// MaxOutput caps the output a backend keeps in memory for a run's result
// (a Job's or a container's log); the end of the output is kept.
const MaxOutput = 10 << 20

// missingTool starts the line PythonLauncher prints when the image has
// neither python3 nor python.
const missingTool = "cscript: the image has no "

// PythonLauncher is the sh program that starts a python script given as its
// first argument with python3, or python when the image has no python3.
// Run it as: sh -c PythonLauncher sh SCRIPT. Without either it prints a line
// starting with "cscript: the image has no " on stderr and exits 127.
const PythonLauncher = `if command -v python3 >/dev/null 2>&1; then exec python3 "$@"; fi
if command -v python >/dev/null 2>&1; then exec python "$@"; fi
echo "` + missingTool + `python3 or python" >&2
exit 127`

// InterpreterCommand is the container command that runs the script at path
// with interp (bash, sh or python) when the container has no other process:
// a Job's or a Docker container's. The script does not run as the
// container's PID 1, which the kernel shields from signals it has no handler
// for (a script's `kill -9 $$` or a SIGTERM from the runtime would do
// nothing): a shell of the same interpreter (sh for python) runs as PID 1,
// passes TERM, INT and HUP on to the script, reaps it and exits with its
// status (128+N when a signal killed it), as pod mode's exec does. Its
// first element is the program the image must have.
func InterpreterCommand(interp, path string) []string {
	shell := "sh"
	if interp == InterpreterBash {
		shell = InterpreterBash
	}
	script := []string{interp, path}
	if interp == InterpreterPython {
		script = []string{"sh", "-c", PythonLauncher, "sh", path}
	}
	return append([]string{shell, "-c", pid1Wrapper, shell}, script...)
}

// pid1Wrapper runs its arguments as a child, forwards signals to it and
// exits with its status. `wait` returns early when a trapped signal arrives,
// so it waits again until the child is gone. The child keeps the
// container's stdin (an asynchronous list's would be /dev/null): it goes
// through fd 3, which the wrapper then closes.
const pid1Wrapper = `exec 3<&0
"$@" <&3 3<&- &
c=$!
exec 3<&-
trap 'kill -TERM "$c" 2>/dev/null' TERM
trap 'kill -INT "$c" 2>/dev/null' INT
trap 'kill -HUP "$c" 2>/dev/null' HUP
while :; do
  wait "$c"
  s=$?
  kill -0 "$c" 2>/dev/null || exit "$s"
done`

// MissingInterpreter says whether a script that exited 127 did so because
// the image has no interpreter (PythonLauncher's message ends its output).
func MissingInterpreter(exitCode int, output string) (string, bool) {
	if exitCode != ExitNoTool {
		return "", false
	}
	out := strings.TrimRight(output, "\n")
	i := strings.LastIndexByte(out, '\n')
	last := out[i+1:]
	tool, ok := strings.CutPrefix(last, missingTool)
	if !ok {
		return "", false
	}
	return tool, true
}

// SecretParamEnv is the env var a secret param reaches the script as:
// CSCRIPT_PARAM_ and the name in upper case, other characters than A-Z, 0-9
// and _ replaced by _.
func SecretParamEnv(param string) string {
	return "CSCRIPT_PARAM_" + nonEnvChars.ReplaceAllString(strings.ToUpper(param), "_")
}

var nonEnvChars = regexp.MustCompile(`[^A-Z0-9_]`)
