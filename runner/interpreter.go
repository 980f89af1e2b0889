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
// with interp (bash, sh or python) as the container's main process.
func InterpreterCommand(interp, path string) []string {
	if interp == InterpreterPython {
		return []string{"sh", "-c", PythonLauncher, "sh", path}
	}
	return []string{interp, path}
}

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
