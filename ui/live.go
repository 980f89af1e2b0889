package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/transfer"
)

// maxLiveBytes bounds the output a live run keeps in memory for the pages
// that connect late; older output is dropped (the run's page has it all).
const maxLiveBytes = 4 << 20

// event is one thing a live run tells its pages.
type event struct {
	Seq    int    `json:"seq"`
	Kind   string `json:"kind"` // started, phase, out, transfer, warn, note, end
	Stream string `json:"stream,omitempty"`
	Text   string `json:"text"`
	Time   string `json:"time,omitempty"`
	// Unix milliseconds when the server got it (the latency benchmark).
	At int64 `json:"at"`
}

// liveRun is a run (or a lifecycle event) this server started, with what
// it said so far. It is an action.Progress and an action.Log.
type liveRun struct {
	ID, Title, Deck string
	Began           time.Time

	mu      sync.Mutex
	events  []event
	seq     int
	bytes   int
	dropped int
	notify  chan struct{}
	state   string // running, then the record's state
	errMsg  string
	link    string // the page of what the run is about (a resource)

	cancel    context.CancelFunc
	force     chan struct{}
	forceOnce sync.Once
	cancelled bool
	done      chan struct{}
	srv       *Server
}

func (l *liveRun) setLink(u string) {
	l.mu.Lock()
	l.link = u
	l.mu.Unlock()
}

// Link is the page of what the run is about, or "".
func (l *liveRun) Link() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.link
}

// Transcript is what the run said (output and notes), for the page of a
// finished run that has no record of its own (a lifecycle event).
func (l *liveRun) Transcript() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.events {
		switch e.Kind {
		case "out":
			b.WriteString(e.Text)
		case "phase", "transfer":
		default:
			b.WriteString("[" + e.Kind + "] " + e.Text + "\n")
		}
	}
	return b.String()
}

// State is "running" or how the run ended.
func (l *liveRun) State() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// Err is the run's error message (redacted), if it failed.
func (l *liveRun) Err() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errMsg
}

func (l *liveRun) add(e event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	e.Seq = l.seq
	e.At = time.Now().UnixMilli()
	e.Text = l.srv.cfg.Secrets.String(e.Text)
	l.events = append(l.events, e)
	l.bytes += len(e.Text)
	for l.bytes > maxLiveBytes && len(l.events) > 1 {
		l.bytes -= len(l.events[0].Text)
		l.dropped++
		l.events = l.events[1:]
	}
	close(l.notify)
	l.notify = make(chan struct{})
}

// since is the events after seq, a channel closed at the next one, and
// whether the run is over.
func (l *liveRun) since(seq int) ([]event, <-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []event
	for _, e := range l.events {
		if e.Seq > seq {
			out = append(out, e)
		}
	}
	select {
	case <-l.done:
		return out, l.notify, true
	default:
		return out, l.notify, false
	}
}

func (l *liveRun) Started(s action.RunStart) {
	l.add(event{Kind: "started", Text: fmt.Sprintf("run %s: %s on deck %s, %s", s.ID, s.Script, orDash(s.Deck), s.Where)})
}

func (l *liveRun) Phase(p action.PhaseEvent) {
	l.add(event{Kind: "phase", Stream: p.Phase, Text: p.Message, Time: p.Time.Format("15:04:05.000")})
}

func (l *liveRun) Output(s action.Stream, p []byte) {
	l.add(event{Kind: "out", Stream: string(s), Text: string(p)})
}

func (l *liveRun) Transfer(label string) io.Writer { return &meter{l: l, label: label} }

func (l *liveRun) Warn(msg string) { l.add(event{Kind: "warn", Text: msg}) }
func (l *liveRun) Note(msg string) { l.add(event{Kind: "note", Text: msg}) }

// meter reports a transfer's progress as events, at most a few a second.
type meter struct {
	l     *liveRun
	label string
	last  time.Time
}

var _ transfer.Meter = (*meter)(nil)

func (m *meter) Write(p []byte) (int, error) { return len(p), nil }

func (m *meter) Meter(n, total int64, done, ok bool) {
	if !done && time.Since(m.last) < 200*time.Millisecond {
		return
	}
	m.last = time.Now()
	text := fmt.Sprintf("%s: %d bytes", m.label, n)
	if total >= 0 {
		text = fmt.Sprintf("%s: %d of %d bytes", m.label, n, total)
	}
	switch {
	case done && ok:
		text += " - done"
	case done:
		text += " - failed"
	}
	m.l.add(event{Kind: "transfer", Text: text})
}

// stop cancels the run as Ctrl-C does; a second stop forces the cleanup
// (grace period 0) as a second Ctrl-C does.
func (l *liveRun) stop() {
	l.mu.Lock()
	first := !l.cancelled
	l.cancelled = true
	l.mu.Unlock()
	if first {
		l.add(event{Kind: "note", Text: "cancelling: the run is stopped and cleaned up (press cancel again to force)"})
		l.cancel()
		return
	}
	l.forceOnce.Do(func() {
		l.add(event{Kind: "note", Text: "forcing the cleanup"})
		close(l.force)
	})
}

func (l *liveRun) finish(state string, err error) {
	l.mu.Lock()
	l.state = state
	if err != nil {
		l.errMsg = l.srv.cfg.Secrets.String(err.Error())
	}
	l.mu.Unlock()
	text := state
	if err != nil {
		text = fmt.Sprintf("%s: %s (exit code %d)", state, l.errMsg, fail.ExitCode(err))
	}
	l.add(event{Kind: "end", Text: text})
	close(l.done)
	l.mu.Lock()
	close(l.notify)
	l.notify = make(chan struct{})
	l.mu.Unlock()
}

// runManager holds the runs this server started.
type runManager struct {
	srv  *Server
	mu   sync.Mutex
	runs map[string]*liveRun
	wg   sync.WaitGroup
}

func newRunManager(s *Server) *runManager { return &runManager{srv: s, runs: map[string]*liveRun{}} }

// start runs fn in the background on a context of the server (not of the
// request: closing the tab does not stop the run; stopping the server
// does). fn returns the final state and error.
func (m *runManager) start(id, title, deck string, force chan struct{}, fn func(ctx context.Context, l *liveRun) (string, error)) *liveRun {
	ctx, cancel := context.WithCancel(m.srv.ctx)
	l := &liveRun{ID: id, Title: title, Deck: deck, Began: m.srv.cfg.Now(), notify: make(chan struct{}), state: "running",
		cancel: cancel, force: force, done: make(chan struct{}), srv: m.srv}
	m.mu.Lock()
	m.runs[id] = l
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer cancel()
		state, err := fn(ctx, l)
		l.finish(state, err)
		m.srv.logf("run %s (%s) ended: %s", id, title, state)
	}()
	return l
}

func (m *runManager) get(id string) *liveRun {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.runs[id]
}

// list is the runs, the newest first.
func (m *runManager) list() []*liveRun {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*liveRun, 0, len(m.runs))
	for _, l := range m.runs {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Began.After(out[j].Began) })
	return out
}

// wait waits for every run to end, at most d.
func (m *runManager) wait(d time.Duration) {
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		m.srv.logf("some runs did not end in %s", d)
	}
}

// serveEvents streams a live run's events as server-sent events, from
// the one after Last-Event-ID (or ?after=).
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request, l *liveRun) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	last := 0
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		fmt.Sscan(v, &last)
	} else if v := r.URL.Query().Get("after"); v != "" {
		fmt.Sscan(v, &last)
	}
	fmt.Fprint(w, "retry: 1000\n\n")
	fl.Flush()
	for {
		evs, next, over := l.since(last)
		for _, e := range evs {
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "id: %d\ndata: %s\n\n", e.Seq, b)
			last = e.Seq
		}
		fl.Flush()
		if over && len(evs) == 0 {
			return
		}
		if over {
			continue
		}
		select {
		case <-next:
		case <-r.Context().Done():
			return
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ForceAll forces the cleanup of every run still running (grace period
// 0), as a second Ctrl-C does.
func (s *Server) ForceAll() {
	for _, l := range s.runs.list() {
		l.forceOnce.Do(func() { close(l.force) })
	}
}
