package history

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// output.log stops at Store.MaxLog: then one line says so, and the rest of
// the output is not kept (it still reaches the terminal, and the end of
// stderr still makes the trace).
func TestOutputLogCap(t *testing.T) {
	s := openStore(t, 0)
	s.MaxLog = 1000
	rec := &Record{Script: "loud"}
	run, err := s.Begin(rec)
	if err != nil {
		t.Fatal(err)
	}
	var term bytes.Buffer
	out := io.MultiWriter(&term, run.Output())
	errw := io.MultiWriter(&term, run.Stderr())
	for i := range 100 {
		if _, err := fmt.Fprintf(out, "line %03d of the output ........\n", i); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if _, err := fmt.Fprint(errw, "Traceback: the last words\n"); err != nil {
		t.Fatal(err)
	}
	rec.ExitCode = 1
	if err := run.Finish(rec); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(term.String(), "line 099") || !strings.Contains(term.String(), "the last words") {
		t.Error("the terminal did not get everything")
	}
	log := checkCapped(t, s, rec.ID, 1000)
	if strings.Contains(log, "line 099") {
		t.Error("output after the cap is in the log")
	}
	if tr, err := os.ReadFile(s.ArtifactPath(rec.ID, ArtifactTrace)); err != nil || !strings.Contains(string(tr), "the last words") {
		t.Errorf("trace %q, %v; want the end of stderr", tr, err)
	}
	if DefaultMaxLog != 100<<20 {
		t.Errorf("DefaultMaxLog = %d", DefaultMaxLog)
	}
}

// A run resumed after its log reached the cap does not start it again.
func TestOutputLogCapAcrossResume(t *testing.T) {
	s := openStore(t, 0)
	s.MaxLog = 500
	rec := &Record{Script: "loud"}
	run, err := s.Begin(rec)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(run.Output(), strings.Repeat("before the detach .....\n", 40))
	rec.State, rec.Detached = StateRunning, true
	if err := run.Update(rec); err != nil {
		t.Fatal(err)
	}
	run.releaseOwner()
	again, got, err := s.Resume(rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(again.Output(), "after the resume\n")
	if err := again.Finish(got); err != nil {
		t.Fatal(err)
	}
	if log := checkCapped(t, s, rec.ID, 500); strings.Contains(log, "after the resume") {
		t.Error("output after the cap is in the log")
	}
}

// checkCapped checks that the log of run id is whole lines of at most max
// bytes, then one truncation line, and returns it.
func checkCapped(t *testing.T, s *Store, id string, max int) string {
	t.Helper()
	b, err := os.ReadFile(s.LogPath(id))
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	lines := strings.Split(strings.TrimSuffix(log, "\n"), "\n")
	last := lines[len(lines)-1]
	if n := strings.Count(log, "[output truncated"); n != 1 || !strings.HasPrefix(last, fmt.Sprintf("[output truncated at %d bytes;", max)) || !strings.HasSuffix(log, "\n") {
		t.Errorf("%d truncation lines, last line %q", n, last)
	}
	if kept := len(log) - len(last) - 1; kept > max || kept < max-100 {
		t.Errorf("%d bytes kept before the truncation line, want whole lines up to %d", kept, max)
	}
	return log
}
