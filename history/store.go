package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/internal/paths"
	"github.com/cscript-dev/cscript/redact"
)

// DefaultKeep is how many runs a Store keeps unless told otherwise.
const DefaultKeep = 200

// Names of the files in a run's directory.
const (
	RecordFile = "run.json"
	LogFile    = "output.log"
	// OwnerFile is locked by the cscript process that runs (or attached to)
	// the run; see StateAbandoned.
	OwnerFile = "owner.lock"

	ArtifactScript     = "script"         // the rendered script
	ArtifactPod        = "pod.yaml"       // the Pod (or Job) manifest
	ArtifactEvents     = "events.txt"     // events of the Pod
	ArtifactContainers = "containers.txt" // container statuses
	ArtifactTrace      = "trace.txt"      // the failure trace
)

// Errors callers branch on.
var (
	ErrNotFound  = fail.New(fail.NotFound, "run not found")
	ErrAmbiguous = fail.New(fail.NotFound, "run id is ambiguous")
)

// AmbiguousError is returned by Get when a prefix matches more than one run.
// It matches ErrAmbiguous with errors.Is.
type AmbiguousError struct {
	Prefix  string
	Matches []string // newest first
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("run id %q is ambiguous: it matches %s", e.Prefix, strings.Join(e.Matches, ", "))
}

// Is makes errors.Is(err, ErrAmbiguous) true.
func (e *AmbiguousError) Is(target error) bool { return target == ErrAmbiguous }

// Kind is fail.NotFound: the prefix does not find one run.
func (e *AmbiguousError) Kind() fail.Kind { return fail.NotFound }

// DefaultDir returns the runs directory: StateDir/runs by the one rule of
// internal/paths (XDG_STATE_HOME, else the platform's default). It reads the
// environment on every call.
func DefaultDir() (string, error) {
	return paths.Default().RunsDir(), nil
}

// Store is a directory of run records.
type Store struct {
	dir  string
	keep int

	// Redactor redacts everything a Run begun after it is set writes. It may
	// be nil (nothing redacted) and may get secrets added while runs write.
	Redactor *redact.Redactor
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxLog bounds a run's output.log: past it, one line says the output
	// was truncated and the rest is not kept (it still reaches the
	// terminal). 0 is DefaultMaxLog; negative is no limit.
	MaxLog int64
}

// DefaultMaxLog is the default of Store.MaxLog.
const DefaultMaxLog = 100 << 20

func (s *Store) maxLog() int64 {
	switch {
	case s.MaxLog == 0:
		return DefaultMaxLog
	case s.MaxLog < 0:
		return -1
	}
	return s.MaxLog
}

// Open returns the Store in dir, creating dir (mode 0700) when missing.
// keep is how many runs to keep: 0 means DefaultKeep, a negative number
// means keep all.
func Open(dir string, keep int) (*Store, error) {
	if dir == "" {
		return nil, errors.New("open run history: no directory")
	}
	if keep == 0 {
		keep = DefaultKeep
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open run history: %w", err)
	}
	return &Store{dir: dir, keep: keep}, nil
}

// Root returns the directory of the Store.
func (s *Store) Root() string { return s.dir }

// Keep returns how many runs the Store keeps (negative: all).
func (s *Store) Keep() int { return s.keep }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Dir returns the directory of run id ("" when id is not a valid run ID).
func (s *Store) Dir(id string) string {
	if !ValidID(id) {
		return ""
	}
	return filepath.Join(s.dir, id)
}

// LogPath returns the path of run id's output log.
func (s *Store) LogPath(id string) string { return s.ArtifactPath(id, LogFile) }

// TracePath returns the path of run id's failure trace; the file exists only
// for runs that did not succeed and wrote to stderr.
func (s *Store) TracePath(id string) string { return s.ArtifactPath(id, ArtifactTrace) }

// ArtifactPath returns the path of the file name in run id's directory
// ("" when id or name is not valid).
func (s *Store) ArtifactPath(id, name string) string {
	d := s.Dir(id)
	if d == "" || !validName(name) {
		return ""
	}
	return filepath.Join(d, name)
}

// ids returns the IDs of the stored runs, oldest first.
func (s *Store) ids() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("read run history: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && ValidID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// List returns up to limit records, newest first (limit <= 0: all). It reads
// only run.json files, and skips runs whose run.json is missing or unreadable
// (a run being created or pruned right now).
func (s *Store) List(limit int) ([]Record, error) {
	ids, err := s.ids()
	if err != nil {
		return nil, err
	}
	var recs []Record
	for i := len(ids) - 1; i >= 0 && (limit <= 0 || len(recs) < limit); i-- {
		rec, err := s.read(ids[i])
		if err != nil {
			continue
		}
		recs = append(recs, *rec)
	}
	// IDs order runs to the second; Start orders runs within one second.
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := &recs[i], &recs[j]
		if ta, tb := idTime(a.ID), idTime(b.ID); ta != tb {
			return ta > tb
		}
		if !a.Start.Equal(b.Start) {
			return a.Start.After(b.Start)
		}
		return a.ID > b.ID
	})
	return recs, nil
}

func idTime(id string) string { return id[:min(len(id), len(idTimeLayout))] }

// Get returns the record of a run by its ID, a unique prefix of its ID or of
// its ShortID, or "last" (or "") for the newest run. It returns an error
// matching ErrNotFound or ErrAmbiguous when no run or several runs match.
// Every error is of kind fail.NotFound: a run whose record cannot be read
// (or a history that cannot be listed) is not found either.
func (s *Store) Get(idOrPrefix string) (*Record, error) {
	ids, err := s.ids()
	if err != nil {
		return nil, fail.Wrap(fail.NotFound, err)
	}
	q := idOrPrefix
	if q == "" || q == "last" {
		if len(ids) == 0 {
			return nil, fmt.Errorf("last run: %w", ErrNotFound)
		}
		// The newest run may be one being created right now, without its
		// run.json yet: take the newest readable one.
		var firstErr error
		for i := len(ids) - 1; i >= 0; i-- {
			rec, err := s.read(ids[i])
			if err == nil {
				return rec, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		return nil, firstErr
	}
	var matches []string
	for i := len(ids) - 1; i >= 0; i-- {
		id := ids[i]
		if id == q {
			return s.read(id)
		}
		if strings.HasPrefix(id, q) || strings.HasPrefix(ShortID(id), q) {
			matches = append(matches, id)
		}
	}
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("run %q: %w", q, ErrNotFound)
	case 1:
		return s.read(matches[0])
	}
	if len(matches) > 10 {
		matches = matches[:10]
	}
	return nil, &AmbiguousError{Prefix: q, Matches: matches}
}

func (s *Store) read(id string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, id, RecordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fail.Errorf(fail.NotFound, "read run %s: %w", id, err)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fail.Errorf(fail.NotFound, "read run %s: %w", id, err)
	}
	if rec.State == StateRunning && !rec.Detached && ownerGone(filepath.Join(s.dir, id, OwnerFile)) {
		rec.State, rec.Reason = StateAbandoned, ReasonAbandoned
	}
	return &rec, nil
}

// Prune removes the oldest runs beyond the Store's keep count.
func (s *Store) Prune() error { return s.prune("") }

// Which runs prune may remove. Age is never a reason: a run is removed only
// when it is over. A finished run is over; a running one only when the
// process that owns it is provably gone — nobody holds its owner lock (the
// kernel drops the lock when the process ends, however it ends). A detached
// Job run has no owner on purpose and stays until `runs attach` finishes it
// or `cscript gc` finds its Job gone (FinishGone). A directory without
// run.json is a run being created; it is removed only when its owner lock
// exists and is free (its creator died), and a directory without the owner
// lock cscript writes first is not cscript's and is never touched.
// prune removes the oldest runs so that at most keep remain, never except.
func (s *Store) prune(except string) error {
	if s.keep < 0 {
		return nil
	}
	unlock, ok := s.lockPrune()
	if !ok {
		return nil // another cscript is pruning right now
	}
	defer unlock()
	ids, err := s.ids()
	if err != nil {
		return err
	}
	var errs []error
	remaining := len(ids)
	for i := 0; i < len(ids) && remaining > s.keep; i++ {
		id := ids[i]
		if id == except || !s.prunable(id) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.dir, id)); err != nil {
			errs = append(errs, fmt.Errorf("prune run %s: %w", id, err))
			continue
		}
		remaining--
	}
	return errors.Join(errs...)
}

// lockPrune takes the store's prune lock (an flock on a file in the store,
// held while pruning), so that concurrent runs do not each remove a different
// oldest run and keep fewer than they should. The kernel drops the lock of a
// killed process, so no lock is ever stale.
func (s *Store) lockPrune() (unlock func(), ok bool) {
	f, err := lockOwner(filepath.Join(s.dir, pruneLock))
	if err != nil {
		return nil, false
	}
	return func() {
		if f != nil {
			f.Close()
		}
	}, true
}

const pruneLock = ".prune.lock"

func (s *Store) prunable(id string) bool {
	dir := filepath.Join(s.dir, id)
	rec, err := s.read(id)
	if err != nil {
		// No readable run.json: a run being created, or not cscript's.
		return ownerGone(filepath.Join(dir, OwnerFile))
	}
	switch rec.State {
	case StateRunning:
		return false // owned by a live process, or detached
	case StateAbandoned:
		return true // read found the owner lock free
	}
	return true
}

// writeFileAtomic writes data to dir/name (mode 0600) through a temporary file
// in dir and a rename, so the file is either the old or the new one whole.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, name))
}

func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.HasPrefix(name, ".") &&
		!strings.ContainsAny(name, `/\`) && filepath.Base(name) == name
}

// redactRecord returns a copy of rec with every string redacted, except
// fields tagged redact:"-". It copies slices, so rec is not changed.
func redactRecord(r *redact.Redactor, rec *Record) Record {
	cp := *rec
	redactValue(r, reflect.ValueOf(&cp).Elem())
	return cp
}

func redactValue(r *redact.Redactor, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(r.String(v.String()))
	case reflect.Struct:
		t := v.Type()
		for i := range v.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Tag.Get("redact") == "-" {
				continue
			}
			redactValue(r, v.Field(i))
		}
	case reflect.Slice:
		if v.IsNil() || v.Type().Elem().Kind() == reflect.Uint8 {
			return
		}
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		for i := range cp.Len() {
			redactValue(r, cp.Index(i))
		}
		v.Set(cp)
	case reflect.Map:
		if v.IsNil() {
			return
		}
		cp := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			val := reflect.New(v.Type().Elem()).Elem()
			val.Set(it.Value())
			redactValue(r, val)
			cp.SetMapIndex(it.Key(), val)
		}
		v.Set(cp)
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		cp := reflect.New(v.Type().Elem())
		cp.Elem().Set(v.Elem())
		redactValue(r, cp.Elem())
		v.Set(cp)
	}
}
