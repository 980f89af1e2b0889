package commands

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The completion scripts are proved in the real shells: bash and zsh typed
// into through tmux (TAB as a person presses it), fish through its own
// entry point (complete -C). The shells run this test binary as cscript
// (TestMain below), on a library made by init.

// TestMain lets the test binary stand in for cscript when the shells call it.
// needProgram finds a program the test needs; in CI a missing one fails
// (make deps installs it).
func needProgram(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (make deps installs it): %v", name, err)
		}
		t.Skipf("%s is not installed (make deps installs it)", name)
	}
	return p
}

// completionHome is a cscript home with the example library, a directory
// whose cscript is this test binary, and a working directory with a file.
type completionHome struct {
	e        *env
	bin, cwd string
}

func newCompletionHome(t *testing.T) *completionHome {
	e := newEnv(t)
	e.mustRun("init")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	h := &completionHome{e: e, bin: filepath.Join(e.root, "bin"), cwd: filepath.Join(e.root, "cwd")}
	for _, d := range []string{h.bin, h.cwd} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(self, filepath.Join(h.bin, "cscript")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.cwd, "file-for-completion.yaml"), []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		r := e.mustRun("completion", shell)
		if err := os.WriteFile(filepath.Join(e.root, "completion."+shell), []byte(r.out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// environ is the shells' environment: only what they need.
func (h *completionHome) environ() []string {
	env := []string{"PATH=" + h.bin + ":/usr/local/bin:/usr/bin:/bin", "CSCRIPT_TEST_AS_CLI=1", "TERM=xterm", "LANG=C.UTF-8"}
	for k, v := range h.e.vars() {
		env = append(env, k+"="+v)
	}
	return env
}

// tmuxShell is a shell in a tmux session of its own server.
type tmuxShell struct {
	t    *testing.T
	tmux string
	sock string
}

func startTmux(t *testing.T, h *completionHome, shell ...string) *tmuxShell {
	t.Helper()
	s := &tmuxShell{t: t, tmux: needProgram(t, "tmux"), sock: filepath.Join(h.e.root, "tmux.sock")}
	cmd := append([]string{"-S", s.sock, "-f", "/dev/null", "new-session", "-d", "-x", "160", "-y", "40", "-c", h.cwd, "env", "-i"}, h.environ()...)
	if out, err := exec.Command(s.tmux, append(cmd, shell...)...).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		s.send("-l", "exit")
		s.send("Enter")
		time.Sleep(200 * time.Millisecond)
		_ = exec.Command(s.tmux, "-S", s.sock, "kill-server").Run()
	})
	s.waitFor(func(screen string) bool { return strings.Contains(screen, "READY") }, "the shell's prompt")
	s.send("-l", "clear")
	s.send("Enter")
	s.waitFor(func(screen string) bool { return strings.TrimSpace(screen) == "$" }, "a clear screen")
	return s
}

func (s *tmuxShell) send(keys ...string) {
	s.t.Helper()
	if out, err := exec.Command(s.tmux, append([]string{"-S", s.sock, "send-keys", "-t", "0"}, keys...)...).CombinedOutput(); err != nil {
		s.t.Fatalf("send-keys: %v\n%s", err, out)
	}
}

func (s *tmuxShell) screen() string {
	out, err := exec.Command(s.tmux, "-S", s.sock, "capture-pane", "-p", "-t", "0").Output()
	if err != nil {
		s.t.Fatalf("capture-pane: %v", err)
	}
	return string(out)
}

// waitFor polls the screen until ok (at most 15 s) and returns it.
func (s *tmuxShell) waitFor(ok func(screen string) bool, what string) string {
	s.t.Helper()
	var screen string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if screen = s.screen(); ok(screen) {
			return screen
		}
	}
	s.t.Errorf("waited in vain for %s; the screen:\n%s", what, screen)
	return screen
}

// promptLine is the last line of the screen that starts with the prompt "$ ".
func promptLine(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, "\n "), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimLeft(lines[i], " "); strings.HasPrefix(l, "$ ") {
			return strings.TrimPrefix(l, "$ ")
		}
	}
	return ""
}

// typeAndTab types text, presses TAB tabs times and waits until the prompt
// line is want (exactly, trailing spaces too: a space means a finished word)
// or, with list, until the screen shows each of list.
func (s *tmuxShell) typeAndTab(text string, tabs int, want string, list ...string) {
	s.t.Helper()
	s.send("-l", text)
	for range tabs {
		s.send("Tab")
	}
	// A marker typed after the TABs shows where the completion ended.
	s.send("-l", "#")
	s.waitFor(func(screen string) bool {
		if want != "" && promptLine(screen) != want+"#" {
			return false
		}
		for _, l := range list {
			if !strings.Contains(screen, l) {
				return false
			}
		}
		return true
	}, fmt.Sprintf("%q + %d TAB → %q %q", text, tabs, want, list))
	// A clean screen with a bare prompt before the next case.
	s.send("C-u")
	s.send("-l", "clear")
	s.send("Enter")
	s.waitFor(func(screen string) bool { return strings.TrimSpace(screen) == "$" }, "a clear screen")
}

// The completion cases every shell must pass: [typed, completed line].
var completionCases = [][2]string{
	{"cscript ren", "cscript render "},                                                                        // a command
	{"cscript deck sh", "cscript deck show "},                                                                 // a subcommand
	{"cscript run hel", "cscript run hello "},                                                                 // a script
	{"cscript run hello --dec", "cscript run hello --deck "},                                                  // a flag
	{"cscript run hello --deck sta", "cscript run hello --deck staging "},                                     // a deck
	{"cscript list -o ya", "cscript list -o yaml "},                                                           // an -o value
	{"cscript run hello --set w", "cscript run hello --set who="},                                             // a param, no space after =
	{"cscript run hello -f file-for", "cscript run hello -f file-for-completion.yaml "},                       // a file
	{"cscript run hello --set-file who=file-f", "cscript run hello --set-file who=file-for-completion.yaml "}, // a file after NAME=
	{"cscript sync loc", "cscript sync local "},                                                               // a library
	{"cscript explain script.exclu", "cscript explain script.exclusive"},                                      // a field path
	{"cscript completion zs", "cscript completion zsh "},
}

func TestCompletionBash(t *testing.T) {
	h := newCompletionHome(t)
	needProgram(t, "bash")
	rc := filepath.Join(h.e.root, "bashrc")
	if err := os.WriteFile(rc, []byte("PS1='$ '\nunset HISTFILE\nbind 'set bell-style none'\nsource "+filepath.Join(h.e.root, "completion.bash")+"\necho READY\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startTmux(t, h, "bash", "--noprofile", "--rcfile", rc, "-i")
	for _, c := range completionCases {
		s.typeAndTab(c[0], 1, c[1])
	}
	// Two TABs list the params of the script: --set offers who= and code=, not scripts.
	s.typeAndTab("cscript run hello --set ", 2, "cscript run hello --set ", "who=", "code=")
}

func TestCompletionZsh(t *testing.T) {
	h := newCompletionHome(t)
	needProgram(t, "zsh")
	zdot := filepath.Join(h.e.root, "zdot")
	if err := os.MkdirAll(zdot, 0o755); err != nil {
		t.Fatal(err)
	}
	rc := "PROMPT='$ '\nunset HISTFILE\nunsetopt beep\nautoload -U compinit && compinit -u -d " + filepath.Join(zdot, "compdump") +
		"\nsource " + filepath.Join(h.e.root, "completion.zsh") + "\necho READY\n"
	if err := os.WriteFile(filepath.Join(zdot, ".zshrc"), []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startTmux(t, h, "ZDOTDIR="+zdot, "zsh", "-i")
	// One TAB each.
	for _, c := range completionCases {
		s.typeAndTab(c[0], 1, c[1])
	}
	// One TAB lists the params with their descriptions.
	s.typeAndTab("cscript run hello --set ", 1, "", "who=", "Whom to greet", "code=", "The exit code")
	s.typeAndTab("cscript ", 1, "", "render", "run a script in a one-off Pod")
}

func TestCompletionFish(t *testing.T) {
	h := newCompletionHome(t)
	fish := needProgram(t, "fish")
	complete := func(line string) []string {
		t.Helper()
		cmd := exec.Command(fish, "--no-config", "-c", "source "+filepath.Join(h.e.root, "completion.fish")+"; complete -C "+shellWord(line))
		cmd.Env = h.environ()
		cmd.Dir = h.cwd
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("fish: %v\n%s", err, out)
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	for _, c := range completionCases {
		typed, done := c[0], strings.TrimSpace(c[1])
		last := done[strings.LastIndex(done, " ")+1:]
		got := complete(typed)
		found := false
		for _, g := range got {
			word, _, _ := strings.Cut(g, "\t")
			found = found || word == last
		}
		if !found {
			t.Errorf("fish: %q offers %q, want %q among them", typed, got, last)
		}
	}
	// Descriptions, and files where a file is expected (fish keeps them).
	for line, want := range map[string]string{
		"cscript run hello --set ": "who=\tWhom to greet.",
		"cscript ren":              "render\tprint a script rendered",
		"cscript init file-f":      "file-for-completion.yaml",
	} {
		if got := strings.Join(complete(line), "\n"); !strings.Contains(got, want) {
			t.Errorf("fish: %q offers\n%s\nwant %q", line, got, want)
		}
	}
	// No files where none is expected.
	if got := complete("cscript run hello --deck file-f"); len(got) > 0 && got[0] != "" {
		t.Errorf("fish offers %q for a deck", got)
	}
}

// The generated scripts, word for word (go test ./commands -update rewrites them).
func TestCompletionScriptsGolden(t *testing.T) {
	e := newEnv(t)
	for _, shell := range []string{"bash", "zsh", "fish"} {
		e.golden("completion-"+shell, e.mustRun("completion", shell).out)
	}
	if r := e.run("", "completion", "tcsh"); r.code != ExitUsage {
		t.Errorf("completion tcsh: exit %d", r.code)
	}
}

// What __complete prints for a command line: the directive, then the words.
func TestCompleteEngine(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	for line, want := range map[string]string{
		"ren":                                   ":default\nrender\tprint a script rendered for a deck, without running it\n",
		"run hello --set ":                      ":nospace\nwho=\tWhom to greet.\ncode=\tint: The exit code to finish with.\n",
		"run hello --set=w":                     ":nospace\n--set=who=\tWhom to greet.\n",
		"run hello --set-file who=":             ":files\n",
		"run hello -f ":                         ":files\n",
		"list -o j":                             ":default\njson\n",
		"deck show st":                          ":default\nstaging\tShared staging. Runs ask you to type the deck name first.\n",
		"run hello --mode j":                    ":default\njob\trun it as a Kubernetes Job\n",
		"resource create r1 --lifecycle demo-i": ":default\ndemo-id\tA resource whose create script prints only its backend id (one token).\n",
		"schema l":                              ":default\nlifecycle\n",
		"trace la":                              ":default\nlast\tthe most recent run\n",
		"run hello hello ":                      ":default\n",
	} {
		words := strings.Split(line, " ")
		r := e.mustRun(append([]string{"__complete"}, words...)...)
		if r.out != want {
			t.Errorf("__complete %q:\n%s\nwant:\n%s", line, r.out, want)
		}
	}
}
