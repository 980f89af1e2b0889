package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The load cache keeps the decoded and validated script files of a library
// so that `cscript list` does not parse a thousand YAML files on every start
// (yaml.v3 needs tens of microseconds per file). It is only an accelerator:
// an entry is used when the file (and its scriptFile) still has the size and
// modification time it had when parsed, the cache was written by the same
// cscript executable, and the file was at least racyWindow older than the
// cache when the cache was written (a file changed in the same timestamp tick
// could otherwise keep a stale entry, as git's "racy" index entries). Any
// error reading or writing the cache falls back to parsing.
//
// The scripts themselves are one gob stream beside the entries: a zero
// Script first (it carries the type definitions), then every entry's
// script, with the offset where each ends. Loading the whole library decodes
// the stream in one pass; a load for one script (LoadOptions.Only) decodes
// the zero Script and that script's bytes alone, which `cscript render` on a
// 1,000-script library needs: decoding all of them took longer than the
// rest of the command.

const (
	cacheFormat = "cscript-load-cache-2"
	racyWindow  = 2 * time.Second
)

type fileStamp struct {
	Path    string
	Exists  bool
	Size    int64
	ModTime int64 // UnixNano
}

func stampOf(path string, fi os.FileInfo) fileStamp {
	if fi == nil {
		return fileStamp{Path: path}
	}
	return fileStamp{Path: path, Exists: true, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
}

type cacheEntry struct {
	Stamp fileStamp
	// Body is the stamp of the scriptFile, when the script has one.
	Body *fileStamp
	// Problems of the file, with File left empty (it depends on how the root was given).
	Problems []Problem
	// ScriptAt is the entry's script in cacheFile.Scripts (1 is the first),
	// set when the file has no problems of its own; 0 otherwise.
	ScriptAt  int
	Name      string
	NameLine  int
	NameCol   int
	Image     string
	ImageLine int
	ImageCol  int

	// script is the decoded script, once needed.
	script *Script
}

type cacheFile struct {
	Format    string
	Exe       fileStamp
	Root      string
	WrittenAt int64                  // UnixNano
	Entries   map[string]*cacheEntry // by slash-separated path relative to Root
	// Scripts is the gob stream of the scripts (see above); ScriptEnds[i]
	// is where its value i ends (value 0 is the zero Script).
	Scripts    []byte
	ScriptEnds []int
}

// loadCache is one library's cache, read at the start of a load.
type loadCache struct {
	path    string
	exe     fileStamp
	root    string
	old     *cacheFile
	dirty   bool
	decoded bool // decodeAll ran
	entries map[string]*cacheEntry
}

func executableStamp() fileStamp {
	exe, err := os.Executable()
	if err != nil {
		return fileStamp{}
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return fileStamp{}
	}
	return stampOf(exe, fi)
}

func openLoadCache(dir, absRoot string) *loadCache {
	sum := sha256.Sum256([]byte(absRoot))
	c := &loadCache{
		path:    filepath.Join(dir, "load-"+hex.EncodeToString(sum[:8])+".gob"),
		exe:     executableStamp(),
		root:    absRoot,
		entries: map[string]*cacheEntry{},
	}
	data, err := os.ReadFile(c.path)
	if err != nil {
		c.dirty = true
		return c
	}
	var f cacheFile
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&f); err != nil ||
		f.Format != cacheFormat || f.Exe != c.exe || !c.exe.Exists || f.Root != absRoot {
		c.dirty = true
		return c
	}
	c.old = &f
	return c
}

// lookup returns the cached entry for rel when it is still valid.
func (c *loadCache) lookup(rel string, fi os.FileInfo) *cacheEntry {
	if c == nil || c.old == nil || fi == nil {
		return nil
	}
	e := c.old.Entries[rel]
	if e == nil || e.Stamp != stampOf(e.Stamp.Path, fi) || e.ScriptAt < 0 || (e.ScriptAt > 0 && e.ScriptAt >= len(c.old.ScriptEnds)) {
		return nil
	}
	if fi.ModTime().UnixNano() > c.old.WrittenAt-int64(racyWindow) {
		return nil
	}
	if e.Body != nil {
		bfi, err := os.Stat(e.Body.Path)
		if err != nil {
			bfi = nil
		}
		st := stampOf(e.Body.Path, bfi)
		if st != *e.Body || (st.Exists && st.ModTime > c.old.WrittenAt-int64(racyWindow)) {
			return nil
		}
	}
	return e
}

// script returns e's script, decoding it first: from the whole stream, or,
// with alone, from the zero Script and its own bytes. nil when e has none
// or it does not decode (then the file is parsed instead).
func (c *loadCache) script(e *cacheEntry, alone bool) *Script {
	if e.script != nil || e.ScriptAt == 0 || c.old == nil {
		return e.script
	}
	f := c.old
	if e.ScriptAt >= len(f.ScriptEnds) || !c.offsetsValid() {
		return nil
	}
	if !alone {
		c.decodeAll()
		return e.script
	}
	start, end := f.ScriptEnds[e.ScriptAt-1], f.ScriptEnds[e.ScriptAt]
	d := gob.NewDecoder(io.MultiReader(bytes.NewReader(f.Scripts[:f.ScriptEnds[0]]), bytes.NewReader(f.Scripts[start:end])))
	var zero, sc Script
	if d.Decode(&zero) != nil || d.Decode(&sc) != nil {
		return nil
	}
	e.script = &sc
	return e.script
}

// offsetsValid says whether the stream's offsets rise within it (a corrupt
// cache is parsed around, never trusted).
func (c *loadCache) offsetsValid() bool {
	f := c.old
	prev := 0
	for _, end := range f.ScriptEnds {
		if end < prev || end > len(f.Scripts) {
			return false
		}
		prev = end
	}
	return len(f.ScriptEnds) > 0
}

// decodeAll decodes every script of the stream into its entry, once.
func (c *loadCache) decodeAll() {
	if c.decoded || c.old == nil {
		return
	}
	c.decoded = true
	f := c.old
	byAt := make([]*cacheEntry, len(f.ScriptEnds))
	for _, e := range f.Entries {
		if e.ScriptAt > 0 && e.ScriptAt < len(byAt) {
			byAt[e.ScriptAt] = e
		}
	}
	d := gob.NewDecoder(bytes.NewReader(f.Scripts))
	for i := range byAt {
		var sc Script
		if d.Decode(&sc) != nil {
			return // the entries not reached are parsed instead
		}
		if e := byAt[i]; e != nil && e.script == nil {
			e.script = &sc
		}
	}
}

// keep records the entry for rel in the cache to be written.
func (c *loadCache) keep(rel string, e *cacheEntry, fresh bool) {
	if c == nil {
		return
	}
	c.entries[rel] = e
	if fresh {
		c.dirty = true
	}
}

// save writes the cache when anything changed; errors are ignored (see above).
func (c *loadCache) save() {
	if c == nil || !c.exe.Exists {
		return
	}
	if !c.dirty && c.old != nil && len(c.old.Entries) == len(c.entries) {
		return
	}
	for _, e := range c.entries {
		if e.ScriptAt > 0 && e.script == nil {
			c.decodeAll() // entries a load for one script left undecoded
			break
		}
	}
	f := cacheFile{Format: cacheFormat, Exe: c.exe, Root: c.root, WrittenAt: time.Now().UnixNano(), Entries: map[string]*cacheEntry{}}
	var scripts bytes.Buffer
	enc := gob.NewEncoder(&scripts)
	if enc.Encode(&Script{}) != nil {
		return
	}
	f.ScriptEnds = []int{scripts.Len()}
	for _, rel := range sortedKeys(c.entries) {
		e := *c.entries[rel]
		if e.ScriptAt > 0 && e.script == nil {
			continue // did not decode: parsed next time
		}
		e.ScriptAt = 0
		if e.script != nil {
			if enc.Encode(e.script) != nil {
				return
			}
			f.ScriptEnds = append(f.ScriptEnds, scripts.Len())
			e.ScriptAt = len(f.ScriptEnds) - 1
		}
		f.Entries[rel] = &e
	}
	f.Scripts = scripts.Bytes()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&f); err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return
	}
	_ = WriteFileAtomic(c.path, b.Bytes(), 0o600)
}

// entryFromResult makes a cache entry of a freshly parsed script file.
func entryFromResult(r *loadResult, stamp fileStamp) *cacheEntry {
	e := &cacheEntry{Stamp: stamp, Name: r.name}
	for _, p := range r.problems {
		p.File = ""
		e.Problems = append(e.Problems, p)
	}
	e.NameLine, e.NameCol, e.ImageLine, e.ImageCol = r.nameLine, r.nameCol, r.imageLine, r.imageCol
	if s := r.script; s != nil {
		e.Image = s.Image
		if s.ScriptFile != "" {
			p := s.Source.BodyPath
			if p == s.Source.Path || p == "" {
				p = filepath.Join(filepath.Dir(s.Source.Path), filepath.FromSlash(s.ScriptFile))
			}
			fi, err := os.Stat(p)
			if err != nil {
				fi = nil
			}
			st := stampOf(p, fi)
			e.Body = &st
		}
		if len(r.problems) == 0 {
			e.script = s
		}
	}
	return e
}

// resultFromEntry turns a cached entry back into a load result for file. A
// valid script that was not decoded (LoadOptions.Only) is a result with
// skipped set.
func resultFromEntry(e *cacheEntry, file string) loadResult {
	r := loadResult{name: e.Name, nameLine: e.NameLine, nameCol: e.NameCol, imageLine: e.ImageLine, imageCol: e.ImageCol}
	for _, p := range e.Problems {
		p.File = file
		r.problems = append(r.problems, p)
	}
	switch {
	case e.script != nil:
		r.script = e.script
	case e.ScriptAt > 0:
		r.skipped = true
		r.image = e.Image
	case e.Image != "":
		r.script = &Script{Image: e.Image}
	}
	return r
}
