package history

import (
	"os"
	"strings"
	"testing"
	"time"
)

// stdout and stderr arrive in chunks that do not end at line ends (two exec
// streams); the log interleaves them line by line, never inside a line, and
// keeps an unfinished last line of each.
func TestOutputLogInterleavesWholeLines(t *testing.T) {
	s := openStore(t, 10)
	rec := &Record{Script: "s", Start: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	run, err := s.Begin(rec)
	if err != nil {
		t.Fatal(err)
	}
	out, errw := run.Output(), run.Stderr()
	for _, w := range []struct {
		stderr bool
		s      string
	}{
		{false, "out 1\nout "},
		{true, "err 1\ner"},
		{false, "2\nout 3"},
		{true, "r 2\n"},
		{false, "\n"},
		{true, "no newline at the end"},
		{false, "last"},
	} {
		target := out
		if w.stderr {
			target = errw
		}
		if _, err := target.Write([]byte(w.s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := run.Finish(rec); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.LogPath(rec.ID))
	if err != nil {
		t.Fatal(err)
	}
	want := "out 1\nerr 1\nout 2\nerr 2\nout 3\nlastno newline at the end"
	if string(b) != want {
		t.Errorf("log\n%q\nwant\n%q", b, want)
	}
	// A very long line without a newline is not held back without bound.
	run2, err := s.Begin(&Record{Script: "s", Start: rec.Start.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", maxPartialLine+1)
	if _, err := run2.Output().Write([]byte(long)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(s.LogPath(run2.ID())); err != nil || fi.Size() != int64(len(long)) {
		t.Errorf("a long partial line was held back: %v, %d bytes written", err, fi.Size())
	}
}
