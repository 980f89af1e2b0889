package action

import (
	"context"
	"sort"
	"strings"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/lifecycle"
)

// Forget is what `resource forget` would do: the resource as read, and
// what forgetting it leaves behind.
type Forget struct {
	Resource *lifecycle.Resource
	// LeftBehind says what the resource's scripts made that nothing will
	// terminate once it is forgotten ("" when nothing is known).
	LeftBehind string
}

// PlanForget reads a resource to forget: removed from the state without
// running its terminate script, for a resource stuck ERRED (its create
// failed because the engine or cluster was down). Another state is a
// conflict that says what would be left behind, unless force; an event
// still running is refused even with force.
func (c *Configuration) PlanForget(ctx context.Context, env *Resources, name string, force bool) (*Forget, error) {
	r, err := env.States.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	f := &Forget{Resource: r, LeftBehind: leftBehind(r)}
	if r.Running != nil && r.State.Transient() && c.now().Before(r.Running.Deadline) {
		return nil, fail.Errorf(fail.Conflict, "resource %s is %s: a %s is running (run %s on %s, since %s); wait for it, then forget it if it ends ERRED",
			name, r.State, r.Running.Event, r.Running.RunID, orDash(r.Running.Host), r.Running.Start.UTC().Format("2006-01-02 15:04:05Z"))
	}
	if r.State != lifecycle.StateErred && !force {
		what := "nothing that cscript knows of"
		if f.LeftBehind != "" {
			what = f.LeftBehind
		}
		return nil, fail.Errorf(fail.Conflict, "resource %s is %s, not ERRED: forgetting it runs no terminate script and leaves behind %s; "+
			"terminate it with `cscript resource terminate %s`, or pass --force to forget it anyway", name, r.State, what, name)
	}
	return f, nil
}

// ForgetResource removes f's resource from the state, if no one changed it
// since PlanForget read it (else a conflict, and nothing is removed). No
// script runs.
func (c *Configuration) ForgetResource(ctx context.Context, env *Resources, f *Forget) error {
	unlock, err := env.States.Lock(ctx, f.Resource.Name)
	if err != nil {
		return err
	}
	defer unlock()
	return env.States.Delete(ctx, f.Resource)
}

// leftBehind describes what a resource's scripts made: its backend id,
// endpoints and metadata keys ("" when it has none).
func leftBehind(r *lifecycle.Resource) string {
	var parts []string
	if r.BackendID != "" {
		parts = append(parts, "backend id "+r.BackendID)
	}
	if n := len(r.Endpoints); n > 0 {
		var eps []string
		for _, e := range r.Endpoints {
			eps = append(eps, e.Name+" "+e.URL)
		}
		parts = append(parts, "endpoints "+strings.Join(eps, ", "))
	}
	if len(r.BackendMetadata) > 0 {
		keys := make([]string, 0, len(r.BackendMetadata))
		for k := range r.BackendMetadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts = append(parts, "metadata "+strings.Join(keys, ", "))
	}
	return strings.Join(parts, "; ")
}
