package runner

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The wrapper that runs a Job's or container's script passes its exit code
// through, reports a script killed by a signal as 128+N, runs python through
// the launcher, and gives the script its arguments unchanged.
func TestInterpreterCommand(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		interp, body string
		code         int
		out          string
	}{
		{InterpreterSh, "echo \"hi $0\"\nexit 3\n", 3, "hi "},
		{InterpreterSh, "echo before\nkill -9 $$\necho after\n", 137, "before\n"},
		{InterpreterSh, "kill -TERM $$\n", 143, ""},
		{InterpreterBash, "echo \"$BASH_VERSION\" | cut -c1 | grep -q . && echo bash\n", 0, "bash\n"},
		{InterpreterPython, "print('never')\n", 127, "cscript: the image has no python3 or python"},
	} {
		path := dir + "/script"
		if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		argv := InterpreterCommand(tc.interp, path)
		cmd := exec.Command(argv[0], argv[1:]...)
		if tc.interp == InterpreterPython {
			// An image with sh and no python.
			bin := t.TempDir()
			if err := os.Symlink("/bin/sh", filepath.Join(bin, "sh")); err != nil {
				t.Fatal(err)
			}
			cmd.Env = []string{"PATH=" + bin}
			cmd.Path = "/bin/sh"
		}
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != tc.code || !strings.Contains(string(out), tc.out) {
			t.Errorf("%s %q: exit %d, output %q; want %d and %q", tc.interp, tc.body, code, out, tc.code, tc.out)
		}
	}
}
