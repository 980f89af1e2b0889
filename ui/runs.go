package ui

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
)

func (s *Server) saveValues(id string, v storedValues) error {
	if !history.ValidID(id) {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dir := s.valuesDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return store.WriteFileAtomic(filepath.Join(dir, id+".json"), b, 0o600)
}

func (s *Server) loadValues(id string) (*storedValues, error) {
	if !history.ValidID(id) {
		return nil, fail.Errorf(fail.Usage, "run id %q is not valid", id)
	}
	b, err := os.ReadFile(filepath.Join(s.valuesDir(), id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fail.Errorf(fail.NotFound, "run %s was not started from this UI, so its values are not known: open the script's form and give them", id)
	}
	if err != nil {
		return nil, err
	}
	var v storedValues
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// frame is one frame of a Python traceback.
type frame struct {
	File, Line, Func, Code string
}

// traceback is a Python traceback found in a run's output.
type traceback struct {
	Frames    []frame
	Exception string
}

var excRE = regexp.MustCompile(`^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|Warning|Failure)(:\s.*)?$|^[A-Za-z_][\w.]*:\s.*$`)

var frameRE = regexp.MustCompile(`^\s*File "([^"]*)", line (\d+)(?:, in (.*))?$`)

// findTraceback finds the last Python traceback in text.
func findTraceback(text string) *traceback {
	lines := strings.Split(text, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "Traceback (most recent call last):") {
			start = i
		}
	}
	if start < 0 {
		return nil
	}
	tb := &traceback{}
	for _, l := range lines[start+1:] {
		if m := frameRE.FindStringSubmatch(l); m != nil {
			tb.Frames = append(tb.Frames, frame{File: m[1], Line: m[2], Func: m[3]})
			continue
		}
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			if n := len(tb.Frames); n > 0 && tb.Frames[n-1].Code == "" {
				tb.Frames[n-1].Code = strings.TrimSpace(l)
			}
			continue
		}
		// The exception ends it; other lines (stdout flushed at exit)
		// may come between.
		if excRE.MatchString(strings.TrimSpace(l)) {
			tb.Exception = strings.TrimSpace(l)
			break
		}
	}
	return tb
}

type download struct {
	N int
	history.TransferRecord
	Name string
}

type runData struct {
	ID        string
	Live      *liveRun
	Running   bool
	Record    *history.Record
	Output    string
	Trace     string
	Script    string
	Pod       string
	Events    string
	Traceback *traceback
	Downloads []download
	Again     bool
	Ref       string
}

func (s *Server) readArtifact(open func(string) (io.ReadCloser, error), name string) string {
	rc, err := open(name)
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 8<<20))
	return s.cfg.Secrets.String(string(b))
}

func (s *Server) runPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	d := runData{ID: id, Live: s.runs.get(id)}
	if d.Live != nil {
		select {
		case <-d.Live.done:
		default:
			d.Running = true
		}
	}
	info, err := s.act(nil, nil, nil).GetRun(id)
	switch {
	case err == nil:
		d.Record = info.Record
		d.ID = info.Record.ID
		d.Output = s.readArtifact(info.Artifact, history.LogFile)
		d.Trace = s.readArtifact(info.Artifact, history.ArtifactTrace)
		d.Script = s.readArtifact(info.Artifact, history.ArtifactScript)
		d.Pod = s.readArtifact(info.Artifact, history.ArtifactPod)
		d.Events = s.readArtifact(info.Artifact, history.ArtifactEvents)
		// The trace holds stderr alone; the output has stdout in between.
		d.Traceback = findTraceback(d.Trace)
		if d.Traceback == nil {
			d.Traceback = findTraceback(d.Output)
		}
		for i, t := range info.Record.Downloads {
			d.Downloads = append(d.Downloads, download{N: i, TransferRecord: t, Name: filepath.Base(t.To)})
		}
		if _, err := s.loadValues(d.ID); err == nil {
			d.Again = true
		}
		d.Ref = info.Record.Script
		if info.Record.Library != "" {
			d.Ref = info.Record.Library + "/" + info.Record.Script
		}
	case d.Live == nil:
		s.fail(w, r, "Run "+id, err)
		return
	}
	title := "Run " + d.ID
	if d.Live != nil {
		title = d.Live.Title + " - run " + d.ID
	}
	s.render(w, r, http.StatusOK, "run", page{Title: title, Nav: "runs", Data: d})
}

func (s *Server) runEvents(w http.ResponseWriter, r *http.Request) {
	l := s.runs.get(r.URL.Query().Get("id"))
	if l == nil {
		http.Error(w, "not a run of this server", http.StatusNotFound)
		return
	}
	s.serveEvents(w, r, l)
}

func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	l := s.runs.get(id)
	if l == nil {
		http.Error(w, "not a running run of this server", http.StatusNotFound)
		return
	}
	s.logf("run %s: cancel asked", id)
	l.stop()
	w.WriteHeader(http.StatusNoContent)
}

// download serves a file a run downloaded, once its transfer was verified.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	info, err := s.act(nil, nil, nil).GetRun(r.URL.Query().Get("id"))
	if err != nil {
		s.fail(w, r, "Download", err)
		return
	}
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	if err != nil || n < 0 || n >= len(info.Record.Downloads) {
		http.Error(w, "no such download", http.StatusNotFound)
		return
	}
	t := info.Record.Downloads[n]
	if t.Verified == "" {
		http.Error(w, "the download of "+t.From+" was not verified: it is not offered", http.StatusConflict)
		return
	}
	f, err := os.Open(t.To)
	if err != nil {
		s.fail(w, r, "Download", err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() || st.Size() != t.Bytes {
		http.Error(w, t.To+" changed since the run downloaded it (size differs or it is a directory): not offered", http.StatusConflict)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(filepath.Base(t.To), `"`, "")+`"`)
	if t.SHA256 != "" {
		w.Header().Set("X-Checksum-Sha256", t.SHA256)
	}
	http.ServeContent(w, r, "", st.ModTime(), f)
}

type runsData struct {
	Script, Deck, State string
	Runs                []history.Record
	Live                []*liveRun
	States              []string
}

func (s *Server) runsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := runsData{Script: q.Get("script"), Deck: q.Get("deck"), State: q.Get("state"), Live: s.runs.list()}
	for _, st := range history.States {
		d.States = append(d.States, string(st))
	}
	filter := action.RunFilter{Script: d.Script, Deck: d.Deck, State: history.State(d.State)}
	var err error
	if d.Runs, _, err = s.act(nil, nil, nil).FindRuns(filter, 500); err != nil {
		s.fail(w, r, "Runs", err)
		return
	}
	s.render(w, r, http.StatusOK, "runs", page{Title: "Runs", Nav: "runs", Data: d})
}
