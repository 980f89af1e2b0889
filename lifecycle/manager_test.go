package lifecycle

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

// examples loads the example library and its lifecycle definitions.
func examples(t *testing.T) (*store.Index, *Catalog) {
	t.Helper()
	ix := loadIndexAt(t, "examples", "../examples")
	cat := Load(store.NewCatalog(ix))
	if err := cat.Err(); err != nil {
		t.Fatal(err)
	}
	return ix, cat
}

// request renders a library script the way the commands layer does.
func request(t *testing.T, ix *store.Index, name string) *ExecRequest {
	t.Helper()
	s, ok := ix.Script(name)
	if !ok {
		t.Fatalf("no script %s", name)
	}
	out, err := templates.RenderScript(s, ix.Presets, ix.Values, templates.DeckData{Name: "local"}, templates.RunData{ID: "r", User: "u"})
	if err != nil {
		t.Fatal(err)
	}
	return &ExecRequest{Script: s.Name, Library: ix.Library.Name, Image: out.Script.Image, Interpreter: out.Script.Interpreter,
		Body: out.Body, Env: out.Script.Env, Timeout: out.Script.Timeout.Duration}
}

var identity = Identity{ProjectName: "local", ProjectUUID: StableUUID("deck", "examples", "local"),
	CustomerName: "examples", CustomerUUID: StableUUID("library", "examples"), CreatorUsername: "ann", CreatorEmail: "ann@example.com"}

func order(t *testing.T, ix *store.Index, def *Definition, ev Event, name string) Order {
	o := Order{Event: ev, Name: name, Definition: def, Deck: "local", Identity: identity}
	if s := def.Scripts[ev]; s != "" {
		o.Script = request(t, ix, s)
	}
	return o
}

func eventErr(err error) *EventError {
	var ee *EventError
	if errors.As(err, &ee) {
		return ee
	}
	return nil
}

// TestLifecycleEndToEnd runs the demo-vm example's real scripts as local
// processes through a whole lifecycle, on both state stores.
func TestLifecycleEndToEnd(t *testing.T) {
	stores := map[string]func(t *testing.T) StateStore{
		"dir": func(t *testing.T) StateStore { return &DirStore{Dir: t.TempDir(), Deck: "local"} },
		// kubestate's Store runs this lifecycle on a real cluster in test/e2e.
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			ix, cat := examples(t)
			def, err := cat.Find("demo-vm")
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			m := &Manager{States: newStore(t), Exec: &ProcessExecutor{}}

			// create → OK with the backend id and metadata recorded.
			o := order(t, ix, def, EventCreate, "vm1")
			o.Plan, o.Attributes = "small", map[string]any{"owner": "ann"}
			out, err := m.Run(ctx, o)
			if err != nil {
				t.Fatalf("create: %v\n%s", err, outputOf(out))
			}
			r := out.Resource
			if r.State != StateOK || len(r.BackendID) != 36 {
				t.Fatalf("after create: state %s, backend id %q\n%s", r.State, r.BackendID, out.Output)
			}
			if d := cmp.Diff(map[string]any{"cpu": 1.0, "ram": 1024.0, "zone": "demo-1"}, r.BackendMetadata); d != "" {
				t.Errorf("backend metadata (-want +got):\n%s", d)
			}
			if len(r.Endpoints) != 2 || r.Endpoints[0].Name != "ssh" || !strings.HasPrefix(r.Endpoints[0].URL, "ssh://root@"+r.BackendID[:8]) {
				t.Errorf("endpoints = %+v", r.Endpoints)
			}
			if r.Plan != "small" || r.Limits["cpu"] != 1 || r.Attributes["owner"] != "ann" {
				t.Errorf("plan %q limits %v attributes %v", r.Plan, r.Limits, r.Attributes)
			}
			if !strings.Contains(out.Output, "create of vm1 in local") {
				t.Errorf("the definition's env entry did not reach the script:\n%s", out.Output)
			}
			stored, err := m.States.Get(ctx, "vm1")
			if err != nil || stored.BackendID != r.BackendID || stored.State != StateOK {
				t.Fatalf("stored = %+v, %v", stored, err)
			}

			// pull records usages and the report.
			out, err = m.Run(ctx, order(t, ix, def, EventPull, "vm1"))
			if err != nil {
				t.Fatalf("pull: %v\n%s", err, outputOf(out))
			}
			r = out.Resource
			if d := cmp.Diff([]Usage{{"cpu", 10}, {"ram", 1024}}, r.Usages); d != "" {
				t.Errorf("usages (-want +got):\n%s", d)
			}
			if len(r.Report) != 2 || r.Report[0].Header != "Status" || r.Report[0].Body != "running in zone demo-1" || r.Report[1].Body != r.BackendID {
				t.Errorf("report = %+v", r.Report)
			}
			if r.UsagesTime == nil || r.ReportTime == nil || len(out.Warnings) != 0 {
				t.Errorf("usages time %v report time %v warnings %q", r.UsagesTime, r.ReportTime, out.Warnings)
			}

			// A failing update → ERRED with the traceback; the limits stay.
			o = order(t, ix, def, EventUpdate, "vm1")
			o.Limits = map[string]int64{"cpu": 4}
			out, err = m.Run(ctx, o)
			ee := eventErr(err)
			if ee == nil || ee.ExitCode != 1 {
				t.Fatalf("update = %v, want an *EventError with exit code 1", err)
			}
			r = out.Resource
			if r.State != StateErred || r.ErrorMessage == "" || strings.Contains(r.ErrorMessage, "\n") {
				t.Errorf("after update: state %s, message %q", r.State, r.ErrorMessage)
			}
			if r.ErrorMessage != firstLine(out.Output) {
				t.Errorf("error message %q, want the first line of the output %q", r.ErrorMessage, firstLine(out.Output))
			}
			for _, want := range []string{"Traceback (most recent call last)", "in resize", "RuntimeError: the demo backend cannot resize " + r.BackendID, "resizing"} {
				if !strings.Contains(r.ErrorTraceback, want) {
					t.Errorf("traceback lacks %q:\n%s", want, r.ErrorTraceback)
				}
			}
			if r.Limits["cpu"] != 1 {
				t.Errorf("a failed update changed the limits: %v", r.Limits)
			}
			if stored, _ := m.States.Get(ctx, "vm1"); stored.State != StateErred || stored.ErrorTraceback != r.ErrorTraceback {
				t.Errorf("stored state %s", stored.State)
			}

			// A later successful pull returns it to OK and clears the error.
			out, err = m.Run(ctx, order(t, ix, def, EventPull, "vm1"))
			if err != nil || out.Resource.State != StateOK || out.Resource.ErrorMessage != "" || out.Resource.ErrorTraceback != "" {
				t.Fatalf("pull after ERRED: %v, %+v", err, out.Resource)
			}

			// terminate → TERMINATED; its output is kept.
			out, err = m.Run(ctx, order(t, ix, def, EventTerminate, "vm1"))
			if err != nil {
				t.Fatalf("terminate: %v\n%s", err, outputOf(out))
			}
			r = out.Resource
			if r.State != StateTerminated || !strings.Contains(r.LastOutput, "deleting vm1 (backend id "+r.BackendID) {
				t.Errorf("after terminate: %s, output %q", r.State, r.LastOutput)
			}
			var events []string
			for _, h := range r.History {
				events = append(events, string(h.Event)+":"+string(h.State))
				if h.Order == "" || h.RunID == "" || h.End.Before(h.Start) {
					t.Errorf("history entry %+v incomplete", h)
				}
			}
			want := []string{"create:OK", "pull:OK", "update:ERRED", "pull:OK", "terminate:TERMINATED"}
			if d := cmp.Diff(want, events); d != "" {
				t.Errorf("history (-want +got):\n%s", d)
			}
			orders := map[string]bool{}
			for _, h := range r.History {
				orders[h.Order] = true
			}
			if len(orders) != len(r.History) {
				t.Errorf("order UUIDs repeat: %v", r.History)
			}
			if _, err := m.Run(ctx, order(t, ix, def, EventPull, "vm1")); err == nil {
				t.Error("a pull of a terminated resource must be refused")
			}
		})
	}
}

func outputOf(o *Outcome) string {
	if o == nil {
		return ""
	}
	return o.Output
}

// TestContractEnv runs a script that prints its environment and checks the
// whole contract, and that the definition's env entries override it.
func TestContractEnv(t *testing.T) {
	def := &Definition{Name: "envtest", Library: "lib", Scripts: map[Event]string{EventCreate: "x"},
		Plans: map[string]Plan{"small": {Limits: map[string]int64{"cpu": 1, "ram": 512}}},
		Env:   map[string]string{"CUSTOMER_NAME": "overridden {{ .Env.CUSTOMER_NAME }}", "EXTRA": "{{ .Values.region }}/{{ .Resource.Name }}/{{ .Plan.Name }}"}}
	body := `import json, os, base64
print(base64.b64encode(json.dumps(dict(os.environ)).encode()).decode())
`
	script := &ExecRequest{Interpreter: "python", Body: "import sys\n" + body, Env: map[string]string{"OWN": "1", "PLAN_NAME": "the script's own entry loses"}}
	m := &Manager{States: &DirStore{Dir: t.TempDir(), Deck: "d"}, Exec: &ProcessExecutor{},
		NewUUID: sequence("order1", "res0")}
	o := Order{Event: EventCreate, Name: "r1", Definition: def, Deck: "d", Identity: identity, Plan: "small",
		Attributes: map[string]any{"os": "debian", "n": 2.0}, Limits: map[string]int64{"ram": 2048}, Script: script,
		Values: map[string]any{"region": "eu"}, DryRun: true}
	out, err := m.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\n%s", err, outputOf(out))
	}
	// The create parser took the one-token line as the backend id: decode it.
	raw, err := base64.StdEncoding.DecodeString(out.Resource.BackendID)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]string
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ATTRIBUTES":                `{"n":2,"os":"debian"}`,
		"LIMITS":                    `{"cpu":1,"ram":2048}`,
		"PLAN_NAME":                 "small",
		"PLAN_UUID":                 def.PlanUUID("small"),
		"RESOURCE_UUID":             "res0",
		"RESOURCE_NAME":             "r1",
		"RESOURCE_BACKEND_ID":       "",
		"RESOURCE_BACKEND_METADATA": "{}",
		"RESOURCE_ATTRIBUTES":       `{"n":2,"os":"debian"}`,
		"ORDER_UUID":                "order1",
		"OFFERING_NAME":             "envtest",
		"OFFERING_UUID":             StableUUID("lifecycle", "lib", "envtest"),
		"PROJECT_NAME":              "local",
		"PROJECT_UUID":              identity.ProjectUUID,
		"CUSTOMER_NAME":             "overridden examples",
		"CUSTOMER_UUID":             identity.CustomerUUID,
		"CREATOR_USERNAME":          "ann",
		"CREATOR_EMAIL":             "ann@example.com",
		"EXTRA":                     "eu/r1/small",
		"OWN":                       "1",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if _, err := m.States.Get(context.Background(), "r1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a dry run recorded the resource: %v", err)
	}
	if out.Recorded || out.Resource.State != StateOK {
		t.Errorf("dry run outcome: recorded %v, state %s", out.Recorded, out.Resource.State)
	}

	// A template that fails is a *templates.TemplateError naming the entry.
	def.Env["BAD"] = "{{ .Values.nope }}"
	_, err = m.Run(context.Background(), o)
	var te *templates.TemplateError
	if !errors.As(err, &te) || te.Field != "env.BAD" {
		t.Errorf("bad env template: %v", err)
	}
}

func sequence(ids ...string) func() string {
	var mu sync.Mutex
	i := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		if i < len(ids) {
			i++
			return ids[i-1]
		}
		i++
		return NewUUID()
	}
}

func created(t *testing.T, s StateStore, name string) {
	t.Helper()
	r := sampleResource(name)
	r.Lifecycle = "lib/t"
	if err := s.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

var testDef = &Definition{Name: "t", Library: "lib", Scripts: map[Event]string{EventUpdate: "u"}}

// TestTimeout: a script still running after its timeout is cancelled and
// the resource ERRED.
func TestTimeout(t *testing.T) {
	s := &DirStore{Dir: t.TempDir(), Deck: "d"}
	created(t, s, "vm")
	m := &Manager{States: s, Exec: &ProcessExecutor{}, Grace: 50 * time.Millisecond}
	start := time.Now()
	_, err := m.Run(context.Background(), Order{Event: EventUpdate, Name: "vm", Definition: testDef, Deck: "d",
		Script: &ExecRequest{Interpreter: "sh", Body: "echo started\nsleep 30\n", Timeout: 300 * time.Millisecond}})
	if time.Since(start) > 10*time.Second {
		t.Fatal("the script was not cancelled")
	}
	ee := eventErr(err)
	if ee == nil || !strings.Contains(ee.Message, "timed out during update") {
		t.Fatalf("Run = %v", err)
	}
	got, _ := s.Get(context.Background(), "vm")
	if got.State != StateErred || !strings.HasPrefix(got.ErrorMessage, "timed out") || !strings.Contains(got.ErrorTraceback, "started") {
		t.Errorf("after timeout: %s %q %q", got.State, got.ErrorMessage, got.ErrorTraceback)
	}
}

// TestDeadEvent: a transient state whose process died (deadline passed) is
// reported and no longer blocks the resource.
func TestDeadEvent(t *testing.T) {
	s := &DirStore{Dir: t.TempDir(), Deck: "d"}
	created(t, s, "vm")
	r, _ := s.Get(context.Background(), "vm")
	r.State = StateUpdating
	r.Running = &Running{Event: EventUpdate, RunID: "old", Start: time.Now().Add(-time.Hour), Deadline: time.Now().Add(-time.Minute)}
	if err := s.Update(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	m := &Manager{States: s, Exec: &ProcessExecutor{}}
	out, err := m.Run(context.Background(), Order{Event: EventPull, Name: "vm", Definition: testDef, Deck: "d",
		Script: &ExecRequest{Interpreter: "sh", Body: `echo ` + b64(`{"usages": [{"type": "cpu", "amount": 1}]}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Warnings) == 0 || !strings.Contains(out.Warnings[0], "interrupted during update (run old") {
		t.Errorf("warnings = %q", out.Warnings)
	}
	if out.Resource.State != StateOK || len(out.Resource.Usages) != 1 {
		t.Errorf("after pull: %+v", out.Resource)
	}
}

// TestNoScript: an event without a script moves the state on; a create
// without a create script records an empty backend id.
func TestNoScript(t *testing.T) {
	s := &DirStore{Dir: t.TempDir(), Deck: "d"}
	m := &Manager{States: s, Exec: &ProcessExecutor{}}
	def := &Definition{Name: "t", Library: "lib", Scripts: map[Event]string{EventPull: "p"}}
	for _, ev := range []Event{EventCreate, EventUpdate, EventTerminate} {
		out, err := m.Run(context.Background(), Order{Event: ev, Name: "vm", Definition: def, Deck: "d"})
		if err != nil || out.Ran {
			t.Fatalf("%s: %v (ran %v)", ev, err, out.Ran)
		}
	}
	got, _ := s.Get(context.Background(), "vm")
	if got.State != StateTerminated || got.BackendID != "" {
		t.Errorf("state %s backend id %q", got.State, got.BackendID)
	}
}

func TestBadInputs(t *testing.T) {
	s := &DirStore{Dir: t.TempDir(), Deck: "d"}
	m := &Manager{States: s, Exec: &ProcessExecutor{}}
	def := &Definition{Name: "t", Library: "lib", Plans: map[string]Plan{"small": {}}}
	var inv *InvalidError
	if _, err := m.Run(context.Background(), Order{Event: EventCreate, Name: "Bad/Name", Definition: def}); !errors.As(err, &inv) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := m.Run(context.Background(), Order{Event: EventCreate, Name: "vm", Definition: def, Plan: "huge"}); !errors.As(err, &inv) || !strings.Contains(err.Error(), "plans: small") {
		t.Errorf("unknown plan: %v", err)
	}
	if _, err := s.Get(context.Background(), "vm"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a refused create recorded something: %v", err)
	}
	created(t, s, "other")
	if _, err := m.Run(context.Background(), Order{Event: EventPull, Name: "other", Definition: &Definition{Name: "x", Library: "lib"}}); !errors.As(err, &inv) {
		t.Errorf("pull with another lifecycle: %v", err)
	}
}
