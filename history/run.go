package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/redact"
)

// ErrFinished is returned when a Run is written to after Finish.
var ErrFinished = errors.New("run is finished")

// Limits of the stderr tail a Run keeps in memory for the trace: enough for
// a long chained Python traceback, bounded for scripts that write a lot.
const (
	tailMaxLines = 1000
	tailMaxBytes = 1 << 20
)

// Run is a run being recorded. Its methods are safe for concurrent use.
type Run struct {
	store *Store
	id    string
	dir   string
	red   *redact.Redactor

	stdout *redact.Writer // redacts into log
	stderr *redact.Writer // redacts into log and tail

	mu        sync.Mutex // guards everything below
	log       *os.File
	logged    int64     // bytes in log
	truncated bool      // the log reached the store's MaxLog and says so
	midLine   bool      // the log ends inside a line
	partial   [2][]byte // the unfinished last line of stdout and of stderr
	tail      tailBuffer
	artifacts map[string]bool
	finished  bool
	// owner holds the run's owner lock until Finish (or the process's end).
	owner *os.File
}

// releaseOwner drops the owner lock.
func (r *Run) releaseOwner() {
	if r.owner != nil {
		r.owner.Close()
		r.owner = nil
	}
}

// Begin starts recording a run. It fills in rec.ID (NewRunID of rec.Start)
// when empty, rec.Start when zero and sets rec.State to StateRunning; creates
// the run's directory (0700), run.json and an empty output.log (0600); then
// prunes the oldest runs beyond the Store's keep count (best effort: a run
// that cannot be pruned does not stop a new one; call Prune to see why).
func (s *Store) Begin(rec *Record) (*Run, error) {
	if rec.Start.IsZero() {
		rec.Start = s.now()
	}
	generated := rec.ID == ""
	if generated {
		rec.ID = NewRunID(rec.Start)
	}
	if !ValidID(rec.ID) {
		return nil, fmt.Errorf("begin run: invalid run id %q", rec.ID)
	}
	rec.State = StateRunning
	dir := filepath.Join(s.dir, rec.ID)
	err := os.Mkdir(dir, 0o700)
	for i := 0; generated && errors.Is(err, os.ErrExist) && i < 5; i++ {
		rec.ID = NewRunID(rec.Start)
		dir = filepath.Join(s.dir, rec.ID)
		err = os.Mkdir(dir, 0o700)
	}
	if err != nil {
		return nil, fmt.Errorf("begin run: %w", err)
	}
	// The owner lock first, so that no reader sees run.json without it.
	owner, err := createOwner(filepath.Join(dir, OwnerFile))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("begin run: %w", err)
	}
	r := &Run{store: s, id: rec.ID, dir: dir, red: s.Redactor, artifacts: map[string]bool{}, owner: owner}
	if err := r.writeRecord(rec); err != nil {
		r.releaseOwner()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("begin run: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		r.releaseOwner()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("begin run: %w", err)
	}
	r.log = f
	r.stdout = r.red.Writer(logSink{r})
	r.stderr = r.red.Writer(stderrSink{r})
	_ = s.prune(rec.ID)
	return r, nil
}

// ID returns the run's ID.
func (r *Run) ID() string { return r.id }

// Dir returns the run's directory.
func (r *Run) Dir() string { return r.dir }

// Output returns the writer for the script's stdout (and anything else that
// belongs in the combined log): it appends to output.log, redacted. Write
// the script's stderr to Stderr instead, not to both.
func (r *Run) Output() io.Writer { return r.stdout }

// Stderr returns the writer for the script's stderr: it appends to
// output.log like Output and also keeps the end of stderr for the trace.
func (r *Run) Stderr() io.Writer { return r.stderr }

type logSink struct{ r *Run }

func (s logSink) Write(p []byte) (int, error) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.finished || s.r.log == nil {
		return 0, ErrFinished
	}
	return s.r.writeLines(0, p)
}

type stderrSink struct{ r *Run }

func (s stderrSink) Write(p []byte) (int, error) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.finished || s.r.log == nil {
		return 0, ErrFinished
	}
	s.r.tail.write(p)
	return s.r.writeLines(1, p)
}

// maxPartialLine bounds the unfinished line a stream may hold back.
const maxPartialLine = 64 << 10

// writeLines appends whole lines of stream (0 stdout, 1 stderr) to the log
// and holds back an unfinished last line, so that stdout and stderr
// interleave line by line, never inside a line (a line longer than
// maxPartialLine goes out as it is). r.mu is held.
func (r *Run) writeLines(stream int, p []byte) (int, error) {
	buf := append(r.partial[stream], p...)
	cut := bytes.LastIndexByte(buf, '\n') + 1
	if cut == 0 && len(buf) > maxPartialLine {
		cut = len(buf)
	}
	if cut > 0 {
		if err := r.appendLog(buf[:cut]); err != nil {
			return 0, err
		}
	}
	r.partial[stream] = append(buf[:0:0], buf[cut:]...)
	return len(p), nil
}

// appendLog writes b to the log up to the store's MaxLog: whole lines that
// fit, then once a line saying that the output was truncated; what comes
// after is dropped. r.mu is held.
func (r *Run) appendLog(b []byte) error {
	if r.truncated {
		return nil
	}
	limit := r.store.maxLog()
	if limit < 0 || r.logged+int64(len(b)) <= limit {
		n, err := r.log.Write(b)
		r.logged += int64(n)
		if n > 0 {
			r.midLine = b[n-1] != '\n'
		}
		return err
	}
	fit := b[:limit-r.logged]
	fit = fit[:bytes.LastIndexByte(fit, '\n')+1]
	r.truncated = true
	if len(fit) == 0 && r.midLine {
		fit = []byte("\n") // a line longer than maxPartialLine went out unfinished
	}
	msg := fmt.Sprintf("%s[output truncated at %d bytes; the rest was shown but not kept]\n", fit, limit)
	n, err := r.log.Write([]byte(msg))
	r.logged += int64(n)
	return err
}

// SaveArtifact stores data, redacted, as the file name (a plain file name
// such as ArtifactScript or ArtifactPod) in the run's directory, atomically
// and with mode 0600. Artifacts are for runs that do not succeed: Finish
// removes them when the run succeeded, so a caller may save the script and
// the manifest at the start and events and statuses when the run fails.
func (r *Run) SaveArtifact(name string, data []byte) error {
	if !validName(name) || name == RecordFile || name == LogFile {
		return fmt.Errorf("save %q: not a valid artifact name", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return fmt.Errorf("save %s: %w", name, ErrFinished)
	}
	if err := writeFileAtomic(r.dir, name, r.red.Bytes(data)); err != nil {
		return fmt.Errorf("save %s: %w", name, err)
	}
	r.artifacts[name] = true
	return nil
}

// Update rewrites run.json from rec, for facts learned during the run (the
// Pod's name once created). rec.ID must be the run's ID.
func (r *Run) Update(rec *Record) error {
	if rec.ID != r.id {
		return fmt.Errorf("update run %s: record is for run %q", r.id, rec.ID)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return fmt.Errorf("update run %s: %w", r.id, ErrFinished)
	}
	return r.writeRecord(rec)
}

// Finish ends the recording: it flushes and closes the output log, sets
// rec.End (when zero) and rec.State (when empty or running: StateSucceeded
// for exit code 0, else StateFailed) and writes the final run.json. When the
// run did not succeed it writes trace.txt from the end of stderr (unless a
// trace.txt artifact was saved) with ParseTrace; when it succeeded it
// removes the saved artifacts. Finishing twice only rewrites run.json.
func (r *Run) Finish(rec *Record) error {
	if rec.ID != r.id {
		return fmt.Errorf("finish run %s: record is for run %q", r.id, rec.ID)
	}
	var errs []error
	// Close the redacting writers first: they flush held-back bytes
	// through the sinks, which take the lock.
	if err := r.stdout.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := r.stderr.Close(); err != nil {
		errs = append(errs, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	first := !r.finished
	r.finished = true
	if first && r.log != nil {
		for i, part := range r.partial {
			if len(part) > 0 {
				if err := r.appendLog(part); err != nil {
					errs = append(errs, err)
				}
				r.partial[i] = nil
			}
		}
		if err := r.log.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if rec.End.IsZero() {
		rec.End = r.store.now()
	}
	if rec.State == "" || rec.State == StateRunning {
		rec.State = StateFailed
		if rec.ExitCode == 0 {
			rec.State = StateSucceeded
		}
	}
	if first {
		if rec.State == StateSucceeded {
			for name := range r.artifacts {
				if err := os.Remove(filepath.Join(r.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, err)
				}
			}
		} else if !r.artifacts[ArtifactTrace] {
			if t := ParseTrace(string(r.tail.bytes())); t.Text != "" {
				if err := writeFileAtomic(r.dir, ArtifactTrace, r.red.Bytes([]byte(t.Text))); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if err := r.writeRecord(rec); err != nil {
		errs = append(errs, err)
	}
	// A finished run needs no owner: its record says how it ended.
	r.releaseOwner()
	_ = os.Remove(filepath.Join(r.dir, OwnerFile))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("finish run %s: %w", r.id, err)
	}
	return nil
}

// StderrTail returns the end of the script's stderr kept so far (redacted).
func (r *Run) StderrTail() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.tail.bytes())
}

func (r *Run) writeRecord(rec *Record) error {
	red := redactRecord(r.red, rec)
	b, err := json.MarshalIndent(&red, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(r.dir, RecordFile, append(b, '\n'))
}

// tailBuffer keeps the last tailMaxLines lines, at most tailMaxBytes.
type tailBuffer struct {
	buf      []byte
	newlines int
}

func (t *tailBuffer) write(p []byte) {
	t.buf = append(t.buf, p...)
	t.newlines += bytes.Count(p, []byte{'\n'})
	cut := 0
	// A partial last line counts as a line too.
	lines := t.newlines
	if len(t.buf) > 0 && t.buf[len(t.buf)-1] != '\n' {
		lines++
	}
	for lines > tailMaxLines {
		i := bytes.IndexByte(t.buf[cut:], '\n')
		if i < 0 {
			break
		}
		cut += i + 1
		t.newlines--
		lines--
	}
	if len(t.buf)-cut > tailMaxBytes {
		cut = len(t.buf) - tailMaxBytes
		if i := bytes.IndexByte(t.buf[cut:], '\n'); i >= 0 && i+1 < len(t.buf)-cut {
			cut += i + 1
		}
		t.newlines = bytes.Count(t.buf[cut:], []byte{'\n'})
	}
	switch {
	case cut > len(t.buf)/2:
		// Copy so the dropped bytes do not pin a growing array.
		t.buf = append([]byte(nil), t.buf[cut:]...)
	case cut > 0:
		t.buf = t.buf[cut:]
	}
}

func (t *tailBuffer) bytes() []byte { return t.buf }

// Resume reopens a run that is still recorded as running (a detached Job
// that `cscript runs attach` follows): its output is appended to the same
// log and Finish completes the same record. Every error is of kind
// fail.NotFound: there is no running run of that id to follow.
func (s *Store) Resume(id string) (*Run, *Record, error) {
	rec, err := s.Get(id)
	if err != nil {
		return nil, nil, err
	}
	if rec.State != StateRunning {
		return nil, nil, fail.Errorf(fail.NotFound, "resume run %s: it is %s, not running", rec.ID, rec.State)
	}
	dir := filepath.Join(s.dir, rec.ID)
	owner, err := lockOwner(filepath.Join(dir, OwnerFile))
	if err != nil {
		return nil, nil, fail.Errorf(fail.NotFound, "resume run %s: another cscript follows it (%w): wait for that one to end, or stop it and attach again", rec.ID, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		if owner != nil {
			owner.Close()
		}
		return nil, nil, fail.Errorf(fail.NotFound, "resume run %s: %w", rec.ID, err)
	}
	r := &Run{store: s, id: rec.ID, dir: dir, red: s.Redactor, artifacts: map[string]bool{}, log: f, owner: owner}
	if fi, err := f.Stat(); err == nil {
		// Only the truncation line takes the log past the cap.
		r.logged = fi.Size()
		r.truncated = s.maxLog() >= 0 && r.logged > s.maxLog()
	}
	r.stdout = r.red.Writer(logSink{r})
	r.stderr = r.red.Writer(stderrSink{r})
	return r, rec, nil
}

// ReasonGone is the reason of a detached run whose Job `cscript gc` found
// gone: nobody can tell its outcome any more.
const ReasonGone = "its Job is gone (closed by cscript gc)"

// FinishGone closes the record of a detached run whose Job no longer exists:
// it is stored as abandoned with ReasonGone and becomes prunable. It refuses a
// run that is not a running detached one, or that another cscript follows.
func (s *Store) FinishGone(id string) error {
	run, rec, err := s.Resume(id)
	if err != nil {
		return err
	}
	if !rec.Detached {
		run.abort()
		return fmt.Errorf("close run %s: it is not a detached run", rec.ID)
	}
	rec.State, rec.Reason = StateAbandoned, ReasonGone
	return run.Finish(rec)
}

// abort lets go of a resumed run without finishing it.
func (r *Run) abort() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.log != nil {
		r.log.Close()
		r.log = nil
	}
	r.finished = true
	r.releaseOwner()
}
