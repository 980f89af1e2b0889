package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cscript-dev/cscript/redact"
)

var t0 = time.Date(2026, 11, 24, 21, 53, 1, 0, time.UTC)

func openStore(t *testing.T, keep int) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state", "cscript", "runs"), keep)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkTree checks modes (dirs 0700, files 0600) and that no temporary file
// is left anywhere under the store.
func checkTree(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if d.Name() != pruneLock && (strings.HasPrefix(d.Name(), ".") || strings.Contains(d.Name(), ".tmp")) {
			t.Errorf("temporary file left: %s", path)
		}
		want := fs.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != pruneLock {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestOpenDefaults(t *testing.T) {
	s := openStore(t, 0)
	if s.Keep() != DefaultKeep {
		t.Errorf("Keep = %d, want %d", s.Keep(), DefaultKeep)
	}
	checkTree(t, s.Root())
	if _, err := Open("", 1); err == nil {
		t.Error("Open of an empty dir: no error")
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	tests := []struct{ xdg, want string }{
		{"/xdg/state", "/xdg/state/cscript/runs"},
		{"", "/home/u/.local/state/cscript/runs"},
		{"relative/path", "/home/u/.local/state/cscript/runs"},
	}
	for _, tt := range tests {
		t.Setenv("XDG_STATE_HOME", tt.xdg)
		got, err := DefaultDir()
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("XDG_STATE_HOME=%q: got %q, want %q", tt.xdg, got, tt.want)
		}
	}
}

func TestRunIDs(t *testing.T) {
	label := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`) // DNS-1123 label, also a label value
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		id := NewRunID(t0.Add(time.Duration(i) * time.Second))
		if !label.MatchString(id) || len(id) > 63 {
			t.Fatalf("%q is not a DNS label", id)
		}
		if seen[id] {
			t.Fatalf("duplicate %q", id)
		}
		seen[id] = true
		if id <= prev {
			t.Fatalf("%q does not sort after %q", id, prev)
		}
		prev = id
		if s := ShortID(id); len(s) != 6 || !strings.HasSuffix(id, "-"+s) || !label.MatchString(s) {
			t.Fatalf("ShortID(%q) = %q", id, s)
		}
	}
	if got := NewRunID(time.Date(2026, 11, 24, 22, 53, 1, 0, time.FixedZone("CET", 3600))); !strings.HasPrefix(got, "20261124-215301-") {
		t.Errorf("NewRunID is not in UTC: %q", got)
	}
	for _, bad := range []string{"", "..", "a/b", "../x", "a..b", ".hidden", "-x", strings.Repeat("a", 64)} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestRunLifecycle(t *testing.T) {
	secret := "pg-Pa55word-XYZ"
	s := openStore(t, 0)
	s.Redactor = redact.New(secret)
	s.Now = func() time.Time { return t0.Add(5 * time.Second) }

	rec := &Record{
		Script: "db-restore", Library: "ops", LibraryCommit: "abc123", Deck: "prod",
		Backend: BackendKubernetes, Mode: ModePod, Context: "kind", Namespace: "db",
		Image: "postgres:17", User: "alice", Start: t0,
		Message: "url postgres://u:" + secret + "@db",
		Uploads: []TransferRecord{{From: "./dump-" + secret + ".sql", To: "/work/dump.sql", Bytes: 10, SHA256: "ab"}},
	}
	run, err := s.Begin(rec)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID == "" || rec.State != StateRunning || !strings.HasPrefix(rec.ID, "20261124-215301-") {
		t.Fatalf("Begin left ID %q state %q", rec.ID, rec.State)
	}
	if rec.Uploads[0].From != "./dump-"+secret+".sql" {
		t.Error("Begin changed the caller's record while redacting")
	}
	if got, _ := s.Get(rec.ID); got.State != StateRunning {
		t.Errorf("stored state %q, want running", got.State)
	}
	checkTree(t, s.Root())

	// Stdout and stderr written concurrently, the secret split across writes.
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 100 {
			fmt.Fprintf(run.Output(), "out %d pg-Pa5", i)
			fmt.Fprintf(run.Output(), "5word-XYZ done\n")
		}
	}()
	go func() {
		defer wg.Done()
		io.WriteString(run.Stderr(), "Traceback (most recent call last):\n  File \"/work/s.py\", line 3, in <module>\n    connect()\n")
		for _, c := range "RuntimeError: bad password " + secret + "\n" {
			io.WriteString(run.Stderr(), string(c))
		}
	}()
	wg.Wait()
	if err := run.SaveArtifact(ArtifactScript, []byte("psql -c 'x' # "+secret)); err != nil {
		t.Fatal(err)
	}
	if err := run.SaveArtifact(ArtifactPod, []byte("kind: Pod\n")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"../x", "a/b", "", ".hidden", RecordFile, LogFile} {
		if err := run.SaveArtifact(bad, nil); err == nil {
			t.Errorf("SaveArtifact(%q): no error", bad)
		}
	}
	rec.Pod = "cscript-db-restore-" + ShortID(rec.ID)
	if err := run.Update(rec); err != nil {
		t.Fatal(err)
	}

	rec.ExitCode = 1
	rec.Reason = "Error"
	if err := run.Finish(rec); err != nil {
		t.Fatal(err)
	}
	if rec.State != StateFailed || !rec.End.Equal(t0.Add(5*time.Second)) {
		t.Errorf("after Finish: state %q end %v", rec.State, rec.End)
	}
	checkTree(t, s.Root())
	if got, want := listDir(t, run.Dir()), []string{LogFile, ArtifactPod, RecordFile, ArtifactScript, ArtifactTrace}; !slices.Equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}

	// The secret is nowhere on disk.
	filepath.WalkDir(s.Root(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), secret) || strings.Contains(string(b), "Pa55word") {
			t.Errorf("%s contains the secret:\n%s", path, b)
		}
		return nil
	})

	log, err := os.ReadFile(s.LogPath(rec.ID))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "pg-Pa5"); n != 0 {
		t.Errorf("log has %d secret prefixes", n)
	}
	if n := strings.Count(string(log), " *** done\n"); n != 100 {
		t.Errorf("log has %d redacted stdout lines, want 100:\n%s", n, log)
	}
	trace, err := os.ReadFile(s.TracePath(rec.ID))
	if err != nil {
		t.Fatal(err)
	}
	wantTrace := "Traceback (most recent call last):\n  File \"/work/s.py\", line 3, in <module>\n    connect()\nRuntimeError: bad password ***\n"
	if diff := cmp.Diff(wantTrace, string(trace)); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}

	got, err := s.Get(rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := *rec
	want.Message = "url postgres://u:***@db"
	want.Uploads = []TransferRecord{{From: "./dump-***.sql", To: "/work/dump.sql", Bytes: 10, SHA256: "ab"}}
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("stored record (-want +got):\n%s", diff)
	}

	// Writing after Finish fails; finishing again only rewrites run.json.
	if _, err := io.WriteString(run.Output(), "late"); err == nil {
		t.Error("write after Finish: no error")
	}
	if err := run.SaveArtifact(ArtifactEvents, nil); !errors.Is(err, ErrFinished) {
		t.Errorf("SaveArtifact after Finish: %v", err)
	}
	rec.Message = "again"
	if err := run.Finish(rec); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(rec.ID); got.Message != "again" {
		t.Errorf("second Finish did not rewrite run.json")
	}
}

func TestSucceededRunDropsArtifacts(t *testing.T) {
	s := openStore(t, 0)
	rec := &Record{Script: "hello"}
	run, err := s.Begin(rec)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(run.Stderr(), "warning: something\n")
	io.WriteString(run.Output(), "hello\n")
	run.SaveArtifact(ArtifactScript, []byte("echo hello"))
	run.SaveArtifact(ArtifactPod, []byte("kind: Pod"))
	if err := run.Finish(rec); err != nil {
		t.Fatal(err)
	}
	if rec.State != StateSucceeded {
		t.Errorf("state %q", rec.State)
	}
	if got, want := listDir(t, run.Dir()), []string{LogFile, RecordFile}; !slices.Equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
	log, _ := os.ReadFile(s.LogPath(rec.ID))
	if string(log) != "warning: something\nhello\n" {
		t.Errorf("log %q", log)
	}
}

func TestInterruptedRunKeepsTrace(t *testing.T) {
	s := openStore(t, 0)
	rec := &Record{Script: "slow"}
	run, _ := s.Begin(rec)
	io.WriteString(run.Stderr(), "working\n")
	rec.State, rec.ExitCode, rec.Reason = StateInterrupted, 130, ReasonInterrupted
	if err := run.Finish(rec); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get("last")
	if got.State != StateInterrupted || got.ExitCode != 130 {
		t.Errorf("got %+v", got)
	}
	b, err := os.ReadFile(s.TracePath(rec.ID))
	if err != nil || string(b) != "working\n" {
		t.Errorf("trace %q, %v", b, err)
	}
}

func beginAt(t *testing.T, s *Store, id string, start time.Time) {
	t.Helper()
	rec := &Record{ID: id, Script: "x", Start: start}
	run, err := s.Begin(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Finish(rec); err != nil {
		t.Fatal(err)
	}
}

func TestRetention(t *testing.T) {
	s := openStore(t, 3)
	var ids []string
	for i := range 6 {
		start := t0.Add(time.Duration(i) * time.Minute)
		id := NewRunID(start)
		ids = append(ids, id)
		beginAt(t, s, id, start)
		n := len(listDir(t, s.Root()))
		if want := min(i+1, 3); n != want {
			t.Fatalf("after %d runs: %d kept, want %d", i+1, n, want)
		}
	}
	recs, err := s.List(0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.ID)
	}
	if want := []string{ids[5], ids[4], ids[3]}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v (newest first)", got, want)
	}

	// Keep all.
	s2, _ := Open(filepath.Join(t.TempDir(), "all"), -1)
	for i := range 5 {
		beginAt(t, s2, "", t0.Add(time.Duration(i)*time.Second))
	}
	if n := len(listDir(t, s2.Root())); n != 5 {
		t.Errorf("keep -1: %d runs, want 5", n)
	}
}

func TestListAndGet(t *testing.T) {
	s := openStore(t, 0)
	ids := []string{
		"20261124-215301-aaaaaa",
		"20261124-215301-bbbbbb", // same second as the first, started earlier
		"20261124-215302-ab1111",
		"20261125-080000-ab2222",
	}
	starts := []time.Time{t0.Add(500 * time.Millisecond), t0, t0.Add(time.Second), t0.Add(10 * time.Hour)}
	for i, id := range ids {
		beginAt(t, s, id, starts[i])
	}
	// A run being created (no run.json yet) and junk are ignored.
	os.Mkdir(filepath.Join(s.Root(), "20261126-000000-cccccc"), 0o700)
	os.WriteFile(filepath.Join(s.Root(), "junk"), nil, 0o600)
	os.Mkdir(filepath.Join(s.Root(), ".tmp-x"), 0o700)

	recs, err := s.List(0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.ID)
	}
	want := []string{ids[3], ids[2], ids[0], ids[1]}
	if !slices.Equal(got, want) {
		t.Errorf("List = %v, want %v", got, want)
	}
	if recs, _ := s.List(2); len(recs) != 2 || recs[0].ID != ids[3] {
		t.Errorf("List(2) = %v", recs)
	}

	tests := []struct {
		q       string
		want    string
		wantErr error
	}{
		{"last", ids[3], nil},
		{"", ids[3], nil},
		{ids[1], ids[1], nil},
		{"20261125", ids[3], nil},
		{"20261124-215302", ids[2], nil},
		{"bbb", ids[1], nil}, // prefix of the short ID
		{"ab2", ids[3], nil},
		{"ab", "", ErrAmbiguous},
		{"20261124-2153", "", ErrAmbiguous},
		{"zzz", "", ErrNotFound},
		{"20261126-000000-cccccc", "", ErrNotFound},
		{"../runs", "", ErrNotFound},
	}
	for _, tt := range tests {
		got, err := s.Get(tt.q)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Get(%q): err %v, want %v", tt.q, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Get(%q): %v", tt.q, err)
			continue
		}
		if got.ID != tt.want {
			t.Errorf("Get(%q) = %s, want %s", tt.q, got.ID, tt.want)
		}
	}
	var amb *AmbiguousError
	if _, err := s.Get("ab"); !errors.As(err, &amb) || !slices.Equal(amb.Matches, []string{ids[3], ids[2]}) {
		t.Errorf("ambiguous error %v", err)
	}

	empty := openStore(t, 0)
	if _, err := empty.Get("last"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(last) on an empty store: %v", err)
	}
	if recs, err := empty.List(0); err != nil || len(recs) != 0 {
		t.Errorf("List on an empty store: %v %v", recs, err)
	}

	if got := s.Dir("../x"); got != "" {
		t.Errorf("Dir(../x) = %q", got)
	}
	if got, want := s.TracePath(ids[0]), filepath.Join(s.Root(), ids[0], "trace.txt"); got != want {
		t.Errorf("TracePath = %q, want %q", got, want)
	}
}

func TestRunJSONFormat(t *testing.T) {
	s := openStore(t, 0)
	rec := &Record{ID: "20261124-215301-abcdef", Script: "hello", Start: t0}
	run, _ := s.Begin(rec)
	b, _ := os.ReadFile(filepath.Join(run.Dir(), RecordFile))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"exitCode", "id", "script", "start", "state"}; !slices.Equal(keys, want) {
		t.Errorf("running run.json keys %v, want %v", keys, want)
	}
	if _, err := s.Begin(&Record{ID: rec.ID}); err == nil {
		t.Error("Begin with an existing ID: no error")
	}
	if _, err := s.Begin(&Record{ID: "../evil"}); err == nil {
		t.Error("Begin with an invalid ID: no error")
	}
}

func TestConcurrentBegin(t *testing.T) {
	s := openStore(t, 10)
	// The runs start at t0; the store's clock says so too.
	s.Now = func() time.Time { return t0 }
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := &Record{Script: "x", Start: t0}
			run, err := s.Begin(rec)
			if err != nil {
				errs <- err
				return
			}
			io.WriteString(run.Output(), "hi\n")
			errs <- run.Finish(rec)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	if n := len(listDir(t, s.Root())); n != 10 {
		t.Errorf("%d runs kept, want 10", n)
	}
	checkTree(t, s.Root())
}

func TestTailBuffer(t *testing.T) {
	var tb tailBuffer
	for i := range 3000 {
		tb.write([]byte(fmt.Sprintf("line %d\n", i)))
	}
	lines := strings.Split(strings.TrimSuffix(string(tb.bytes()), "\n"), "\n")
	if len(lines) != tailMaxLines || lines[0] != "line 2000" || lines[len(lines)-1] != "line 2999" {
		t.Errorf("%d lines, first %q last %q", len(lines), lines[0], lines[len(lines)-1])
	}
	var big tailBuffer
	chunk := strings.Repeat("x", 1000) + "\n"
	for range 3000 {
		big.write([]byte(chunk))
	}
	if n := len(big.bytes()); n > tailMaxBytes {
		t.Errorf("tail holds %d bytes, over %d", n, tailMaxBytes)
	}
	if !strings.HasPrefix(string(big.bytes()), "x") || !strings.HasSuffix(string(big.bytes()), "x\n") {
		t.Error("tail does not start at a line")
	}
}

// Retention removes a run only when it is over, whatever its age: a live run
// from long ago stays, a finished one from a minute ago goes, and so does one
// whose cscript died (its owner lock is free).
func TestPruneSparesRunningRuns(t *testing.T) {
	s := openStore(t, 2)
	now := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	s.Now = func() time.Time { return now }
	old := &Record{ID: "20200101-000000-aaaaaa", Start: now.Add(-5 * 365 * 24 * time.Hour)}
	oldRun, err := s.Begin(old) // still running, five years on
	if err != nil {
		t.Fatal(err)
	}
	killed := &Record{ID: "20200101-000001-bbbbbb", Start: now.Add(-time.Minute)}
	killedRun, err := s.Begin(killed)
	if err != nil {
		t.Fatal(err)
	}
	killedRun.releaseOwner()                                       // what the kernel does when the process dies
	beginAt(t, s, "20200101-000002-cccccc", now.Add(-time.Minute)) // finished, young
	for i := range 2 {
		beginAt(t, s, fmt.Sprintf("20200101-00001%d-dddddd", i), now)
	}
	got := listDir(t, s.Root())
	want := []string{old.ID, "20200101-000011-dddddd"}
	if !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v (the live run spared whatever its age; the killed and finished ones pruned)", got, want)
	}
	if err := oldRun.Finish(old); err != nil {
		t.Fatal(err)
	}
	beginAt(t, s, "20200101-000012-dddddd", now)
	if got := listDir(t, s.Root()); !slices.Equal(got, []string{"20200101-000011-dddddd", "20200101-000012-dddddd"}) {
		t.Errorf("after the old run finished: kept %v, want the two newest", got)
	}
}

// Two cscript processes whose clocks disagree by years share one history:
// neither prunes the other's live runs, and each run finishes.
func TestPruneWithSkewedClocks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs")
	open := func(now time.Time) *Store {
		s, err := Open(dir, 1)
		if err != nil {
			t.Fatal(err)
		}
		s.Now = func() time.Time { return now }
		return s
	}
	behind := open(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	ahead := open(time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC))
	var runs []*Run
	var recs []*Record
	for i := range 6 {
		s := behind
		if i%2 == 1 {
			s = ahead
		}
		rec := &Record{Script: "x"}
		r, err := s.Begin(rec)
		if err != nil {
			t.Fatal(err)
		}
		runs, recs = append(runs, r), append(recs, rec)
	}
	for _, s := range []*Store{behind, ahead} {
		if err := s.Prune(); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(listDir(t, dir)); n != 6 {
		t.Fatalf("%d runs left while all 6 are live, want 6", n)
	}
	for i, r := range runs {
		if err := r.Finish(recs[i]); err != nil {
			t.Errorf("finish a live run: %v", err)
		}
	}
	if err := ahead.Prune(); err != nil {
		t.Fatal(err)
	}
	if n := len(listDir(t, dir)); n != 1 {
		t.Errorf("%d runs left after all finished, want 1 (keep)", n)
	}
}

// A directory without run.json is removed only when cscript's owner lock in
// it is free (its creator died); anything else under runs/ is left alone.
func TestPruneIncompleteDirectories(t *testing.T) {
	s := openStore(t, 1)
	foreign := filepath.Join(s.Root(), "20200101-000000-aaaaaa")
	if err := os.Mkdir(foreign, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(s.Root(), "20200101-000001-bbbbbb")
	if err := os.Mkdir(dead, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dead, OwnerFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	creating := filepath.Join(s.Root(), "20200101-000002-cccccc")
	if err := os.Mkdir(creating, 0o700); err != nil {
		t.Fatal(err)
	}
	held, err := lockOwner(filepath.Join(creating, OwnerFile))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	beginAt(t, s, "20200101-000010-dddddd", time.Date(2020, 1, 1, 0, 0, 10, 0, time.UTC))
	got := listDir(t, s.Root())
	want := []string{"20200101-000000-aaaaaa", "20200101-000002-cccccc", "20200101-000010-dddddd"}
	if !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v (the foreign and the held directory untouched, the dead one pruned)", got, want)
	}
}

// A detached run's record stays however long its Job runs; FinishGone (what
// gc does when the Job is gone) closes it, and then retention may remove it.
func TestDetachedRunStaysUntilGone(t *testing.T) {
	s := openStore(t, 1)
	rec := &Record{ID: "20200101-000000-aaaaaa", Script: "job", Mode: ModeJob}
	r, err := s.Begin(rec)
	if err != nil {
		t.Fatal(err)
	}
	rec.Detached = true
	if err := r.Update(rec); err != nil {
		t.Fatal(err)
	}
	r.releaseOwner() // the detaching cscript exits
	for i := range 3 {
		beginAt(t, s, fmt.Sprintf("20200101-00001%d-bbbbbb", i), time.Date(2020, 1, 1, 0, 0, 10+i, 0, time.UTC))
	}
	if got := listDir(t, s.Root()); !slices.Contains(got, rec.ID) {
		t.Fatalf("the detached run was pruned: %v", got)
	}
	if err := s.FinishGone(rec.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(rec.ID)
	if err != nil || got.State != StateAbandoned || got.Reason != ReasonGone {
		t.Fatalf("after FinishGone: %+v, %v", got, err)
	}
	if err := s.FinishGone(rec.ID); err == nil {
		t.Error("FinishGone of a closed run succeeded")
	}
	if err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, s.Root()); slices.Contains(got, rec.ID) {
		t.Errorf("the closed run was kept beyond retention: %v", got)
	}
}

func BenchmarkBeginFinish(b *testing.B) {
	s, err := Open(b.TempDir(), 50)
	if err != nil {
		b.Fatal(err)
	}
	s.Redactor = redact.New("secret-value")
	for b.Loop() {
		rec := &Record{Script: "hello"}
		run, err := s.Begin(rec)
		if err != nil {
			b.Fatal(err)
		}
		io.WriteString(run.Output(), "hello\n")
		rec.ExitCode = 1
		if err := run.Finish(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func TestResumeAppendsAndFinishes(t *testing.T) {
	s, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	rec := &Record{Script: "job"}
	run, err := s.Begin(rec)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(run.Output(), "first\n")
	rec.State, rec.Detached = StateRunning, true
	if err := run.Update(rec); err != nil {
		t.Fatal(err)
	}
	run.releaseOwner() // the detaching cscript exits
	again, got, err := s.Resume(rec.ID)
	if err != nil {
		t.Fatalf("Resume: %v", err)
	}
	fmt.Fprint(again.Output(), "second\n")
	got.ExitCode = 0
	if err := again.Finish(got); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(s.LogPath(rec.ID))
	if err != nil || string(log) != "first\nsecond\n" {
		t.Fatalf("log = %q, %v; want both parts", log, err)
	}
	final, err := s.Get(rec.ID)
	if err != nil || final.State != StateSucceeded {
		t.Fatalf("state after resume+finish = %v, %v", final, err)
	}
	if _, _, err := s.Resume(rec.ID); err == nil {
		t.Fatal("resuming a finished run should fail")
	}
}

// A run whose cscript died without finishing it reads as abandoned; a
// detached run does not; a finished one is what it was.
func TestAbandonedRuns(t *testing.T) {
	s := openStore(t, 0)
	begin := func() (*Run, *Record) {
		t.Helper()
		rec := &Record{Script: "s", Start: time.Now()}
		r, err := s.Begin(rec)
		if err != nil {
			t.Fatal(err)
		}
		return r, rec
	}
	state := func(id string) (State, string) {
		t.Helper()
		rec, err := s.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		return rec.State, rec.Reason
	}

	live, liveRec := begin()
	if st, _ := state(liveRec.ID); st != StateRunning {
		t.Errorf("a run in progress reads %s", st)
	}

	killed, killedRec := begin()
	killed.releaseOwner() // what the kernel does when the process dies
	if st, reason := state(killedRec.ID); st != StateAbandoned || reason != ReasonAbandoned {
		t.Errorf("a run without its owner reads %s (%s), want abandoned", st, reason)
	}
	if _, _, err := s.Resume(killedRec.ID); err == nil {
		t.Error("Resume of an abandoned run succeeded")
	}

	detached, detRec := begin()
	detRec.Detached = true
	if err := detached.Update(detRec); err != nil {
		t.Fatal(err)
	}
	detached.releaseOwner()
	if st, _ := state(detRec.ID); st != StateRunning {
		t.Errorf("a detached run reads %s, want running", st)
	}
	attached, _, err := s.Resume(detRec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Resume(detRec.ID); err == nil || !strings.Contains(err.Error(), "another cscript follows it") {
		t.Errorf("a second attach: %v, want refused", err)
	}
	detRec.ExitCode = 0
	if err := attached.Finish(detRec); err != nil {
		t.Fatal(err)
	}
	if st, _ := state(detRec.ID); st != StateSucceeded {
		t.Errorf("an attached and finished run reads %s", st)
	}

	if err := live.Finish(liveRec); err != nil {
		t.Fatal(err)
	}
	if st, _ := state(liveRec.ID); st != StateSucceeded {
		t.Errorf("a finished run reads %s", st)
	}
}
