package commands

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/transfer"
)

// run --max-download takes a size; a bad one fails the run (run's own
// failures exit 125) naming it.
func TestMaxDownloadFlag(t *testing.T) {
	e := newEnv(t)
	e.mustRun("init")
	r := e.run("", "run", "hello", "--deck", "local", "--max-download", "lots")
	if r.code != ExitUsage || !strings.Contains(r.err, `--max-download "lots"`) {
		t.Errorf("exit %d, stderr %q; want exit %d and the value named", r.code, r.err, ExitUsage)
	}
	for in, want := range map[string]int64{"10Gi": 10 << 30, "500Mi": 500 << 20, "1G": 1e9, "0": -1, "": 0} {
		got, err := parseMaxDownload(in)
		if err != nil || got != want {
			t.Errorf("parseMaxDownload(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseMaxDownload("-1Gi"); err == nil {
		t.Error("a negative size was accepted")
	}
}

// A download over the limit fails the run (exit 125) with a message that
// names the limit and the flag that raises it.
func TestTooLargeDownloadNamesTheFlag(t *testing.T) {
	err := runExitError(withHints(&runner.RunError{Op: "download /data/dump", Err: fmt.Errorf("download /data/dump: %w", &transfer.TooLargeError{Limit: 10 << 30})}))
	var tl *transfer.TooLargeError
	if ExitCodeOf(err) != ExitRunFailed || !errors.As(err, &tl) || !strings.Contains(err.Error(), "10 GiB") || !strings.Contains(err.Error(), "--max-download") {
		t.Errorf("error %q (exit %d); want exit %d and the limit and --max-download named", err, ExitCodeOf(err), ExitRunFailed)
	}
}
