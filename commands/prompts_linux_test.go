package commands

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cscript-dev/cscript/runner"
)

// TestMain lets a test run this test binary as cscript itself (main.go's
// main: real signal handling) on a pseudo-terminal: see runOnPTY.
// ptyRun is cscript running on a pseudo-terminal as its controlling
// terminal: keys typed on the master side reach it as a user's would
// (Ctrl-C is a SIGINT from the terminal, Ctrl-D the end of input).
type ptyRun struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	out    bytes.Buffer // everything the terminal showed
	read   chan struct{}
}

// runOnPTY starts cscript with args in e's home on a new pseudo-terminal.
func (e *env) runOnPTY(args ...string) *ptyRun {
	e.t.Helper()
	e.activate()
	master, tty := openPTY(e.t)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Args[0] = "cscript"
	cmd.Env = append(os.Environ(), "CSCRIPT_TEST_AS_CSCRIPT=1", "TERM=dumb")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// Its own session with the terminal as its controlling terminal: the
	// terminal's Ctrl-C signals its (foreground) process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	p := &ptyRun{t: e.t, master: master, cmd: cmd, read: make(chan struct{})}
	e.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
	})
	return p
}

// await waits until the terminal shows text.
func (p *ptyRun) await(text string) {
	p.t.Helper()
	buf := make([]byte, 4096)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if strings.Contains(p.out.String(), text) {
			return
		}
		_ = p.master.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, _ := p.master.Read(buf)
		p.out.Write(buf[:n])
	}
	p.t.Fatalf("the terminal never showed %q; it showed %q", text, p.out.String())
}

// typeKeys types s on the terminal.
func (p *ptyRun) typeKeys(s string) {
	p.t.Helper()
	if _, err := p.master.Write([]byte(s)); err != nil {
		p.t.Fatal(err)
	}
}

// wait waits for cscript to exit (within limit) and returns its exit code
// and what the terminal showed, without its carriage returns and echoed
// control keys.
func (p *ptyRun) wait(limit time.Duration) (int, string) {
	p.t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-done
		p.t.Fatalf("cscript did not exit within %s; the terminal showed %q", limit, p.out.String())
	}
	p.out.WriteString(readAvailable(p.master))
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatal(err)
	}
	shown := strings.ReplaceAll(p.out.String(), "\r", "")
	shown = regexp.MustCompile(`\^[CD]`).ReplaceAllString(shown, "")
	return code, shown
}

// Ctrl-C at any question stops cscript at once with exit 130 and nothing
// done; Ctrl-D says what to pass instead of answering (exit 2). Each
// question is asked on a real terminal, the keys typed on it.
func TestCtrlCAndCtrlDAtEveryPrompt(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.secretScript()
	e.kubeconfig("staging")
	hello := filepath.Join(e.lib(), "hello.yaml")
	runs := filepath.Join(e.root, "state_home", "cscript", "runs")
	cases := []struct {
		name   string
		args   []string
		prompt string
	}{
		{"protected deck", []string{"run", "hello", "--deck", "staging"}, "Type the deck's name to run: "},
		{"rm", []string{"rm", "hello"}, "[y/N] "},
		{"param", []string{"render", "db-restore", "--deck", "local"}, "dump ("},
		{"secret param", []string{"render", "tok", "--deck", "local"}, "token: "},
	}
	var golden strings.Builder
	for _, tc := range cases {
		for _, key := range []struct {
			name, keys string
			code       int
		}{{"Ctrl-C", "\x03", 130}, {"Ctrl-D", "\x04", ExitUsage}} {
			p := e.runOnPTY(tc.args...)
			p.await(tc.prompt)
			p.typeKeys(key.keys)
			start := time.Now()
			code, shown := p.wait(10 * time.Second)
			if code != key.code {
				t.Errorf("%s, %s: exit %d, want %d; the terminal showed %q", tc.name, key.name, code, key.code, shown)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("%s, %s: took %s to stop", tc.name, key.name, took)
			}
			golden.WriteString("== " + tc.name + ", " + key.name + " (exit " + strconv.Itoa(code) + ")\n" + shown + "\n")
			// Nothing done: the script is still there, no run was recorded.
			if _, err := os.Stat(hello); err != nil {
				t.Errorf("%s, %s: %v", tc.name, key.name, err)
			}
			if ents, _ := os.ReadDir(runs); len(ents) != 0 {
				t.Errorf("%s, %s: %d run records", tc.name, key.name, len(ents))
			}
		}
	}
	e.golden("prompts-ctrl-c-ctrl-d", golden.String())
	if log := gitLog(t, e.lib()); strings.Contains(log, "remove") {
		t.Errorf("rm committed: %s", log)
	}
}

// After a Ctrl-C at a secret param's prompt, the terminal echoes again.
func TestCtrlCAtASecretPromptRestoresEcho(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.secretScript()
	master, tty := openPTY(t)
	var out, errb bytes.Buffer
	a := newApp(BuildInfo{Version: "test"}, tty, &out, &errb)
	yes := true
	a.io.tty = &yes
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan int, 1)
	go func() { done <- a.main(ctx, []string{"cscript", "render", "tok", "--deck", "local"}) }()
	echoOff := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !echoOff; time.Sleep(5 * time.Millisecond) {
		echoOff = termios(t, tty).Lflag&unix.ECHO == 0
	}
	if !echoOff {
		t.Fatal("echo never went off at the secret prompt")
	}
	cancel(runner.SignalCause(syscall.SIGINT))
	var code int
	select {
	case code = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the secret prompt ignored the interrupt")
	}
	_ = master
	if code != 130 || !strings.Contains(errb.String(), "interrupted (Ctrl-C) at the question") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	if termios(t, tty).Lflag&unix.ECHO == 0 {
		t.Error("echo is still off after the interrupt")
	}
}
