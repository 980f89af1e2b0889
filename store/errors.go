package store

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cscript-dev/cscript/internal/fail"
)

// ErrNotFound is matched (errors.Is) by every *NotFoundError.
var ErrNotFound = fail.New(fail.NotFound, "not found")

// Problem is one thing wrong with a file of a library, at a position.
type Problem struct {
	File string // path of the file, as the library root was given
	Line int    // 1-based; 0 when the problem is about the whole file
	Col  int    // 1-based; 0 when unknown
	// Field is the dotted path of the field, e.g. "params[1].default" (empty for the whole file).
	Field string
	// Message says what is wrong and what to do about it.
	Message string
}

// String formats the problem as "file:line:col: message". A position that
// is not known is left out: "file:line: message" (YAML syntax errors carry
// no column) or "file: message" (about the whole file).
func (p Problem) String() string {
	switch {
	case p.Line == 0:
		return fmt.Sprintf("%s: %s", p.File, p.Message)
	case p.Col == 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Message)
}

// ValidationError holds every problem found, sorted by file and position.
type ValidationError struct {
	// What, when set, says what is invalid (`deck "prod" is invalid`); the
	// message starts with it.
	What     string
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.What != "" {
		b.WriteString(e.What + ": ")
	}
	if len(e.Problems) == 1 {
		b.WriteString(e.Problems[0].String())
		return b.String()
	}
	fmt.Fprintf(&b, "%d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Kind is fail.Invalid.
func (e *ValidationError) Kind() fail.Kind { return fail.Invalid }

// SortProblems orders problems by file, line and column, keeping the order
// of equal ones: the one order of every list of problems (scripts, decks,
// lifecycle definitions).
func SortProblems(ps []Problem) { sortProblems(ps) }

// sortProblems orders problems by file, line and column, keeping the order of equal ones.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// problemsErr returns a *ValidationError for ps, or nil when there are none.
func problemsErr(ps []Problem) error {
	if len(ps) == 0 {
		return nil
	}
	cp := append([]Problem(nil), ps...)
	sortProblems(cp)
	return &ValidationError{Problems: cp}
}

// NotFoundError says that a script, deck or library of that name does not exist.
type NotFoundError struct {
	What string // "script", "deck", "library" or "lifecycle"
	Name string
	// Suggestions are existing names close to Name, best first.
	Suggestions []string
	// Hint, when set, says what to do (e.g. which command creates the thing).
	Hint string
}

func (e *NotFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q not found", e.What, e.Name)
	if len(e.Suggestions) > 0 {
		fmt.Fprintf(&b, ": did you mean %s?", quoteList(e.Suggestions, "or"))
	}
	if e.Hint != "" {
		b.WriteString(": ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Kind is fail.NotFound.
func (e *NotFoundError) Kind() fail.Kind { return fail.NotFound }

// AmbiguousError says that a name exists in several libraries and needs a LIB/NAME reference.
type AmbiguousError struct {
	What      string // "script", "deck" or "lifecycle"
	Name      string
	Libraries []string // in search order
}

func (e *AmbiguousError) Error() string {
	kind := e.What
	if kind == "" {
		kind = "script"
	}
	return fmt.Sprintf("%s %q is in several libraries (%s): use LIB/NAME, e.g. %s/%s",
		kind, e.Name, strings.Join(e.Libraries, ", "), e.Libraries[0], e.Name)
}

// Kind is fail.NotFound: the name does not find one thing.
func (e *AmbiguousError) Kind() fail.Kind { return fail.NotFound }

func quoteList(names []string, conj string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	switch len(q) {
	case 0:
		return ""
	case 1:
		return q[0]
	default:
		return strings.Join(q[:len(q)-1], ", ") + " " + conj + " " + q[len(q)-1]
	}
}

// Suggest returns up to three of candidates close to name, closest first
// (by EditDistance): the one "did you mean" of every library object.
func Suggest(name string, candidates []string) []string { return suggest(name, candidates) }

// suggest returns up to three of candidates close to name, closest first.
func suggest(name string, candidates []string) []string {
	type scored struct {
		s string
		d int
	}
	var out []scored
	for _, c := range candidates {
		d := EditDistance(name, c)
		max := len(name) / 3
		if max < 2 {
			max = 2
		}
		if d <= max || (len(name) >= 3 && (strings.Contains(c, name) || strings.Contains(name, c))) {
			out = append(out, scored{c, d})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].d != out[j].d {
			return out[i].d < out[j].d
		}
		return out[i].s < out[j].s
	})
	var res []string
	for i := 0; i < len(out) && i < 3; i++ {
		if len(res) > 0 && res[len(res)-1] == out[i].s {
			continue
		}
		res = append(res, out[i].s)
	}
	return res
}

// EditDistance counts the edits from a to b, in runes: insertions,
// deletions, substitutions and swaps of two neighbours (rnu → run is one;
// the optimal string alignment distance). Every "did you mean" of cscript
// ranks by it: commands, scripts, decks, lifecycles, values keys.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rows: two back (for a swap), the previous one and this one.
	back, prev, cur := make([]int, len(rb)+1), make([]int, len(rb)+1), make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], back[j-2]+1)
			}
		}
		back, prev, cur = prev, cur, back
	}
	return prev[len(rb)]
}
