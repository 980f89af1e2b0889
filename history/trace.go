package history

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// TraceLines is how many of the script's last stderr lines a trace keeps when
// no Python traceback is recognised.
const TraceLines = 50

// TraceKind says what a Trace was recognised as.
type TraceKind string

// Kinds of Trace.
const (
	TracePython TraceKind = "python" // a whole Python traceback (with its chain)
	TraceShell  TraceKind = "shell"  // the last lines of stderr, with a shell error recognised in them
	TraceTail   TraceKind = "tail"   // the last lines of stderr, nothing recognised
)

// Trace is the failure trace extracted from the end of a script's stderr.
type Trace struct {
	Kind TraceKind
	// Text is the trace: a whole Python traceback, or the last TraceLines
	// lines of stderr (for a shell error that lies before them, its line, a
	// marker and the last lines). Empty when stderr was empty.
	Text string
	// Error is the final error: "KeyError: 'k'", "nosuchcmd: command not found".
	Error string
	// Line is the script line a shell error names (0 when unknown).
	Line int
}

// ExtractTrace returns ParseTrace(stderrTail).Text.
func ExtractTrace(stderrTail string) string {
	return ParseTrace(stderrTail).Text
}

// ParseTrace extracts the failure trace from the end of a script's stderr.
//
// A Python traceback is found from the last "Traceback (most recent call
// last):" (or "+ Exception Group Traceback") and extended backwards over
// chained exceptions ("During handling of the above exception…", "The above
// exception was the direct cause…") and forwards to the exception line, its
// continuation lines (multi-line messages, notes) and, for exception groups,
// the whole group. A SyntaxError of the script itself, which Python prints
// without a "Traceback" header, is recognised too.
//
// Shell errors are recognised in the formats of bash ("s.sh: line 2: x:
// command not found"), dash ("s.sh: 2: x: not found") and busybox ("s.sh:
// cd: line 4: can't cd to /x"). When both kinds are present, the one that
// ends later wins.
func ParseTrace(stderrTail string) Trace {
	s := strings.ReplaceAll(stderrTail, "\r\n", "\n")
	s = strings.TrimRight(s, "\n")
	if strings.TrimSpace(s) == "" {
		return Trace{}
	}
	lines := strings.Split(s, "\n")

	py, pyOK := pythonTrace(lines)
	sh, shOK := shellError(lines)
	switch {
	case pyOK && (!shOK || py.end >= sh.index+1):
		return Trace{Kind: TracePython, Text: joinLines(lines[py.start:py.end]), Error: py.err}
	case shOK:
		t := Trace{Kind: TraceShell, Error: sh.msg, Line: sh.line}
		from := max(0, len(lines)-TraceLines)
		if sh.index < from {
			t.Text = lines[sh.index] + "\n" + fmt.Sprintf("[… %d lines …]\n", from-sh.index-1) + joinLines(lines[from:])
		} else {
			t.Text = joinLines(lines[from:])
		}
		return t
	}
	return Trace{Kind: TraceTail, Text: joinLines(lines[max(0, len(lines)-TraceLines):])}
}

func joinLines(lines []string) string {
	return strings.Join(lines, "\n") + "\n"
}

var (
	pyHeader      = regexp.MustCompile(`^(Traceback|  \+ Exception Group Traceback) \(most recent call last\):\s*$`)
	pyGroupHeader = regexp.MustCompile(`^  \+ Exception Group Traceback`)
	pyChain       = regexp.MustCompile(`^(During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)\s*$`)
	pyFileLine    = regexp.MustCompile(`^  File ".*", line \d+`)
	pySyntaxError = regexp.MustCompile(`^(SyntaxError|IndentationError|TabError)(: .*)?$`)
	pyGroupError  = regexp.MustCompile(`^  \| ([A-Za-z_][\w.]*(: .*)?)$`)
)

// maxContinuation bounds the lines taken after an exception line.
const maxContinuation = 50

type pySpan struct {
	start, end int // lines[start:end]
	err        string
}

func indented(l string) bool {
	return strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")
}

func pythonTrace(lines []string) (pySpan, bool) {
	last := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if pyHeader.MatchString(lines[i]) {
			last = i
			break
		}
	}
	var span pySpan
	found := false
	if last >= 0 {
		end, errLine := tracebackEnd(lines, last)
		start := chainStart(lines, last)
		span, found = pySpan{start: start, end: end, err: errLine}, true
	}
	// A SyntaxError in the script itself has no header: `  File "x", line N`,
	// the code, a caret line, then "SyntaxError: …".
	for k := len(lines) - 1; k >= 0 && (!found || k >= span.end); k-- {
		if !pySyntaxError.MatchString(lines[k]) {
			continue
		}
		j := k
		for j > 0 && indented(lines[j-1]) && k-j < 6 {
			j--
		}
		if j < k && pyFileLine.MatchString(lines[j]) {
			return pySpan{start: j, end: k + 1, err: lines[k]}, true
		}
		break
	}
	return span, found
}

// tracebackEnd returns the end (exclusive) of the traceback whose header is
// at h, and its exception line.
func tracebackEnd(lines []string, h int) (int, string) {
	e := h + 1
	for e < len(lines) && (indented(lines[e]) || (lines[e] == "" && e+1 < len(lines) && indented(lines[e+1]))) {
		e++
	}
	if pyGroupHeader.MatchString(lines[h]) {
		errLine := ""
		for _, l := range lines[h+1 : e] {
			if m := pyGroupError.FindStringSubmatch(l); m != nil {
				errLine = m[1]
				break
			}
		}
		return e, errLine
	}
	if e >= len(lines) || lines[e] == "" || pyHeader.MatchString(lines[e]) {
		return e, ""
	}
	errLine := lines[e]
	e++
	for n := 0; e < len(lines) && n < maxContinuation; n++ {
		l := lines[e]
		if strings.TrimSpace(l) == "" || pyHeader.MatchString(l) || pyChain.MatchString(l) || isShellError(l) {
			break
		}
		e++
	}
	return e, errLine
}

// chainStart walks back from the header at h over chained tracebacks.
func chainStart(lines []string, h int) int {
	start := h
	for {
		i := start - 1
		for i >= 0 && strings.TrimSpace(lines[i]) == "" {
			i--
		}
		if i < 0 || !pyChain.MatchString(lines[i]) {
			return start
		}
		prev := -1
		for j := i - 1; j >= 0; j-- {
			if pyHeader.MatchString(lines[j]) {
				prev = j
				break
			}
		}
		if prev < 0 {
			return start
		}
		start = prev
	}
}

var (
	// bash and busybox: "s.sh: line 2: msg", busybox builtins "s.sh: cd: line 4: msg".
	shBashLine = regexp.MustCompile(`^([^\s:]+): (?:([^\s:]+): )?line (\d+): (.+)$`)
	// dash: "s.sh: 2: msg".
	shDashLine = regexp.MustCompile(`^([^\s:]+): (\d+): (.+)$`)
	// bash -c / sh -c: "bash: nosuch: command not found".
	shNotFound = regexp.MustCompile(`^([^\s:]+): (.+: (?:command )?not found)$`)
)

func isShellError(l string) bool {
	return shBashLine.MatchString(l) || shDashLine.MatchString(l) || shNotFound.MatchString(l)
}

type shSpan struct {
	index int
	line  int
	msg   string
}

func shellError(lines []string) (shSpan, bool) {
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if m := shBashLine.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[3])
			msg := m[4]
			if m[2] != "" {
				msg = m[2] + ": " + msg
			}
			return shSpan{index: i, line: n, msg: msg}, true
		}
		if m := shDashLine.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[2])
			return shSpan{index: i, line: n, msg: m[3]}, true
		}
		if m := shNotFound.FindStringSubmatch(l); m != nil {
			return shSpan{index: i, msg: m[2]}, true
		}
	}
	return shSpan{}, false
}
