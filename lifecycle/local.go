package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// DirStore keeps each resource of a deck in Dir/<name>.json, for Docker
// decks: $XDG_STATE_HOME/cscript/resources/<deck>/ (see LocalDir). Writes
// are atomic (a temp file renamed over the old one) and carry a generation
// that Update checks, like a resourceVersion; Lock takes a lock (see
// lockFile) on Dir/<name>.lock for the length of an event.
type DirStore struct {
	Dir  string
	Deck string
}

var _ StateStore = (*DirStore)(nil)

// LocalDir is where a Docker deck's resources live under cscript's state dir.
func LocalDir(stateDir, deck string) string {
	return filepath.Join(stateDir, "resources", deck)
}

// localFile is the file's layout: the resource and its generation.
type localFile struct {
	Generation int64 `json:"generation"`
	Resource
}

func (s *DirStore) path(name string) string { return filepath.Join(s.Dir, name+".json") }

// Get reads one resource.
func (s *DirStore) Get(_ context.Context, name string) (*Resource, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	r, _, err := s.read(name)
	return r, err
}

func (s *DirStore) read(name string) (*Resource, int64, error) {
	data, err := os.ReadFile(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, &NotFoundError{Name: name, Deck: s.Deck}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read the state of resource %s: %w", name, err)
	}
	var f localFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, 0, fmt.Errorf("%s: the state is not valid JSON: %w", s.path(name), err)
	}
	r := f.Resource
	r.version = strconv.FormatInt(f.Generation, 10)
	return &r, f.Generation, nil
}

// List reads every resource, sorted by name.
func (s *DirStore) List(ctx context.Context) ([]*Resource, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	var out []*Resource
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || ValidateName(name) != nil {
			continue
		}
		r, err := s.Get(ctx, name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Create records a new resource; one recorded already is a *ConflictError.
func (s *DirStore) Create(_ context.Context, r *Resource) error {
	if err := ValidateName(r.Name); err != nil {
		return err
	}
	unlock, err := s.writeLock(r.Name)
	if err != nil {
		return err
	}
	defer unlock()
	if _, _, err := s.read(r.Name); err == nil {
		return &ConflictError{Name: r.Name, Exists: true}
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	return s.write(r, 1, true)
}

// Update writes r if the file is still at the generation r was read at.
func (s *DirStore) Update(_ context.Context, r *Resource) error {
	want, err := strconv.ParseInt(r.version, 10, 64)
	if err != nil {
		return fmt.Errorf("update resource %s: no version was read (a bug)", r.Name)
	}
	unlock, err := s.writeLock(r.Name)
	if err != nil {
		return err
	}
	defer unlock()
	_, gen, err := s.read(r.Name)
	if errors.Is(err, ErrNotFound) {
		return &ConflictError{Name: r.Name}
	}
	if err != nil {
		return err
	}
	if gen != want {
		return &ConflictError{Name: r.Name}
	}
	return s.write(r, gen+1, false)
}

// Delete removes r's file if it is still at the generation r was read at.
func (s *DirStore) Delete(_ context.Context, r *Resource) error {
	want, err := strconv.ParseInt(r.version, 10, 64)
	if err != nil {
		return fmt.Errorf("delete resource %s: no version was read (a bug)", r.Name)
	}
	unlock, err := s.writeLock(r.Name)
	if err != nil {
		return err
	}
	defer unlock()
	_, gen, err := s.read(r.Name)
	if errors.Is(err, ErrNotFound) || (err == nil && gen != want) {
		return &ConflictError{Name: r.Name}
	}
	if err != nil {
		return err
	}
	if err := os.Remove(s.path(r.Name)); err != nil {
		return fmt.Errorf("forget resource %s: %w", r.Name, err)
	}
	if d, err := os.Open(s.Dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// write replaces the file atomically: a temp file in the same directory,
// synced, then renamed over it. With create, the rename must not replace an
// existing file (a hard link is used: it fails when the name exists).
func (s *DirStore) write(r *Resource, gen int64, create bool) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("record resource %s: %w", r.Name, err)
	}
	data, err := json.MarshalIndent(localFile{Generation: gen, Resource: *r}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the state of resource %s: %w", r.Name, err)
	}
	tmp, err := os.CreateTemp(s.Dir, "."+r.Name+".json.tmp-")
	if err != nil {
		return fmt.Errorf("record resource %s: %w", r.Name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("record resource %s: %w", r.Name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("record resource %s: %w", r.Name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("record resource %s: %w", r.Name, err)
	}
	if create {
		if err := os.Link(tmp.Name(), s.path(r.Name)); errors.Is(err, fs.ErrExist) {
			return &ConflictError{Name: r.Name, Exists: true}
		} else if err != nil {
			return fmt.Errorf("record resource %s: %w", r.Name, err)
		}
	} else if err := os.Rename(tmp.Name(), s.path(r.Name)); err != nil {
		return fmt.Errorf("record resource %s: %w", r.Name, err)
	}
	if d, err := os.Open(s.Dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	r.version = strconv.FormatInt(gen, 10)
	return nil
}

// errLocked is lockFile's error for a lock held elsewhere.
var errLocked = errors.New("locked")

// writeLock serialises the read-compare-write of Create and Update between
// processes (and goroutines): a blocking lock on Dir/.<name>.write.lock (see
// lockFile), held only for the write.
func (s *DirStore) writeLock(name string) (func(), error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("record resource %s: %w", name, err)
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, "."+name+".write.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("record resource %s: %w", name, err)
	}
	if err := lockFile(f, true); err != nil {
		f.Close()
		return nil, fmt.Errorf("record resource %s: %w", name, err)
	}
	return func() {
		unlockFile(f)
		f.Close()
	}, nil
}

// Lock takes an exclusive lock on Dir/<name>.lock (see lockFile) without
// waiting: a lock another process holds is a *BusyError. The lock goes with
// the process, so a killed cscript never leaves it behind.
func (s *DirStore) Lock(_ context.Context, name string) (func(), error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock resource %s: %w", name, err)
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock resource %s: %w", name, err)
	}
	if err := lockFile(f, false); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, &BusyError{Name: name}
		}
		return nil, fmt.Errorf("lock resource %s: %w", name, err)
	}
	return func() {
		unlockFile(f)
		f.Close()
	}, nil
}
