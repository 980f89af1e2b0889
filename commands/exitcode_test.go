package commands

import (
	"bytes"
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/credentials"
	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/docker"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
	"github.com/cscript-dev/cscript/transfer"
)

// errorLibraries are the packages whose exported errors the CLI reports.
var errorLibraries = []string{"store", "templates", "credentials", "runner", "runner/kube", "runner/docker", "lifecycle", "history", "transfer", "redact"}

// TestEveryLibraryErrorExitCode lists every exported error type and sentinel
// of the libraries with the exit code of a command that fails with it and
// of `run` failing with it (the README's table). Each error goes through
// the real command tree (one command added that returns it, and one that
// returns it as `run` does); where a real command line produces the error
// without a cluster, that command line runs too and must exit the same way.
// The list must be complete: a new exported error fails the test until it
// is listed here.
func TestEveryLibraryErrorExitCode(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	e.kubeconfig("local", "staging")
	write := func(path, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lib := e.lib()
	write(filepath.Join(lib, "broken.yaml"), "name: broken\nimage: shell\ninterpreter: ruby\nscript: echo\n")
	write(filepath.Join(lib, "badtmpl.yaml"), "name: badtmpl\nimage: shell\ninterpreter: sh\nscript: echo {{ .Values.nope.deeper }}\n")
	write(filepath.Join(lib, "twin.yaml"), "name: twin\nimage: shell\ninterpreter: sh\nscript: echo\n")
	write(filepath.Join(lib, "credtest.yaml"), "name: credtest\nimage: shell\ninterpreter: sh\nscript: echo\ncredentials:\n  - name: TOKEN\n    fromEnv: CSCRIPT_TEST_UNSET_TOKEN\n")
	write(filepath.Join(lib, "decks", "dock.yaml"), "backend: docker\n")
	team := filepath.Join(e.root, "team")
	write(filepath.Join(team, "twin.yaml"), "name: twin\nimage: shell\ninterpreter: sh\nscript: echo\n")
	e.mustRun("library", "add", "team", team)
	t.Setenv("CSCRIPT_TEST_UNSET_TOKEN", "")

	plain := errors.New("plain")
	refused := &url.Error{Op: "Post", URL: "https://127.0.0.1:1/api", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	tests := []struct {
		id   string // package.Name of the exported error type or sentinel
		err  error  // as the library returns it
		code int    // the exit code of a command that fails with it
		run  int    // the exit code of `run` failing with it
		// cmd and runCmd, when set, are real command lines that fail with
		// it (exit code code, and run), with msg in the message.
		cmd, runCmd []string
		msg         string
	}{
		{id: "store.ErrNotFound", err: store.ErrNotFound, code: 4, run: 125},
		{id: "store.NotFoundError", err: &store.NotFoundError{What: "script", Name: "nope"}, code: 4, run: 125,
			cmd: []string{"render", "nope"}, runCmd: []string{"run", "nope"}, msg: `script "nope" not found`},
		{id: "store.AmbiguousError", err: &store.AmbiguousError{What: "script", Name: "twin", Libraries: []string{"local", "team"}}, code: 4, run: 125,
			cmd: []string{"render", "twin"}, runCmd: []string{"run", "twin"}, msg: "use LIB/NAME"},
		{id: "store.ValidationError", err: &store.ValidationError{Problems: []store.Problem{{File: "x.yaml", Message: "bad"}}}, code: 3, run: 125,
			cmd: []string{"render", "broken"}, runCmd: []string{"run", "broken"}, msg: `interpreter "ruby" is not supported`},
		{id: "store.RemoteError", err: &store.RemoteError{Op: "fetch", URL: "git://x", Err: plain}, code: 7, run: 125,
			cmd: []string{"library", "add", "far", "git://127.0.0.1:1/none.git"}, msg: "connection refused"},
		{id: "store.DirtyTreeError", err: &store.DirtyTreeError{Dir: "/lib", Files: []string{"a.yaml"}}, code: 5, run: 125},
		{id: "store.SignatureError", err: &store.SignatureError{Commit: strings.Repeat("a", 40), Reason: "unsigned"}, code: 5, run: 125},
		{id: "store.RewoundError", err: &store.RewoundError{Dir: "/lib", Branch: "main", Old: strings.Repeat("a", 40), New: strings.Repeat("b", 40), Verified: true}, code: 5, run: 125},
		{id: "store.ErrExists", err: store.ErrExists, code: 1, run: 125,
			cmd: []string{"new", "hello"}, msg: "already exists"},
		{id: "store.ErrNotGitRepo", err: store.ErrNotGitRepo, code: 1, run: 125},
		{id: "store.ErrAlreadyGitRepo", err: store.ErrAlreadyGitRepo, code: 1, run: 125},
		{id: "store.ErrNothingToCommit", err: store.ErrNothingToCommit, code: 1, run: 125},
		{id: "store.ErrNoRemote", err: store.ErrNoRemote, code: 1, run: 125},

		{id: "templates.TemplateError", err: &templates.TemplateError{Field: "script", Message: "bad"}, code: 3, run: 125,
			cmd: []string{"render", "badtmpl"}, runCmd: []string{"run", "badtmpl", "--deck", "local"}, msg: "missing key .Values.nope"},
		{id: "templates.ParamError", err: &templates.ParamError{Param: "code", Message: "bad"}, code: 3, run: 125},
		{id: "templates.ParamErrors", err: &templates.ParamErrors{Errors: []*templates.ParamError{{Param: "code", Message: "bad"}}}, code: 3, run: 125,
			cmd: []string{"render", "hello", "--set", "code=abc"}, runCmd: []string{"run", "hello", "--deck", "local", "--set", "code=abc"}, msg: "param code"},
		{id: "templates.MissingParamsError", err: &templates.MissingParamsError{Names: []string{"dump"}}, code: 3, run: 125,
			cmd: []string{"render", "db-restore", "--deck", "local"}, runCmd: []string{"run", "db-restore", "--deck", "local"}, msg: "missing required param dump"},
		{id: "templates.SetError", err: &templates.SetError{Flag: "--set", Expr: "=x", Message: "bad"}, code: 3, run: 125,
			cmd: []string{"render", "hello", "--set", "=x"}, runCmd: []string{"run", "hello", "--set", "=x"}, msg: `--set "=x"`},

		{id: "credentials.SourceError", err: &credentials.SourceError{Credential: "TOKEN", Source: "fromEnv X", Message: "unset"}, code: 3, run: 125,
			runCmd: []string{"run", "credtest", "--deck", "local"}, msg: "credential TOKEN (fromEnv CSCRIPT_TEST_UNSET_TOKEN)"},

		{id: "runner.ScriptError", err: &runner.ScriptError{Code: 3}, code: 3, run: 3},
		{id: "runner.ScriptError", err: &runner.ScriptError{Code: 137, Reason: runner.ReasonOOMKilled}, code: 137, run: 137},
		{id: "runner.InterruptedError", err: &runner.InterruptedError{Signal: syscall.SIGTERM}, code: 143, run: 143},
		{id: "runner.InterruptedError", err: &runner.InterruptedError{}, code: 130, run: 130},
		{id: "runner.StartError", err: &runner.StartError{Pod: "p", Reason: "ErrImagePull"}, code: 125, run: 125},
		{id: "runner.MissingToolError", err: &runner.MissingToolError{Tool: "bash", Image: "x"}, code: 127, run: 127},
		{id: "runner.CannotExecError", err: &runner.CannotExecError{Message: "x"}, code: 126, run: 126},
		{id: "runner.PermissionError", err: &runner.PermissionError{Verb: "create", Resource: "pods"}, code: 6, run: 125},
		{id: "runner.LockedError", err: &runner.LockedError{Lease: "l", Holder: "h"}, code: 125, run: 125},
		{id: "runner.RunError", err: &runner.RunError{Op: "upload", Err: plain}, code: 125, run: 125},
		{id: "runner.RunError", err: &runner.RunError{Op: "exec", Err: &runner.PermissionError{Verb: "create", Resource: "pods"}}, code: 6, run: 125},
		{id: "runner.UnsupportedError", err: &runner.UnsupportedError{Backend: "a Docker deck", What: "-i", Hint: "x"}, code: 2, run: 2},
		{id: "runner.UnsupportedErrors", err: &runner.UnsupportedErrors{Errs: []*runner.UnsupportedError{{Backend: "a Docker deck", What: "-i", Hint: "x"}}}, code: 2, run: 2},
		{id: "kube.ConnectionLostError", err: &kube.ConnectionLostError{Op: "download", Err: plain}, code: 125, run: 125},
		{id: "transfer.TooLargeError", err: &transfer.TooLargeError{Limit: 1 << 30}, code: 6, run: 125},
		{id: "kube.ErrNoTeamRecord", err: kube.ErrNoTeamRecord, code: 4, run: 125},
		{id: "kube.ErrJobNotFound", err: &runner.RunError{Op: "find job", Err: kube.ErrJobNotFound}, code: 4, run: 125},
		{id: "docker.ErrContainerNotFound", err: &runner.RunError{Op: "find container", Err: docker.ErrContainerNotFound}, code: 4, run: 125},
		{id: "runner.CleanupFailedError", err: &runner.CleanupFailedError{Err: &runner.ScriptError{Code: 3}, Cleanup: plain}, code: 3, run: 3},
		{id: "kube.ConnectionLostError", err: &kube.ConnectionLostError{Op: "preflight", Err: refused}, code: 7, run: 125},
		{id: "runner.RunError", err: &runner.RunError{Op: "create pod", Err: refused}, code: 7, run: 125},

		{id: "lifecycle.ErrNotFound", err: lifecycle.ErrNotFound, code: 4, run: 125},
		{id: "lifecycle.NotFoundError", err: &lifecycle.NotFoundError{Name: "ghost", Deck: "dock"}, code: 4, run: 125,
			cmd: []string{"resource", "update", "ghost", "--deck", "dock"}, msg: `resource "ghost" not found in deck dock`},
		{id: "lifecycle.ConflictError", err: &lifecycle.ConflictError{Name: "vm1"}, code: 5, run: 125},
		{id: "lifecycle.BusyError", err: &lifecycle.BusyError{Name: "vm1"}, code: 5, run: 125},
		{id: "lifecycle.StateError", err: &lifecycle.StateError{Event: lifecycle.EventPull, State: lifecycle.StateTerminated}, code: 5, run: 125},
		{id: "lifecycle.InvalidError", err: &lifecycle.InvalidError{Message: "bad plan"}, code: 3, run: 125},
		{id: "lifecycle.EventError", err: &lifecycle.EventError{Event: lifecycle.EventUpdate, Name: "vm1", ExitCode: 1}, code: 1, run: 125},
		{id: "lifecycle.EventError", err: &lifecycle.EventError{Event: lifecycle.EventUpdate, Name: "vm1", Err: &runner.InterruptedError{}}, code: 130, run: 130},
		{id: "lifecycle.EventError", err: &lifecycle.EventError{Event: lifecycle.EventCreate, Name: "vm1", Err: &runner.MissingToolError{Tool: "bash"}}, code: 1, run: 125},
		{id: "lifecycle.EventError", err: &lifecycle.EventError{Event: lifecycle.EventCreate, Name: "vm1", Err: &runner.RunError{Op: "create pod", Err: refused}}, code: 7, run: 125},
		{id: "lifecycle.OutputError", err: &lifecycle.OutputError{Message: "bad output"}, code: 1, run: 125},

		{id: "history.ErrNotFound", err: history.ErrNotFound, code: 4, run: 125,
			cmd: []string{"runs", "show", "nope"}, msg: "run not found"},
		{id: "history.ErrAmbiguous", err: history.ErrAmbiguous, code: 4, run: 125},
		{id: "history.AmbiguousError", err: &history.AmbiguousError{Prefix: "2026", Matches: []string{"a", "b"}}, code: 4, run: 125},
		{id: "history.ErrFinished", err: history.ErrFinished, code: 1, run: 125},

		{id: "transfer.VerifyError", err: &transfer.VerifyError{Reason: "sha256 differs", WantBytes: -1, GotBytes: -1}, code: 1, run: 125},
		{id: "transfer.MissingToolError", err: &transfer.MissingToolError{Missing: []string{"tar"}}, code: 1, run: 125},
		{id: "transfer.UnsafeEntryError", err: &transfer.UnsafeEntryError{Entry: "../x", Reason: "outside"}, code: 1, run: 125},
		{id: "transfer.RemoteError", err: &transfer.RemoteError{Step: "tar", Err: plain}, code: 1, run: 125},
		{id: "transfer.ErrExists", err: transfer.ErrExists, code: 1, run: 125},

		{id: "redact.ErrClosed", err: redact.ErrClosed, code: 1, run: 125},
	}

	listed := map[string]bool{}
	for _, tt := range tests {
		listed[tt.id] = true
		t.Run(tt.id, func(t *testing.T) {
			if !isExported(tt.id, tt.err) {
				t.Fatalf("%T is not %s", tt.err, tt.id)
			}
			if got := e.failWith(tt.err, false); got.code != tt.code || !strings.Contains(got.err, tt.err.Error()) {
				t.Errorf("a command failing with %v: exit %d, stderr %q; want exit %d", tt.err, got.code, got.err, tt.code)
			}
			if got := e.failWith(tt.err, true); got.code != tt.run {
				t.Errorf("run failing with %v: exit %d, want %d", tt.err, got.code, tt.run)
			}
			for _, c := range []struct {
				args []string
				code int
			}{{tt.cmd, tt.code}, {tt.runCmd, tt.run}} {
				if c.args == nil {
					continue
				}
				r := e.run("", c.args...)
				if r.code != c.code || !strings.Contains(r.err, tt.msg) {
					t.Errorf("cscript %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), r.code, r.err, c.code, tt.msg)
				}
			}
		})
	}

	var missing []string
	for _, id := range exportedErrors(t) {
		if !listed[id] {
			missing = append(missing, id)
		}
		delete(listed, id)
	}
	if len(missing) > 0 {
		t.Errorf("exported errors without an exit code in this table: %s", strings.Join(missing, ", "))
	}
	for id := range listed {
		t.Errorf("%s is listed but is no exported error of the libraries", id)
	}
}

// failWith runs the real command tree with one command added that fails
// with err (as `run` does when asRun), and returns what cscript printed and
// its exit code.
func (e *env) failWith(err error, asRun bool) result {
	e.t.Helper()
	e.activate()
	var out, errb bytes.Buffer
	a := newApp(BuildInfo{Version: "test"}, strings.NewReader(""), &out, &errb)
	a.now = func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }
	cliApp := a.cli()
	cliApp.Commands = append(cliApp.Commands, &cli.Command{Name: "fail-with", Action: func(*cli.Context) error {
		if asRun {
			return runExitError(err)
		}
		return err
	}})
	code := a.runCLI(context.Background(), cliApp, []string{"cscript", "fail-with"})
	return result{out: out.String(), err: errb.String(), code: code}
}

// isExported says whether err is the exported error id ("pkg.Name"): a
// value of type *pkg.Name, or the sentinel pkg.Name (in err's chain).
func isExported(id string, err error) bool {
	if t := reflect.TypeOf(err); t.Kind() == reflect.Pointer && t.Elem().String() == id {
		return true
	}
	sentinels := map[string]error{
		"store.ErrNotFound": store.ErrNotFound, "store.ErrExists": store.ErrExists, "store.ErrNotGitRepo": store.ErrNotGitRepo,
		"store.ErrAlreadyGitRepo": store.ErrAlreadyGitRepo, "store.ErrNothingToCommit": store.ErrNothingToCommit,
		"store.ErrNoRemote": store.ErrNoRemote, "kube.ErrJobNotFound": kube.ErrJobNotFound, "docker.ErrContainerNotFound": docker.ErrContainerNotFound, "kube.ErrNoTeamRecord": kube.ErrNoTeamRecord,
		"lifecycle.ErrNotFound": lifecycle.ErrNotFound, "history.ErrNotFound": history.ErrNotFound,
		"history.ErrAmbiguous": history.ErrAmbiguous, "history.ErrFinished": history.ErrFinished,
		"transfer.ErrExists": transfer.ErrExists, "redact.ErrClosed": redact.ErrClosed,
	}
	s, ok := sentinels[id]
	return ok && errors.Is(err, s)
}

// exportedErrors finds, in the source of the libraries, every exported type
// with an Error method and every exported variable named Err…, as "pkg.Name".
func exportedErrors(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, pkg := range errorLibraries {
		dir := filepath.Join("..", pkg)
		fset := token.NewFileSet()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]*ast.File{} // by package name
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files[f.Name.Name] = append(files[f.Name.Name], f)
		}
		for name, pfiles := range files {
			for _, f := range pfiles {
				for _, d := range f.Decls {
					switch d := d.(type) {
					case *ast.FuncDecl:
						if d.Name.Name != "Error" || d.Recv == nil || len(d.Recv.List) != 1 {
							continue
						}
						typ := d.Recv.List[0].Type
						if s, ok := typ.(*ast.StarExpr); ok {
							typ = s.X
						}
						if id, ok := typ.(*ast.Ident); ok && id.IsExported() {
							ids = append(ids, name+"."+id.Name)
						}
					case *ast.GenDecl:
						if d.Tok != token.VAR {
							continue
						}
						for _, s := range d.Specs {
							for _, n := range s.(*ast.ValueSpec).Names {
								if n.IsExported() && strings.HasPrefix(n.Name, "Err") {
									ids = append(ids, name+"."+n.Name)
								}
							}
						}
					}
				}
			}
		}
	}
	sort.Strings(ids)
	if len(ids) < 40 {
		t.Fatalf("found only %d exported errors in %s: the scan is broken", len(ids), strings.Join(errorLibraries, ", "))
	}
	return ids
}
