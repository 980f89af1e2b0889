package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
)

var funcs = template.FuncMap{
	"join": strings.Join,
	"q":    url.QueryEscape,
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"dur": func(r history.Record) string {
		if r.End.IsZero() {
			return "-"
		}
		return r.End.Sub(r.Start).Round(100 * time.Millisecond).String()
	},
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12]
		}
		return s
	},
	"str": func(v any) string {
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	},
}

func parseTemplates() (*template.Template, error) {
	return template.New("").Funcs(funcs).ParseFS(files, "templates/*.html")
}

// page is what every page's template gets.
type page struct {
	Title string
	Nav   string
	Error string
	Flash string
	Data  any
}

// render writes a page; the body is built first so that a template error
// is an error page, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, p); err != nil {
		s.logf("page %s: %v", name, err)
		http.Error(w, "page error: "+s.cfg.Secrets.String(err.Error()), http.StatusInternalServerError)
		return
	}
	out := s.cfg.Secrets.Bytes(buf.Bytes())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if start, ok := r.Context().Value(startKey{}).(time.Time); ok {
		w.Header().Set("Server-Timing", fmt.Sprintf("app;dur=%.2f", float64(time.Since(start))/float64(time.Millisecond)))
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// fail shows an error page with the error's message (redacted) and the
// HTTP status of its kind.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, title string, err error) {
	s.render(w, r, statusOf(err), "error", page{Title: title, Error: err.Error()})
}

func (s *Server) routes(mux *http.ServeMux) {
	static := http.FileServerFS(assetFS())
	mux.Handle("GET /static/", http.StripPrefix("/static/", static))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/scripts", http.StatusSeeOther) })
	mux.HandleFunc("GET /scripts", s.scriptsPage)
	mux.HandleFunc("GET /script", s.scriptPage)
	mux.HandleFunc("GET /form", s.formPage)
	mux.HandleFunc("POST /render", s.renderPreview)
	mux.HandleFunc("POST /run", s.startRun)
	mux.HandleFunc("GET /run", s.runPage)
	mux.HandleFunc("GET /run/events", s.runEvents)
	mux.HandleFunc("POST /run/cancel", s.cancelRun)
	mux.HandleFunc("GET /run/download", s.download)
	mux.HandleFunc("GET /runs", s.runsPage)
	mux.HandleFunc("GET /write", s.writePage)
	mux.HandleFunc("GET /write/completion.json", s.completion)
	mux.HandleFunc("POST /write/check", s.writeCheck)
	mux.HandleFunc("POST /write/diff", s.writeDiff)
	mux.HandleFunc("POST /write/save", s.writeSave)
	mux.HandleFunc("POST /sync", s.syncLibrary)
	mux.HandleFunc("GET /resources", s.resourcesPage)
	mux.HandleFunc("GET /resource", s.resourcePage)
	mux.HandleFunc("POST /resource/event", s.resourceEvent)
}

// --- scripts ---

type libraryState struct {
	Name, Path, URL, Head string
	Git                   bool
	Problem               string
}

type scriptRow struct {
	action.ScriptSummary
	LastState, LastID string
	LastStart         time.Time
}

type scriptsData struct {
	Query, Tag string
	Tags       []string
	Scripts    []scriptRow
	Total      int
	Problems   []store.Problem
	Libraries  []libraryState
	Live       []*liveRun
	// Rows is the table's body, built in Go: a thousand rows through
	// html/template's reflective escapers would take most of the page's
	// time (see tools/bench's ui benchmark).
	Rows template.HTML
}

// scriptRows is the scripts table's rows, every text escaped.
func scriptRows(rows []scriptRow) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 400)
	e := html.EscapeString
	for _, r := range rows {
		b.WriteString(`<tr><td><a href="/script?ref=`)
		b.WriteString(e(url.QueryEscape(r.Name)))
		b.WriteString(`">`)
		b.WriteString(e(r.Name))
		b.WriteString(`</a></td><td>`)
		b.WriteString(e(r.Description))
		b.WriteString(`</td><td>`)
		for _, t := range r.Tags {
			b.WriteString(`<a class="tag" href="/scripts?tag=`)
			b.WriteString(e(url.QueryEscape(t)))
			b.WriteString(`">`)
			b.WriteString(e(t))
			b.WriteString(`</a> `)
		}
		b.WriteString(`</td><td>`)
		b.WriteString(e(r.Interpreter))
		b.WriteString(`</td><td>`)
		b.WriteString(e(r.Library))
		b.WriteString(`</td><td>`)
		if r.LastID != "" {
			b.WriteString(`<a href="/run?id=`)
			b.WriteString(e(url.QueryEscape(r.LastID)))
			b.WriteString(`"><span class="state state-`)
			b.WriteString(e(r.LastState))
			b.WriteString(`">`)
			b.WriteString(e(r.LastState))
			b.WriteString(`</span></a> <span class="muted">`)
			b.WriteString(e(r.LastStart.Local().Format("2006-01-02 15:04:05")))
			b.WriteString(`</span>`)
		} else {
			b.WriteString(`<span class="muted">never</span>`)
		}
		b.WriteString("</td></tr>\n")
	}
	return template.HTML(b.String())
}

func (s *Server) scriptsPage(w http.ResponseWriter, r *http.Request) {
	act := s.act(nil, nil, nil)
	list, err := act.ListScripts("")
	if err != nil {
		s.fail(w, r, "Scripts", err)
		return
	}
	recs, _ := act.ListRuns(0)
	last := map[string]history.Record{}
	for _, rec := range recs { // newest first
		k := rec.Library + "/" + rec.Script
		if _, ok := last[k]; !ok {
			last[k] = rec
		}
	}
	d := scriptsData{Query: r.URL.Query().Get("q"), Tag: r.URL.Query().Get("tag"), Total: len(list.Scripts), Problems: list.Problems, Live: s.runs.list()}
	tags := map[string]bool{}
	q := strings.ToLower(d.Query)
	for _, sc := range list.Scripts {
		for _, t := range sc.Tags {
			tags[t] = true
		}
		if d.Tag != "" && !contains(sc.Tags, d.Tag) {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(sc.Name+" "+sc.Description+" "+strings.Join(sc.Tags, " ")), q) {
			continue
		}
		row := scriptRow{ScriptSummary: sc}
		if rec, ok := last[sc.Library+"/"+lastName(sc.Name)]; ok {
			row.LastState, row.LastID, row.LastStart = string(rec.State), rec.ID, rec.Start
		}
		d.Scripts = append(d.Scripts, row)
	}
	for t := range tags {
		d.Tags = append(d.Tags, t)
	}
	sort.Strings(d.Tags)
	d.Rows = scriptRows(d.Scripts)
	if cfg, err := act.Config(); err == nil {
		for _, ref := range cfg.Libraries {
			st := libraryState{Name: ref.Name, Path: ref.Path, URL: ref.URL}
			if _, err := os.Stat(filepath.Join(ref.Path, ".git")); err == nil {
				st.Git = true
				if h, err := store.HeadCommit(ref.Path); err == nil {
					st.Head = h
				} else {
					st.Problem = err.Error()
				}
			}
			d.Libraries = append(d.Libraries, st)
		}
	}
	s.render(w, r, http.StatusOK, "scripts", page{Title: "Scripts", Nav: "scripts", Data: d})
}

func lastName(ref string) string {
	_, n := store.SplitRef(ref)
	return n
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// --- one script ---

type deckRef struct {
	Ref, Description, Backend, Namespace string
	Protected                            bool
}

type scriptData struct {
	Ref         string
	Script      *store.Script
	Definition  string
	Credentials []string
	Decks       []deckRef
	Runs        []history.Record
}

// decksFor is the decks of the catalog, named as they must be given.
func decksFor(cat *store.Catalog) []deckRef {
	count := map[string]int{}
	for _, d := range cat.Decks() {
		count[d.Name]++
	}
	var out []deckRef
	for _, d := range cat.Decks() {
		ref := d.Name
		if count[d.Name] > 1 {
			ref = d.Source.Library + "/" + d.Name
		}
		backend := d.Backend
		if backend == "" {
			backend = store.BackendKubernetes
		}
		out = append(out, deckRef{Ref: ref, Description: d.Description, Backend: backend, Namespace: d.Namespace, Protected: d.Protected})
	}
	return out
}

func (s *Server) scriptPage(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get("ref")
	act := s.act(nil, nil, nil)
	cat, _, err := act.Catalog(ref)
	if err != nil {
		s.fail(w, r, "Script", err)
		return
	}
	sc, err := cat.Script(ref)
	if err != nil {
		s.fail(w, r, "Script "+ref, err)
		return
	}
	def, err := os.ReadFile(sc.Source.Path)
	if err != nil {
		s.fail(w, r, "Script "+ref, err)
		return
	}
	d := scriptData{Ref: cat.Ref(sc), Script: sc, Definition: string(def), Decks: decksFor(cat)}
	for _, c := range sc.Credentials {
		d.Credentials = append(d.Credentials, c.Name)
	}
	if recs, err := act.ListRuns(0); err == nil {
		for _, rec := range recs {
			if rec.Script == sc.Name && rec.Library == sc.Source.Library && len(d.Runs) < 10 {
				d.Runs = append(d.Runs, rec)
			}
		}
	}
	s.render(w, r, http.StatusOK, "script", page{Title: "Script " + d.Ref, Nav: "scripts", Data: d})
}

// --- the render and run form ---

type field struct {
	store.Param
	Input   string // text, number, checkbox, select, file, password
	Value   string // the value the form shows
	Default string // what the value would be without one
	From    string // where the default comes from
	Checked bool
}

type formData struct {
	Ref       string
	Script    *store.Script
	Deck      string
	Decks     []deckRef
	Protected bool
	Fields    []field
	Rendered  string
	PodYAML   string
	FromRun   string
	Note      string
}

// formFor builds the form of script ref on deck, with the values given
// (nil: each param's default).
func (s *Server) formFor(ref, deck string, given map[string]string) (*formData, error) {
	act := s.act(nil, nil, nil)
	res, err := act.Resolve(ref, action.Values{Deck: deck})
	if err != nil {
		return nil, err
	}
	d := &formData{Ref: res.Catalog.Ref(res.Script), Script: res.Script, Deck: deck, Decks: decksFor(res.Catalog)}
	if res.Deck != nil {
		d.Protected = res.Deck.Protected
	}
	for _, p := range res.Script.Params {
		f := field{Param: p, Input: "text"}
		def, from := p.Default, "param default"
		if v, ok := res.Values[p.Name]; ok && v != nil {
			def, from = v, "values (library or deck)"
		}
		if def != nil {
			f.Default, f.From = fmt.Sprint(def), from
		}
		switch {
		case p.Secret:
			f.Input = "password"
		case p.Type == store.ParamInt:
			f.Input = "number"
		case p.Type == store.ParamBool:
			f.Input = "checkbox"
		case p.Type == store.ParamEnum:
			f.Input = "select"
		case p.Type == store.ParamFile:
			f.Input = "file"
		}
		if v, ok := given[p.Name]; ok && !p.Secret {
			f.Value = v
		} else if !p.Secret && p.Type != store.ParamFile {
			f.Value = f.Default
		}
		f.Checked = f.Value == "true"
		d.Fields = append(d.Fields, f)
	}
	return d, nil
}

func (s *Server) formPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ref, deck := q.Get("ref"), q.Get("deck")
	var given map[string]string
	note := ""
	if from := q.Get("from"); from != "" {
		v, err := s.loadValues(from)
		if err != nil {
			s.fail(w, r, "Run again", err)
			return
		}
		ref, deck, given = v.Ref, v.Deck, v.Values
		note = "The values of run " + from + "; secret and file params are not kept: give them again."
	}
	if deck == "" {
		if act := s.act(nil, nil, nil); act != nil {
			if cat, _, err := act.Catalog(ref); err == nil && len(decksFor(cat)) > 0 {
				for _, dr := range decksFor(cat) {
					if !dr.Protected {
						deck = dr.Ref
						break
					}
				}
			}
		}
	}
	d, err := s.formFor(ref, deck, given)
	if err != nil {
		s.fail(w, r, "Run "+ref, err)
		return
	}
	d.FromRun, d.Note = q.Get("from"), note
	s.render(w, r, http.StatusOK, "form", page{Title: "Render and run " + d.Ref, Nav: "scripts", Data: d})
}

// submitted is a render or run form as posted: the values of the params
// (files saved to dir), the deck, the typed confirmation.
type submitted struct {
	Ref, Deck, Confirm string
	Values             map[string]any
	Shown              map[string]string // non-secret, non-file values, for the form and "run again"
}

func (s *Server) readForm(r *http.Request, dir string) (*submitted, error) {
	if err := r.ParseMultipartForm(32 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return nil, fail.Errorf(fail.Usage, "reading the form: %v", err)
	}
	sub := &submitted{Ref: r.FormValue("ref"), Deck: r.FormValue("deck"), Confirm: r.FormValue("confirm"), Values: map[string]any{}, Shown: map[string]string{}}
	act := s.act(nil, nil, nil)
	cat, _, err := act.Catalog(sub.Ref)
	if err != nil {
		return nil, err
	}
	sc, err := cat.Script(sub.Ref)
	if err != nil {
		return nil, err
	}
	for _, p := range sc.Params {
		key := "param." + p.Name
		if p.Type == store.ParamFile {
			if r.MultipartForm == nil || len(r.MultipartForm.File[key]) == 0 {
				continue
			}
			if dir == "" {
				sub.Values[p.Name] = r.MultipartForm.File[key][0].Filename
				continue
			}
			fh := r.MultipartForm.File[key][0]
			src, err := fh.Open()
			if err != nil {
				return nil, err
			}
			dst := filepath.Join(dir, p.Name+"-"+filepath.Base(filepath.Clean("/"+fh.Filename)))
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err == nil {
				_, err = io.Copy(f, src)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			src.Close()
			if err != nil {
				return nil, fmt.Errorf("saving the uploaded file of param %s: %w", p.Name, err)
			}
			sub.Values[p.Name] = dst
			continue
		}
		v := r.FormValue(key)
		if p.Type == store.ParamBool {
			v = "false"
			if r.FormValue(key) != "" {
				v = "true"
			}
		}
		if v == "" {
			continue
		}
		sub.Values[p.Name] = v
		if p.Secret {
			s.cfg.Secrets.Add(v)
		} else {
			sub.Shown[p.Name] = v
		}
	}
	return sub, nil
}

func (s *Server) renderPreview(w http.ResponseWriter, r *http.Request) {
	sub, err := s.readForm(r, "")
	if err != nil {
		s.fail(w, r, "Render", err)
		return
	}
	d, ferr := s.formFor(sub.Ref, sub.Deck, sub.Shown)
	if ferr != nil {
		s.fail(w, r, "Render", ferr)
		return
	}
	act := s.act(nil, nil, nil)
	rd, err := act.Render(r.Context(), action.RenderOptions{Ref: sub.Ref, Values: action.Values{Deck: sub.Deck, Maps: []map[string]any{sub.Values}}, Pod: true})
	if err != nil {
		s.render(w, r, http.StatusBadRequest, "form", page{Title: "Render " + d.Ref, Nav: "scripts", Error: err.Error(), Data: d})
		return
	}
	s.cfg.Secrets.Add(rd.Out.Secrets...)
	d.Rendered = s.cfg.Secrets.String(rd.Out.Body)
	d.PodYAML = s.cfg.Secrets.String(string(rd.Manifest))
	s.render(w, r, http.StatusOK, "form", page{Title: "Render " + d.Ref, Nav: "scripts", Data: d})
}

// formPrompter answers the actions' questions from a submitted form: the
// protected deck's name as typed; a missing required param is an error
// that says to fill it in.
type formPrompter struct{ confirm string }

func (p formPrompter) CanAsk() bool { return true }
func (p formPrompter) ConfirmDeck(_ context.Context, c action.DeckConfirmation) (string, error) {
	if strings.TrimSpace(p.confirm) == "" {
		return "", fail.Errorf(fail.Refused, "deck %s is protected (context %s, namespace %s): type its name in the confirmation field to run; nothing was run", c.Deck, orDash(c.Context), orDash(c.Namespace))
	}
	return p.confirm, nil
}
func (p formPrompter) Param(_ context.Context, prm store.Param, problem error) (string, error) {
	return "", fail.Errorf(fail.Usage, "param %s is required: fill it in the form", prm.Name)
}

// pendingLog keeps what PlanRun says until the run's page exists.
type pendingLog struct{ msgs []event }

func (l *pendingLog) Warn(m string) { l.msgs = append(l.msgs, event{Kind: "warn", Text: m}) }
func (l *pendingLog) Note(m string) { l.msgs = append(l.msgs, event{Kind: "note", Text: m}) }

func (s *Server) startRun(w http.ResponseWriter, r *http.Request) {
	dir, err := os.MkdirTemp("", "cscript-ui-upload-")
	if err != nil {
		s.fail(w, r, "Run", err)
		return
	}
	sub, err := s.readForm(r, dir)
	if err != nil {
		os.RemoveAll(dir)
		s.fail(w, r, "Run", err)
		return
	}
	log := &pendingLog{}
	force := make(chan struct{})
	act := s.act(formPrompter{confirm: sub.Confirm}, log, force)
	plan, err := act.PlanRun(r.Context(), action.RunOptions{Ref: sub.Ref, Values: action.Values{Deck: sub.Deck, Maps: []map[string]any{sub.Values}}, KeepRuns: history.DefaultKeep})
	if err != nil {
		os.RemoveAll(dir)
		d, ferr := s.formFor(sub.Ref, sub.Deck, sub.Shown)
		if ferr != nil {
			s.fail(w, r, "Run", err)
			return
		}
		s.render(w, r, statusOf(err), "form", page{Title: "Run " + d.Ref, Nav: "scripts", Error: err.Error(), Data: d})
		return
	}
	id := plan.Record.ID
	_ = s.saveValues(id, storedValues{Ref: sub.Ref, Deck: sub.Deck, Values: sub.Shown})
	s.runs.start(id, plan.Script.Name, sub.Deck, force, func(ctx context.Context, l *liveRun) (string, error) {
		defer os.RemoveAll(dir)
		for _, e := range log.msgs {
			l.add(e)
		}
		run := s.act(formPrompter{confirm: sub.Confirm}, l, force)
		res, err := run.ExecuteRun(ctx, plan, l)
		if res == nil {
			return "failed", err
		}
		return string(res.Record.State), err
	})
	s.logf("run %s started: %s on deck %s", id, plan.Script.Name, orDash(sub.Deck))
	http.Redirect(w, r, "/run?id="+url.QueryEscape(id), http.StatusSeeOther)
}

func statusOf(err error) int {
	switch fail.KindOf(err) {
	case fail.Refused:
		return http.StatusForbidden
	case fail.NotFound:
		return http.StatusNotFound
	case fail.Usage, fail.Invalid:
		return http.StatusBadRequest
	case fail.Conflict:
		return http.StatusConflict
	case fail.Unavailable:
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// storedValues are the non-secret values of a run this server started,
// for "run again".
type storedValues struct {
	Ref, Deck string
	Values    map[string]string
}

func (s *Server) valuesDir() string {
	p := store.DefaultPaths()
	if s.cfg.Paths != nil {
		p = s.cfg.Paths()
	}
	return filepath.Join(p.StateDir, "ui", "values")
}
