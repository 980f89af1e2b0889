package action

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/store"
)

// recorder is a Progress that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	starts []RunStart
	out    strings.Builder
}

func (r *recorder) Started(s RunStart) { r.mu.Lock(); r.starts = append(r.starts, s); r.mu.Unlock() }
func (r *recorder) Phase(PhaseEvent)   {}
func (r *recorder) Output(_ Stream, p []byte) {
	r.mu.Lock()
	r.out.Write(p)
	r.mu.Unlock()
}
func (r *recorder) Transfer(string) io.Writer { return nil }

// A lifecycle event runs the example lifecycle's real script (as a local
// process), records its run like a run's, keeps the resource's state in
// the Docker deck's local store, and reports through Progress; a protected
// deck is refused without confirmation.
func TestRunEvent(t *testing.T) {
	h := newHome(t)
	ctx := context.Background()
	h.file("decks/dock.yaml", "backend: docker\nvalues: {region: eu}\n")
	env, err := h.c.OpenResources(ResourceOptions{Deck: "dock"})
	if err != nil {
		t.Fatal(err)
	}
	env.Executor = func(_ *store.Deck, out io.Writer) (lifecycle.Executor, error) {
		return &lifecycle.ProcessExecutor{Stream: out}, nil
	}
	var rec recorder
	out, err := h.c.RunEvent(ctx, env, EventOptions{Lifecycle: "demo-vm", Order: lifecycle.Order{
		Event: lifecycle.EventCreate, Name: "vm1", Plan: "small", Attributes: map[string]any{"owner": "ann"}}}, &rec)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, rec.out.String())
	}
	if out.Resource.State != lifecycle.StateOK || out.Resource.BackendID == "" {
		t.Errorf("created resource: %+v", out.Resource)
	}
	if len(rec.starts) != 1 || rec.starts[0].Event != "create" || rec.starts[0].Resource != "vm1" || rec.starts[0].ID == "" {
		t.Errorf("Started: %+v", rec.starts)
	}
	if !strings.Contains(rec.out.String(), "creating vm1 for ann with plan small") {
		t.Errorf("the script's output did not reach Progress: %q", rec.out.String())
	}
	got, err := env.States.Get(ctx, "vm1")
	if err != nil || got.State != lifecycle.StateOK {
		t.Errorf("the stored state: %+v, %v", got, err)
	}
	runs, err := h.c.ListRuns(0)
	if err != nil || len(runs) != 1 || runs[0].ID != rec.starts[0].ID || runs[0].Event != "create" || runs[0].State != history.StateSucceeded ||
		runs[0].Backend != history.BackendDocker {
		t.Errorf("the event's run record: %+v, %v", runs, err)
	}

	h.file("decks/dock.yaml", "backend: docker\nprotected: true\n")
	if env, err = h.c.OpenResources(ResourceOptions{Deck: "dock"}); err != nil {
		t.Fatal(err)
	}
	_, err = h.c.RunEvent(ctx, env, EventOptions{Order: lifecycle.Order{Event: lifecycle.EventTerminate, Name: "vm1"}}, &rec)
	if fail.KindOf(err) != fail.Refused || !strings.Contains(err.Error(), "deck dock is protected") {
		t.Errorf("terminate on a protected deck without confirmation: %v", err)
	}
	if got, err := env.States.Get(ctx, "vm1"); err != nil || got.State != lifecycle.StateOK {
		t.Errorf("the refused event changed the state: %+v, %v", got, err)
	}
}
