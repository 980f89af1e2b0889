package history

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files (and the recorded stderr) under testdata/")

// traceCase is a script in testdata/trace run with a real interpreter. The
// expectations hold for any interpreter version; the golden files pin the
// exact trace for the recorded stderr.
type traceCase struct {
	file       string
	kind       TraceKind
	err        string // Trace.Error
	line       int    // Trace.Line
	firstLine  string // the trace's first line starts with this
	contains   []string
	notContain []string
}

var traceCases = []traceCase{
	{
		file: "nested.py", kind: TracePython,
		err:        "ValueError: invalid literal for int() with base 10: 'two'",
		firstLine:  "Traceback (most recent call last):",
		contains:   []string{"in main", "in load", "in parse", `return int(row["count"])`},
		notContain: []string{"connecting to the database", "some progress"},
	},
	{
		file: "chained_from.py", kind: TracePython,
		err:        "RuntimeError: config missing",
		firstLine:  "Traceback (most recent call last):",
		contains:   []string{"FileNotFoundError:", "The above exception was the direct cause of the following exception:", "in load"},
		notContain: []string{"reading config"},
	},
	{
		file: "chained_during.py", kind: TracePython,
		err:       "KeyError: 'handle'",
		firstLine: "Traceback (most recent call last):",
		contains:  []string{"ZeroDivisionError: division by zero", "During handling of the above exception, another exception occurred:", "in cleanup"},
	},
	{
		file: "syntax.py", kind: TracePython,
		err:       "SyntaxError: invalid syntax",
		firstLine: `  File "`,
		contains:  []string{"def f(:", "^"},
	},
	{
		file: "syntax_import.py", kind: TracePython,
		err:        "SyntaxError: expected ':'",
		firstLine:  "Traceback (most recent call last):",
		contains:   []string{"broken.py", "def g()"},
		notContain: []string{"importing"},
	},
	{
		file: "group.py", kind: TracePython,
		err:       "ExceptionGroup: many (2 sub-exceptions)",
		firstLine: "  + Exception Group Traceback (most recent call last):",
		contains:  []string{"ValueError: a", "TypeError: b", "+------------------------------------"},
	},
	{
		file: "multiline_note.py", kind: TracePython,
		err:        "ValueError: line one",
		firstLine:  "Traceback (most recent call last):",
		contains:   []string{"line two", "a note", "raise e"},
		notContain: []string{"handled and logged", "ZeroDivisionError"},
	},
	{
		file: "recursion.py", kind: TracePython,
		err:       "RecursionError: maximum recursion depth exceeded",
		firstLine: "Traceback (most recent call last):",
		contains:  []string{"[Previous line repeated"},
	},
	{
		file: "not_found.bash", kind: TraceShell, line: 4,
		err:      "cd: /nonexistent/dir: No such file or directory",
		contains: []string{"starting", "line 2: nosuchcmd: command not found"},
	},
	{
		file: "not_found.dash", kind: TraceShell, line: 4,
		err:      "cd: can't cd to /nonexistent/dir",
		contains: []string{"2: nosuchcmd: not found"},
	},
	{
		file: "not_found.busybox", kind: TraceShell, line: 4,
		err:      "cd: can't cd to /nonexistent/dir: No such file or directory",
		contains: []string{"line 2: nosuchcmd: not found"},
	},
	{
		file: "unbound.bash", kind: TraceShell, line: 3,
		err:      "UNDEFINED_VAR: unbound variable",
		contains: []string{"about to fail"},
	},
	{
		file: "tail.bash", kind: TraceTail,
		firstLine:  "log line 31",
		contains:   []string{"log line 80"},
		notContain: []string{"log line 30\n"},
	},
	{
		file: "error_then_noise.bash", kind: TraceShell, line: 1,
		err:        "nosuchcmd: command not found",
		contains:   []string{"[… 10 lines …]", "noise 11\n", "noise 60"},
		notContain: []string{"noise 10\n"},
	},
	{
		file: "python_then_shell.bash", kind: TraceShell, line: 2,
		err:      "undefined_helper_cmd: command not found",
		contains: []string{"NameError"},
	},
}

// runScript runs a testdata script with its real interpreter and returns its
// stderr, with the testdata directory replaced by <dir>.
func runScript(t *testing.T, dir, file string) string {
	t.Helper()
	var cmd *exec.Cmd
	switch filepath.Ext(file) {
	case ".py":
		cmd = exec.Command("python3", filepath.Join(dir, file))
	case ".bash":
		cmd = exec.Command("bash", file)
	case ".dash":
		cmd = exec.Command("dash", file)
	case ".busybox":
		cmd = exec.Command("busybox", "sh", file)
	default:
		t.Fatalf("no interpreter for %s", file)
	}
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("run %s: %v (want a script that exits non-zero)", file, err)
	}
	return strings.ReplaceAll(stderr.String(), dir, "<dir>")
}

func formatTrace(tr Trace) string {
	return fmt.Sprintf("kind: %s\nerror: %s\nline: %d\n--- text\n%s", tr.Kind, tr.Error, tr.Line, tr.Text)
}

func TestParseTraceRealInterpreters(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "trace"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range traceCases {
		t.Run(tc.file, func(t *testing.T) {
			stderr := runScript(t, dir, tc.file)
			got := ParseTrace(stderr)
			if got.Kind != tc.kind || got.Error != tc.err || got.Line != tc.line {
				t.Errorf("got kind %q error %q line %d, want kind %q error %q line %d\nstderr:\n%s",
					got.Kind, got.Error, got.Line, tc.kind, tc.err, tc.line, stderr)
			}
			if tc.firstLine != "" && !strings.HasPrefix(got.Text, tc.firstLine) {
				t.Errorf("trace starts %q, want %q", firstLine(got.Text), tc.firstLine)
			}
			for _, s := range tc.contains {
				if !strings.Contains(got.Text, s) {
					t.Errorf("trace lacks %q:\n%s", s, got.Text)
				}
			}
			for _, s := range tc.notContain {
				if strings.Contains(got.Text, s) {
					t.Errorf("trace contains %q:\n%s", s, got.Text)
				}
			}
			if tc.kind == TracePython && !strings.HasSuffix(got.Text, "\n") {
				t.Errorf("trace does not end with a newline: %q", got.Text)
			}
			if got.Text != ExtractTrace(stderr) {
				t.Error("ExtractTrace differs from ParseTrace().Text")
			}

			// Golden: the recorded stderr and the trace parsed from it.
			stderrFile := filepath.Join(dir, tc.file+".stderr")
			goldenFile := filepath.Join(dir, tc.file+".golden")
			if *update {
				writeGolden(t, stderrFile, stderr)
				writeGolden(t, goldenFile, formatTrace(got))
				return
			}
			recorded, err := os.ReadFile(stderrFile)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			want, err := os.ReadFile(goldenFile)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), formatTrace(ParseTrace(string(recorded)))); diff != "" {
				t.Errorf("trace of %s differs from %s (-want +got):\n%s", stderrFile, goldenFile, diff)
			}
		})
	}
}

func writeGolden(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func TestParseTraceEdges(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Trace
	}{
		{"empty", "", Trace{}},
		{"blank", "\n\n  \n", Trace{}},
		{"plain", "oops\n", Trace{Kind: TraceTail, Text: "oops\n"}},
		{"crlf", "Traceback (most recent call last):\r\n  File \"x\", line 1, in <module>\r\nKeyError: 1\r\n",
			Trace{Kind: TracePython, Error: "KeyError: 1", Text: "Traceback (most recent call last):\n  File \"x\", line 1, in <module>\nKeyError: 1\n"}},
		{"header without exception (cut off)", "Traceback (most recent call last):\n  File \"x\", line 1, in <module>\n",
			Trace{Kind: TracePython, Text: "Traceback (most recent call last):\n  File \"x\", line 1, in <module>\n"}},
		{"bash -c", "bash: nosuch: command not found\n",
			Trace{Kind: TraceShell, Error: "nosuch: command not found", Text: "bash: nosuch: command not found\n"}},
		{"last of two tracebacks, unchained", "Traceback (most recent call last):\n  File \"a\", line 1\nA: 1\nbetween\nTraceback (most recent call last):\n  File \"b\", line 2\nB: 2\n",
			Trace{Kind: TracePython, Error: "B: 2", Text: "Traceback (most recent call last):\n  File \"b\", line 2\nB: 2\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ParseTrace(tt.in)); diff != "" {
				t.Errorf("ParseTrace(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func FuzzParseTrace(f *testing.F) {
	f.Add("Traceback (most recent call last):\n  File \"x\", line 1\nE: x\n")
	f.Add("  + Exception Group Traceback (most recent call last):\n  | E: 1\n")
	f.Add("  File \"x\", line 1\n    x\nSyntaxError: y\n")
	f.Add("s: line 2: x: not found\n")
	f.Fuzz(func(t *testing.T, s string) {
		tr := ParseTrace(s)
		if strings.TrimSpace(s) != "" && tr.Text == "" {
			t.Errorf("no trace for non-empty stderr %q", s)
		}
	})
}
