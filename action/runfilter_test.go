package action

import (
	"testing"
	"time"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
)

// FindRuns is the one filter of the local history that `cscript runs`
// and the web UI's runs page both use: script (NAME or LIB/NAME), deck,
// state, since, a limit, and the total that tells "no runs yet" from
// "none match".
func TestFindRuns(t *testing.T) {
	h := newHome(t)
	if runs, total, err := h.c.FindRuns(RunFilter{}, 0); err != nil || len(runs) != 0 || total != 0 {
		t.Fatalf("FindRuns of an empty history = %v, %d, %v", runs, total, err)
	}
	hist, err := h.c.History(0)
	if err != nil {
		t.Fatal(err)
	}
	add := func(i int, script, deck string, state history.State) {
		start := testClock.Add(time.Duration(i) * time.Hour)
		rec := &history.Record{ID: history.NewRunID(start), Library: "team", Script: script, Deck: deck, Start: start}
		run, err := hist.Begin(rec)
		if err != nil {
			t.Fatal(err)
		}
		rec.State, rec.End = state, start.Add(time.Second)
		if err := run.Finish(rec); err != nil {
			t.Fatal(err)
		}
	}
	add(0, "hello", "local", history.StateSucceeded)
	add(1, "db-dump", "staging", history.StateFailed)
	add(2, "hello", "staging", history.StateFailed)
	add(3, "hello", "local", history.StateInterrupted)

	scripts := func(f RunFilter, limit int) []string {
		t.Helper()
		runs, total, err := h.c.FindRuns(f, limit)
		if err != nil || total != 4 {
			t.Fatalf("FindRuns(%+v) total %d, %v", f, total, err)
		}
		var out []string
		for _, r := range runs {
			out = append(out, r.Script+"@"+r.Deck+":"+string(r.State))
		}
		return out
	}
	for _, c := range []struct {
		f     RunFilter
		limit int
		want  []string
	}{
		{RunFilter{}, 0, []string{"hello@local:interrupted", "hello@staging:failed", "db-dump@staging:failed", "hello@local:succeeded"}},
		{RunFilter{}, 2, []string{"hello@local:interrupted", "hello@staging:failed"}},
		{RunFilter{Script: "hello"}, 0, []string{"hello@local:interrupted", "hello@staging:failed", "hello@local:succeeded"}},
		{RunFilter{Script: "team/db-dump"}, 0, []string{"db-dump@staging:failed"}},
		{RunFilter{Script: "hell"}, 0, nil},
		{RunFilter{Deck: "staging", State: history.StateFailed}, 1, []string{"hello@staging:failed"}},
		{RunFilter{Since: testClock.Add(2 * time.Hour)}, 0, []string{"hello@local:interrupted", "hello@staging:failed"}},
	} {
		got := scripts(c.f, c.limit)
		if len(got) != len(c.want) {
			t.Errorf("FindRuns(%+v, %d) = %v, want %v", c.f, c.limit, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("FindRuns(%+v, %d) = %v, want %v", c.f, c.limit, got, c.want)
				break
			}
		}
	}
	if _, _, err := h.c.FindRuns(RunFilter{State: "done"}, 0); fail.KindOf(err) != fail.Usage {
		t.Errorf("an unknown state: %v, want a usage error", err)
	}
}
