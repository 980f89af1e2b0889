package store

// Rebasing local commits onto the remote's new commits, for Sync: each
// local commit's changes are applied, file by file, on top of the remote
// head; two changes to one file are merged line by line (diff3), and only
// changes to the same lines are a conflict. go-git has no rebase, so the
// trees and commits are written here.

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// treeFile is a file of a flattened tree.
type treeFile struct {
	hash plumbing.Hash
	mode filemode.FileMode
}

// rebaseConflict says which files two sides changed in the same lines.
type rebaseConflict struct {
	files  []string
	commit string // subject of the local commit that does not apply
}

// rebaseCommits applies the commits (oldest first) onto onto and returns
// the new head, or the files in conflict.
func rebaseCommits(r *git.Repository, commits []*object.Commit, onto *object.Commit, now func() time.Time) (plumbing.Hash, *rebaseConflict, error) {
	if now == nil {
		now = time.Now
	}
	files, err := flattenTree(onto)
	if err != nil {
		return plumbing.ZeroHash, nil, err
	}
	parent := onto.Hash
	for _, c := range commits {
		before := map[string]treeFile{}
		if c.NumParents() > 0 {
			p, err := c.Parent(0)
			if err != nil {
				return plumbing.ZeroHash, nil, err
			}
			if before, err = flattenTree(p); err != nil {
				return plumbing.ZeroHash, nil, err
			}
		}
		after, err := flattenTree(c)
		if err != nil {
			return plumbing.ZeroHash, nil, err
		}
		var conflicts []string
		for _, name := range changedPaths(before, after) {
			from, to, cur := before[name], after[name], files[name]
			switch {
			case cur == from: // the remote did not touch it: take ours
			case cur == to: // the same change on both sides
				continue
			default:
				merged, ok, err := mergeBlobs(r, from, cur, to)
				if err != nil {
					return plumbing.ZeroHash, nil, err
				}
				if !ok {
					conflicts = append(conflicts, name)
					continue
				}
				to = merged
			}
			if to.hash.IsZero() {
				delete(files, name)
			} else {
				files[name] = to
			}
		}
		if len(conflicts) > 0 {
			subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
			return plumbing.ZeroHash, &rebaseConflict{files: conflicts, commit: subject}, nil
		}
		tree, err := writeTree(r, files)
		if err != nil {
			return plumbing.ZeroHash, nil, err
		}
		committer := c.Committer
		committer.When = now()
		nc := &object.Commit{Author: c.Author, Committer: committer, Message: c.Message, TreeHash: tree, ParentHashes: []plumbing.Hash{parent}}
		if parent, err = storeObject(r, nc); err != nil {
			return plumbing.ZeroHash, nil, err
		}
	}
	return parent, nil, nil
}

// changedPaths are the paths whose file differs between a and b, sorted.
func changedPaths(a, b map[string]treeFile) []string {
	var out []string
	for p, f := range a {
		if b[p] != f {
			out = append(out, p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func flattenTree(c *object.Commit) (map[string]treeFile, error) {
	t, err := c.Tree()
	if err != nil {
		return nil, err
	}
	out := map[string]treeFile{}
	err = t.Files().ForEach(func(f *object.File) error {
		out[f.Name] = treeFile{hash: f.Hash, mode: f.Mode}
		return nil
	})
	return out, err
}

// mergeBlobs merges the change base → ours into theirs line by line; ok
// is false when both changed the same lines (or a file is binary, or one
// side removed a file the other changed).
func mergeBlobs(r *git.Repository, base, theirs, ours treeFile) (treeFile, bool, error) {
	if base.hash.IsZero() || theirs.hash.IsZero() || ours.hash.IsZero() || theirs.mode != ours.mode {
		return treeFile{}, false, nil
	}
	read := func(h plumbing.Hash) ([]byte, error) {
		b, err := r.BlobObject(h)
		if err != nil {
			return nil, err
		}
		rd, err := b.Reader()
		if err != nil {
			return nil, err
		}
		defer rd.Close()
		return io.ReadAll(rd)
	}
	var texts [3][]byte
	for i, h := range []plumbing.Hash{base.hash, theirs.hash, ours.hash} {
		b, err := read(h)
		if err != nil {
			return treeFile{}, false, err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return treeFile{}, false, nil
		}
		texts[i] = b
	}
	merged, ok := merge3(splitLines(texts[0]), splitLines(texts[1]), splitLines(texts[2]))
	if !ok {
		return treeFile{}, false, nil
	}
	obj := r.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	w, err := obj.Writer()
	if err != nil {
		return treeFile{}, false, err
	}
	if _, err := w.Write([]byte(strings.Join(merged, ""))); err != nil {
		return treeFile{}, false, err
	}
	if err := w.Close(); err != nil {
		return treeFile{}, false, err
	}
	h, err := r.Storer.SetEncodedObject(obj)
	return treeFile{hash: h, mode: ours.mode}, err == nil, err
}

func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.SplitAfter(string(b), "\n")
}

// merge3 is diff3: the changes from base to a and from base to b, both
// applied; ok is false when they touch the same (or adjacent) lines
// differently.
func merge3(base, a, b []string) ([]string, bool) {
	ma, ok1 := lcsMatch(base, a)
	mb, ok2 := lcsMatch(base, b)
	if !ok1 || !ok2 {
		return nil, false
	}
	var out []string
	lo, ao, bo := 0, 0, 0
	for lo < len(base) || ao < len(a) || bo < len(b) {
		if lo < len(base) && ma[lo] == ao && mb[lo] == bo {
			out = append(out, base[lo])
			lo, ao, bo = lo+1, ao+1, bo+1
			continue
		}
		// The next line all three share ends this unstable chunk.
		l := lo
		for l < len(base) && (ma[l] < 0 || mb[l] < 0) {
			l++
		}
		ae, be := len(a), len(b)
		if l < len(base) {
			ae, be = ma[l], mb[l]
		}
		ob, oa, ot := base[lo:l], a[ao:ae], b[bo:be]
		switch {
		case equalLines(oa, ob):
			out = append(out, ot...)
		case equalLines(ot, ob), equalLines(oa, ot):
			out = append(out, oa...)
		default:
			m, ok := laterModified(ob, oa, ot)
			if !ok {
				return nil, false
			}
			out = append(out, m...)
		}
		lo, ao, bo = l, ae, be
	}
	return out, true
}

// laterModified resolves the one conflict every two edits of a script
// have: both set its `modified:` line (to the time of each edit), and the
// later time wins, so that edits of different parts of a script merge.
// It takes chunks of as many lines on each side, line by line: each line
// must be changed on one side only, or be that `modified:` line, which
// must be among them.
func laterModified(base, a, b []string) ([]string, bool) {
	if len(a) != len(base) || len(b) != len(base) {
		return nil, false
	}
	out := make([]string, len(base))
	stamped := false
	for i := range base {
		switch {
		case a[i] == base[i]:
			out[i] = b[i]
		case b[i] == base[i] || a[i] == b[i]:
			out[i] = a[i]
		default:
			ta, okA := modifiedTime(a[i])
			tb, okB := modifiedTime(b[i])
			if _, okBase := modifiedTime(base[i]); !okA || !okB || !okBase {
				return nil, false
			}
			out[i] = a[i]
			if tb.After(ta) {
				out[i] = b[i]
			}
			stamped = true
		}
	}
	// Without the `modified:` line the chunk is adjacent changes, a conflict as for git.
	return out, stamped
}

// modifiedTime is the time of a top-level `modified:` line.
func modifiedTime(line string) (time.Time, bool) {
	v, ok := strings.CutPrefix(line, "modified: ")
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, strings.Trim(strings.TrimSpace(v), `"'`))
	return t, err == nil
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// lcsMatch maps each line of x to the line of y it is matched with in a
// longest common subsequence, or -1; ok is false for files too large to
// compare this way (then they count as a conflict).
func lcsMatch(x, y []string) ([]int, bool) {
	n, m := len(x), len(y)
	if n*m > 4_000_000 {
		return nil, false
	}
	// l[i][j] is the LCS length of x[i:] and y[j:].
	l := make([][]int32, n+1)
	for i := range l {
		l[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	match := make([]int, n)
	for i := range match {
		match[i] = -1
	}
	for i, j := 0, 0; i < n && j < m; {
		switch {
		case x[i] == y[j]:
			match[i] = j
			i, j = i+1, j+1
		case l[i+1][j] >= l[i][j+1]:
			i++
		default:
			j++
		}
	}
	return match, true
}

// writeTree stores the tree of files (nested trees included) and returns
// its hash.
func writeTree(r *git.Repository, files map[string]treeFile) (plumbing.Hash, error) {
	type dir struct {
		files map[string]treeFile
		dirs  map[string]*dir
	}
	newDir := func() *dir { return &dir{files: map[string]treeFile{}, dirs: map[string]*dir{}} }
	root := newDir()
	for p, f := range files {
		d := root
		parts := strings.Split(p, "/")
		for _, part := range parts[:len(parts)-1] {
			sub, ok := d.dirs[part]
			if !ok {
				sub = newDir()
				d.dirs[part] = sub
			}
			d = sub
		}
		d.files[parts[len(parts)-1]] = f
	}
	var write func(d *dir) (plumbing.Hash, error)
	write = func(d *dir) (plumbing.Hash, error) {
		t := &object.Tree{}
		for name, f := range d.files {
			t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: f.mode, Hash: f.hash})
		}
		for name, sub := range d.dirs {
			h, err := write(sub)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		}
		// git orders a tree's entries by name, a directory's as if it ended in "/".
		key := func(e object.TreeEntry) string {
			if e.Mode == filemode.Dir {
				return e.Name + "/"
			}
			return e.Name
		}
		sort.Slice(t.Entries, func(i, j int) bool { return key(t.Entries[i]) < key(t.Entries[j]) })
		return storeObject(r, t)
	}
	return write(root)
}

// storeObject encodes a tree or commit into r's object store.
func storeObject(r *git.Repository, o interface {
	Encode(plumbing.EncodedObject) error
}) (plumbing.Hash, error) {
	obj := r.Storer.NewEncodedObject()
	if err := o.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode: %w", err)
	}
	return r.Storer.SetEncodedObject(obj)
}
