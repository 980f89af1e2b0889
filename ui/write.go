package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

type writeData struct {
	Ref       string // the script edited; "" for a new one
	Library   string
	Libraries []string
	Name      string // a new script's name
	Path      string
	Text      string
	Original  string
	Diff      []diffLine
	Problems  []store.Problem
	Saved     string
}

// writePage is the editor: ?ref=NAME edits a script; ?new=NAME (with
// &from=REF, else the scaffold) starts a new one in ?library=.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	act := s.act(nil, nil, nil)
	cat, _, err := act.Catalog("")
	if err != nil {
		s.fail(w, r, "Write", err)
		return
	}
	d := writeData{}
	for _, ix := range cat.Libraries() {
		d.Libraries = append(d.Libraries, ix.Library.Name)
	}
	switch {
	case q.Get("ref") != "":
		sc, err := cat.Script(q.Get("ref"))
		if err != nil {
			s.fail(w, r, "Write", err)
			return
		}
		b, err := os.ReadFile(sc.Source.Path)
		if err != nil {
			s.fail(w, r, "Write", err)
			return
		}
		d.Ref, d.Library, d.Path, d.Text, d.Original = cat.Ref(sc), sc.Source.Library, sc.Source.Path, string(b), string(b)
	case q.Get("new") != "":
		d.Name, d.Library = q.Get("new"), q.Get("library")
		if d.Library == "" && len(d.Libraries) > 0 {
			d.Library = d.Libraries[0]
		}
		text, path, err := s.newText(cat, d.Library, d.Name, q.Get("from"))
		if err != nil {
			s.fail(w, r, "New script", err)
			return
		}
		d.Text, d.Path = text, path
	default:
		s.render(w, r, http.StatusOK, "write-start", page{Title: "Write a script", Nav: "write", Data: d})
		return
	}
	d.Problems = s.check(d.Path, []byte(d.Text))
	s.render(w, r, http.StatusOK, "write", page{Title: "Write " + d.Path, Nav: "write", Data: d})
}

// newText is the text of a new script called name in library lib: the
// scaffold `cscript new` writes, or a copy of the script from with its name
// changed; and the path it will have.
func (s *Server) newText(cat *store.Catalog, lib, name, from string) (string, string, error) {
	ix, err := cat.Library(lib)
	if err != nil {
		return "", "", err
	}
	if !store.ValidName(name) {
		return "", "", fail.Errorf(fail.Usage, "script name %q is not valid: use lower-case letters, digits and '-' (a DNS-1123 label)", name)
	}
	if sc, ok := ix.Script(name); ok {
		return "", "", fail.Errorf(fail.Conflict, "script %q already exists in library %s at %s: edit it instead", name, lib, sc.Source.Path)
	}
	path := filepath.Join(ix.Library.Root, name+".yaml")
	if _, err := os.Stat(path); err == nil {
		return "", "", fail.Errorf(fail.Conflict, "%s already exists: choose another name", path)
	}
	if from != "" {
		sc, err := cat.Script(from)
		if err != nil {
			return "", "", err
		}
		b, err := os.ReadFile(sc.Source.Path)
		if err != nil {
			return "", "", err
		}
		lines := strings.Split(string(b), "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "name:") {
				lines[i] = "name: " + name
				break
			}
		}
		return strings.Join(lines, "\n"), path, nil
	}
	// The scaffold: written by store.NewScript into a scratch directory.
	tmp, err := os.MkdirTemp("", "cscript-ui-new-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	author := store.GitIdentity(ix.Library.Root)
	who := author.Name
	if author.Email != "" {
		who = fmt.Sprintf("%s <%s>", author.Name, author.Email)
	}
	p, err := store.NewScript(store.Library{Name: lib, Root: tmp}, name, who, s.cfg.Now())
	if err != nil {
		return "", "", err
	}
	b, err := os.ReadFile(p)
	return string(b), path, err
}

// check is the problems of a definition's text at path, as `cscript
// validate` reports them: the file's own and its templates'.
func (s *Server) check(path string, text []byte) []store.Problem {
	tmp, err := os.CreateTemp("", "cscript-ui-check-*.yaml")
	if err != nil {
		return []store.Problem{{File: path, Message: err.Error()}}
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(text)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return []store.Problem{{File: path, Message: err.Error()}}
	}
	sc, ps := store.CheckScript(tmp.Name(), text)
	if len(ps) == 0 && sc != nil && sc.ScriptFile == "" {
		ps = templates.Check(sc, "")
	}
	for i := range ps {
		if ps[i].File == tmp.Name() {
			ps[i].File = path
		}
	}
	return ps
}

type problemJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
	Text    string `json:"text"`
}

// writeCheck answers the editor's check while typing: the problems as JSON.
func (s *Server) writeCheck(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	path := r.PostFormValue("path")
	out := []problemJSON{}
	for _, p := range s.check(path, []byte(r.PostFormValue("text"))) {
		out = append(out, problemJSON{File: p.File, Line: p.Line, Col: p.Col, Message: p.Message, Text: p.String()})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// target is the file a posted editor form writes: the script's file, or
// a new one in its library's root.
func (s *Server) target(r *http.Request) (*store.Index, string, string, error) {
	act := s.act(nil, nil, nil)
	cat, _, err := act.Catalog("")
	if err != nil {
		return nil, "", "", err
	}
	if ref := r.PostFormValue("ref"); ref != "" {
		sc, err := cat.Script(ref)
		if err != nil {
			return nil, "", "", err
		}
		ix, err := cat.Library(sc.Source.Library)
		return ix, sc.Source.Path, sc.Name, err
	}
	ix, err := cat.Library(r.PostFormValue("library"))
	if err != nil {
		return nil, "", "", err
	}
	name := r.PostFormValue("name")
	if !store.ValidName(name) {
		return nil, "", "", fail.Errorf(fail.Usage, "script name %q is not valid: use lower-case letters, digits and '-'", name)
	}
	return ix, filepath.Join(ix.Library.Root, name+".yaml"), name, nil
}

func (s *Server) writeDiff(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, "Write", fail.Wrap(fail.Usage, err))
		return
	}
	_, path, name, err := s.target(r)
	if err != nil {
		s.fail(w, r, "Write", err)
		return
	}
	text := normalize(r.PostFormValue("text"))
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.fail(w, r, "Write", err)
		return
	}
	d := writeData{Ref: r.PostFormValue("ref"), Library: r.PostFormValue("library"), Name: r.PostFormValue("name"), Path: path, Text: text, Original: string(old)}
	d.Diff = lineDiff(string(old), text)
	d.Problems = s.check(path, []byte(text))
	title := "Save " + name
	s.render(w, r, http.StatusOK, "write-diff", page{Title: title, Nav: "write", Data: d})
}

// writeSave writes the file (atomically) when it has no problem and
// commits only that file, as `cscript new` and `cscript edit` do.
func (s *Server) writeSave(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, "Save", fail.Wrap(fail.Usage, err))
		return
	}
	ix, path, name, err := s.target(r)
	if err != nil {
		s.fail(w, r, "Save", err)
		return
	}
	text := normalize(r.PostFormValue("text"))
	if ps := s.check(path, []byte(text)); len(ps) > 0 {
		d := writeData{Ref: r.PostFormValue("ref"), Library: r.PostFormValue("library"), Name: r.PostFormValue("name"), Path: path, Text: text, Problems: ps}
		s.render(w, r, http.StatusBadRequest, "write", page{Title: "Write " + path, Nav: "write", Error: "not saved: the definition has problems", Data: d})
		return
	}
	old, err := os.ReadFile(path)
	isNew := errors.Is(err, fs.ErrNotExist)
	if err != nil && !isNew {
		s.fail(w, r, "Save", err)
		return
	}
	if isNew != (r.PostFormValue("ref") == "") {
		s.fail(w, r, "Save", fail.Errorf(fail.Conflict, "%s was created or removed since the editor opened: reload and try again", path))
		return
	}
	if !isNew && string(old) != r.PostFormValue("original") {
		s.fail(w, r, "Save", fail.Errorf(fail.Conflict, "%s changed on disk since the editor opened it: reload it, apply your change again, and save", path))
		return
	}
	if !isNew && string(old) == text {
		http.Redirect(w, r, "/script?ref="+url.QueryEscape(r.PostFormValue("ref"))+"&flash=no+changes", http.StatusSeeOther)
		return
	}
	if err := store.WriteFileAtomic(path, []byte(text), 0o644); err != nil {
		s.fail(w, r, "Save", err)
		return
	}
	msg := "cscript: edit script " + name
	if isNew {
		msg = "cscript: new script " + name
	} else if err := store.Touch(path, s.cfg.Now()); err != nil {
		s.fail(w, r, "Save", err)
		return
	}
	if _, err := os.Stat(filepath.Join(ix.Library.Root, ".git")); err == nil {
		if _, err := store.CommitPaths(ix.Library.Root, msg, store.GitIdentity(ix.Library.Root), path); err != nil && !errors.Is(err, store.ErrNothingToCommit) {
			s.fail(w, r, "Save", fmt.Errorf("%s was written but not committed: %w", path, err))
			return
		}
	}
	s.logf("saved %s (%s)", path, msg)
	ref := name
	if r.PostFormValue("ref") != "" {
		ref = r.PostFormValue("ref")
	}
	http.Redirect(w, r, "/script?ref="+url.QueryEscape(ref), http.StatusSeeOther)
}

// normalize makes a textarea's text the file's: LF line ends, one final
// newline.
func normalize(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.TrimRight(s, "\n") + "\n"
}

type diffLine struct {
	Op   string // " ", "+", "-"
	Text string
}

// lineDiff is the lines of a and b as a diff (longest common subsequence).
func lineDiff(a, b string) []diffLine {
	x, y := strings.Split(strings.TrimSuffix(a, "\n"), "\n"), strings.Split(strings.TrimSuffix(b, "\n"), "\n")
	if a == "" {
		x = nil
	}
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []diffLine
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			out = append(out, diffLine{" ", x[i]})
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			out = append(out, diffLine{"+", y[j]})
			j++
		default:
			out = append(out, diffLine{"-", x[i]})
			i++
		}
	}
	return out
}

type syncData struct {
	Library, Message string
	Diverged         bool
}

// syncLibrary syncs a git library as `cscript sync LIB` does and says
// what happened, divergence included.
func (s *Server) syncLibrary(w http.ResponseWriter, r *http.Request) {
	name := r.FormValue("library")
	cfg, err := s.act(nil, nil, nil).Config()
	if err != nil {
		s.fail(w, r, "Sync", err)
		return
	}
	ref, ok := cfg.Library(name)
	if !ok {
		s.fail(w, r, "Sync", &store.NotFoundError{What: "library", Name: name, Hint: "see `cscript library list`"})
		return
	}
	if ref.URL == "" {
		s.fail(w, r, "Sync", fail.Errorf(fail.Usage, "library %q is a local directory without a git remote: nothing to sync", name))
		return
	}
	res, err := store.Sync(r.Context(), ref.Path, store.GitOptions{Branch: ref.Branch, VerifySignatures: ref.VerifySignatures, Keyring: ref.Keyring, Now: s.cfg.Now})
	if err != nil {
		s.fail(w, r, "Sync "+name, err)
		return
	}
	d := syncData{Library: name, Message: res.Message(), Diverged: res.Diverged || res.Rewound}
	status := http.StatusOK
	if d.Diverged {
		status = http.StatusConflict
	}
	s.render(w, r, status, "sync", page{Title: "Sync " + name, Nav: "scripts", Data: d})
}
