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
	h.file("decks/dock.yaml", "backend: docker\nvalues: {region: eu}\ncredentials:\n  - name: DECK_TOKEN\n    fromEnv: TEST_DECK_TOKEN\n")
	h.env["TEST_DECK_TOKEN"] = "deck-s3cr3t"
	// The event's script is rendered for the deck: its values, its .Deck, its credentials.
	h.file("deck-id-create.yaml", "name: deck-id-create\nimage: shell\ninterpreter: sh\n"+
		"script: |\n  echo \"region {{ .Values.region }} on deck {{ .Deck.Name }}, token $DECK_TOKEN\"\n  echo id-1\n")
	h.file("deck-id.yaml", "kind: Lifecycle\nname: deck-id\nscripts:\n  create: deck-id-create\n")
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
	out, err = h.c.RunEvent(ctx, env, EventOptions{Lifecycle: "deck-id", Order: lifecycle.Order{Event: lifecycle.EventCreate, Name: "id1"}}, &rec)
	if err != nil || out.Resource.BackendID != "id-1" {
		t.Fatalf("create id1: %v, %+v", err, out)
	}
	if !strings.Contains(rec.out.String(), "region eu on deck dock, token ") {
		t.Errorf("the script was not rendered for the deck: %q", rec.out.String())
	}
	// The record keeps the output redacted (the local process executor
	// of this test streams it as it is; the backends redact it).
	run, err := h.c.GetRun(rec.starts[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	f, err := run.Artifact(history.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := io.ReadAll(f)
	f.Close()
	if !strings.Contains(string(log), "region eu on deck dock, token ***") || strings.Contains(string(log), "deck-s3cr3t") {
		t.Errorf("the event's output log: %q", log)
	}
	runs, err := h.c.ListRuns(0)
	if err != nil || len(runs) != 2 {
		t.Fatalf("ListRuns: %+v, %v", runs, err)
	}
	for _, r := range runs {
		if (r.ID != rec.starts[0].ID && r.ID != rec.starts[1].ID) || r.Event != "create" || r.State != history.StateSucceeded || r.Backend != history.BackendDocker {
			t.Errorf("an event's run record: %+v", r)
		}
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
