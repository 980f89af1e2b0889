package commands

import (
	"fmt"
	"strings"
	"testing"

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
