package commands

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/history"
)

// `runs logs` of a detached Job run says where the rest of its output comes
// from; of a run in progress or finished, it prints the log and nothing else.
func TestRunsLogsOfADetachedRun(t *testing.T) {
	e := newEnv(t)
	dir, err := history.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	hist, err := history.Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, detached := range []bool{true, false} {
		rec := &history.Record{Script: "job", Mode: history.ModeJob}
		run, err := hist.Begin(rec)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(run.Output(), "so far\n")
		rec.Detached = detached
		if err := run.Update(rec); err != nil {
			t.Fatal(err)
		}
		res := e.mustRun("runs", "logs", rec.ID)
		hint := strings.Contains(res.err, "detached run still running") && strings.Contains(res.err, "cscript runs attach "+rec.ID)
		if res.out != "so far\n" || hint != detached {
			t.Errorf("detached=%v: stdout %q, stderr %q", detached, res.out, res.err)
		}
		if err := run.Finish(rec); err != nil {
			t.Fatal(err)
		}
	}
}

// `runs` filters by script, deck, state and start time (a duration back
// from the command's clock, or a date), says "no runs yet" on an empty
// history and something else when filters match nothing, and refuses a
// state that is none and the team flags without --cluster.
func TestRunsFilters(t *testing.T) {
	e := newEnv(t)
	var msgs strings.Builder
	say := func(args ...string) {
		r := e.run("", args...)
		fmt.Fprintf(&msgs, "$ cscript %s\n%s%s(exit %d)\n", strings.Join(args, " "), r.out, r.err, r.code)
	}
	say("runs")
	say("runs", "-o", "json")
	dir, err := history.DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	hist, err := history.Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) // env.run's clock
	for _, r := range []history.Record{
		{ID: "20261124-100000-aaaaaa", Script: "db-dump", Library: "local", Deck: "staging", Start: now.Add(-2 * time.Hour)},
		{ID: "20261121-120000-bbbbbb", Script: "db-dump", Library: "local", Deck: "local", Start: now.AddDate(0, 0, -3), ExitCode: 3},
		{ID: "20261114-120000-cccccc", Script: "hello", Library: "local", Deck: "local", Start: now.AddDate(0, 0, -10)},
	} {
		rec := r
		run, err := hist.Begin(&rec)
		if err != nil {
			t.Fatal(err)
		}
		rec.End = rec.Start.Add(time.Second)
		if err := run.Finish(&rec); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(args ...string) string {
		t.Helper()
		var recs []history.Record
		out := e.mustRun(append([]string{"runs", "-o", "json"}, args...)...).out
		if err := json.Unmarshal([]byte(out), &recs); err != nil {
			t.Fatalf("runs %v -o json: %v\n%s", args, err, out)
		}
		var got []string
		for _, r := range recs {
			got = append(got, r.ID[len(r.ID)-6:])
		}
		return strings.Join(got, " ")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "aaaaaa bbbbbb cccccc"},
		{[]string{"--script", "db-dump"}, "aaaaaa bbbbbb"},
		{[]string{"--script", "local/hello"}, "cccccc"},
		{[]string{"--deck", "local"}, "bbbbbb cccccc"},
		{[]string{"-d", "staging"}, "aaaaaa"},
		{[]string{"--state", "failed"}, "bbbbbb"},
		{[]string{"--state", "succeeded", "--deck", "local"}, "cccccc"},
		{[]string{"--since", "24h"}, "aaaaaa"},
		{[]string{"--since", "7d"}, "aaaaaa bbbbbb"},
		{[]string{"--since", "2026-11-20"}, "aaaaaa bbbbbb"},
		{[]string{"--since", "2026-11-21T11:00:00Z"}, "aaaaaa bbbbbb"},
		{[]string{"--script", "db-dump", "--limit", "1"}, "aaaaaa"},
		{[]string{"--script", "hello", "--state", "failed"}, ""},
	} {
		if got := ids(c.args...); got != c.want {
			t.Errorf("runs %s: %q, want %q", strings.Join(c.args, " "), got, c.want)
		}
	}
	// CSCRIPT_DECK is the deck of a run, not a filter of the history.
	t.Setenv("CSCRIPT_DECK", "staging")
	if got := ids(); got != "aaaaaa bbbbbb cccccc" {
		t.Errorf("runs with CSCRIPT_DECK set: %q", got)
	}
	t.Setenv("CSCRIPT_DECK", "")
	if out := e.mustRun("runs", "--state", "failed").out; !strings.Contains(out, "bbbbbb") || strings.Contains(out, "aaaaaa") {
		t.Errorf("runs --state failed (table):\n%s", out)
	}
	if r := e.mustRun("__complete", "runs", "--state", ""); r.out != ":default\nrunning\nsucceeded\nfailed\ninterrupted\nabandoned\n" {
		t.Errorf("__complete runs --state '' = %q", r.out)
	}
	say("runs", "--script", "hello", "--state", "failed")
	say("runs", "--state", "broken")
	say("runs", "--since", "yesterday")
	say("runs", "--user", "alice")
	say("runs", "hello")
	e.golden("runs-filters", msgs.String())
}
