package ui

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/history"
)

func TestFindTraceback(t *testing.T) {
	out := "Traceback (most recent call last):\n  File \"/work/s\", line 10, in <module>\n    main()\nreading the configuration\n  File \"/work/s\", line 4, in load\n    return json.loads(text)[key]\n           ~~~~^^^\nKeyError: 'missing'\nafter\n"
	tb := findTraceback("noise\n" + out)
	if tb == nil || len(tb.Frames) != 2 || tb.Frames[1].Func != "load" || tb.Frames[1].Code != "return json.loads(text)[key]" || tb.Exception != "KeyError: 'missing'" {
		t.Fatalf("traceback %+v", tb)
	}
	if findTraceback("no traceback here\n") != nil {
		t.Error("a traceback found in output without one")
	}
}

// The runs page filters by script, deck and state through action.FindRuns,
// as `cscript runs` does; an unknown state is refused, not ignored.
func TestRunsPageFilters(t *testing.T) {
	testHome(t)
	hist, err := (&action.Configuration{}).History(0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC) // only stored and shown, never compared with the clock
	ids := map[string]string{}
	for i, c := range []struct {
		script, deck string
		state        history.State
	}{{"hello", "local", history.StateSucceeded}, {"hello", "staging", history.StateFailed}, {"db-dump", "staging", history.StateFailed}} {
		at := start.Add(time.Duration(i) * time.Minute)
		rec := &history.Record{ID: history.NewRunID(at), Script: c.script, Deck: c.deck, Start: at}
		run, err := hist.Begin(rec)
		if err != nil {
			t.Fatal(err)
		}
		rec.State, rec.End = c.state, at.Add(time.Second)
		if err := run.Finish(rec); err != nil {
			t.Fatal(err)
		}
		ids[c.script+"@"+c.deck] = rec.ID
	}
	srv, base := testServer(t)
	c := session(t, srv)
	for query, want := range map[string][]string{
		"":                                []string{"hello@local", "hello@staging", "db-dump@staging"},
		"?state=failed":                   []string{"hello@staging", "db-dump@staging"},
		"?state=failed&script=hello":      []string{"hello@staging"},
		"?deck=local":                     []string{"hello@local"},
		"?script=db-dump&state=succeeded": nil,
	} {
		resp, err := c.Get(base + "/runs" + query)
		if err != nil {
			t.Fatal(err)
		}
		page := body(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("/runs%s: %s", query, resp.Status)
		}
		for run, id := range ids {
			if shown, wanted := strings.Contains(page, id), slices.Contains(want, run); shown != wanted {
				t.Errorf("/runs%s: run %s shown %v, want %v", query, run, shown, wanted)
			}
		}
	}
	resp, err := c.Get(base + "/runs?state=done")
	if err != nil {
		t.Fatal(err)
	}
	if page := body(t, resp); resp.StatusCode == http.StatusOK || !strings.Contains(page, "use one of running, succeeded") {
		t.Errorf("/runs?state=done: %s, want refused with the states named:\n%s", resp.Status, page)
	}
}
