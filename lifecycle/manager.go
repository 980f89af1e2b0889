package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/cscript-dev/cscript/templates"
)

// Manager runs lifecycle events of the resources of one deck.
type Manager struct {
	States StateStore
	Exec   Executor
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// NewUUID makes resource and order UUIDs; nil: NewUUID.
	NewUUID func() string
	// Host names this machine in the running-event record.
	Host string
	// Grace is how long past the script's timeout an event may take before
	// it is cancelled (pulling the image, cleanup); 0: 2 minutes.
	Grace time.Duration
	// WriteTimeout bounds the final state write after an interruption; 0: 30 s.
	WriteTimeout time.Duration
}

// Identity is who and where an event runs for: Waldur's project (the deck),
// customer (the library) and creator (the git identity).
type Identity struct {
	ProjectName, ProjectUUID   string
	CustomerName, CustomerUUID string
	CreatorUsername            string
	CreatorEmail               string
}

// Order asks for one event on one resource.
type Order struct {
	Event      Event
	Name       string // the resource
	Definition *Definition
	Deck       string
	Identity   Identity

	// Plan, Attributes and Limits are what a create (or an update) asks
	// for. Limits are laid over the plan's (create, or an update with a
	// plan) or over the resource's current ones (an update without one).
	Plan       string
	Attributes map[string]any
	Limits     map[string]int64

	// Script is the rendered script for the event, without the contract
	// env (Run adds it); nil when the definition has none for the event,
	// which makes the event change the state without running anything.
	Script *ExecRequest
	// Values are what env templates of the definition see as .Values.
	Values map[string]any
	// RunID names the run (history, labels); "" makes one from the order UUID.
	RunID string
	// DryRun runs the script but records nothing.
	DryRun bool
}

// Outcome is what an event did (or, for a dry run, would record).
type Outcome struct {
	Resource *Resource
	Order    string // the order UUID
	RunID    string
	Output   string
	ExitCode int
	Ran      bool // a script ran
	// Env is the plain environment the script got (secrets are not in it).
	Env map[string]string
	// Warnings are about the output (pull) or the previous run (a dead
	// event found in a transient state).
	Warnings []string
	Recorded bool // false for a dry run
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

func (m *Manager) newUUID() string {
	if m.NewUUID != nil {
		return m.NewUUID()
	}
	return NewUUID()
}

// Run runs one event: it checks the resource's state allows it, records the
// transient state (CREATING, UPDATING, TERMINATING), runs the script with the
// contract env, reads its output and records the final state. A failed
// script records ERRED and returns an *EventError with the Outcome. An
// interruption (ctx cancelled) records ERRED "interrupted during EVENT"; an
// event still running after its timeout is cancelled and recorded ERRED.
// Writes use optimistic concurrency: a *ConflictError means someone else
// changed the resource and nothing was overwritten.
func (m *Manager) Run(ctx context.Context, o Order) (*Outcome, error) {
	if err := ValidateName(o.Name); err != nil {
		return nil, err
	}
	if o.Definition == nil {
		return nil, errors.New("no lifecycle definition (a bug)")
	}
	if !o.DryRun {
		unlock, err := m.States.Lock(ctx, o.Name)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	now := m.now()
	out := &Outcome{Order: m.newUUID()}
	out.RunID = o.RunID
	if out.RunID == "" {
		out.RunID = now.Format("20060102-150405") + "-" + out.Order[:min(6, len(out.Order))]
	}

	cur, err := m.States.Get(ctx, o.Name)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	from := State("")
	if exists {
		from = cur.State
		if cur.Running != nil && from.Transient() && now.After(cur.Running.Deadline) {
			// The process that held this state is gone (killed, or lost its
			// connection): say so and let this event go on.
			msg := fmt.Sprintf("interrupted during %s (run %s started %s never finished)", cur.Running.Event, cur.Running.RunID, cur.Running.Start.Format(time.RFC3339))
			out.Warnings = append(out.Warnings, "the previous event was "+msg+": the resource was left ERRED")
			cur.State, from = StateErred, StateErred
			cur.ErrorMessage = msg
			cur.Running = nil
		}
	}
	begin, err := Begin(from, exists, o.Event)
	if err != nil {
		if se := (*StateError)(nil); errors.As(err, &se) && exists && from.Transient() && cur.Running != nil {
			se.Message = fmt.Sprintf("a %s is running since %s (run %s on %s): wait for it; if its process is gone, the resource is freed after %s",
				cur.Running.Event, cur.Running.Start.Format(time.RFC3339), cur.Running.RunID, orDash(cur.Running.Host), cur.Running.Deadline.Format(time.RFC3339))
		}
		return nil, err
	}

	r, err := m.prepare(o, cur, exists, now)
	if err != nil {
		return nil, err
	}
	wantPlan, wantLimits, err := requested(o, r)
	if err != nil {
		return nil, err
	}

	var req ExecRequest
	if o.Script != nil {
		req = *o.Script
		req.RunID, req.Event, req.Resource, req.Deck = out.RunID, o.Event, o.Name, o.Deck
		env, err := ContractEnv(o, r, wantPlan, wantLimits, out.Order)
		if err != nil {
			return nil, err
		}
		req.Env = maps.Clone(req.Env)
		if req.Env == nil {
			req.Env = map[string]string{}
		}
		maps.Copy(req.Env, env)
		out.Env = req.Env
	}

	timeout := DefaultTimeout
	if o.Script != nil {
		timeout = req.timeout()
	}
	grace := m.Grace
	if grace <= 0 {
		grace = 2 * time.Minute
	}

	// Record the transient state: from here on an interruption is recorded.
	if !o.DryRun && begin != from {
		r.State = begin
		r.Running = &Running{Event: o.Event, Order: out.Order, RunID: out.RunID, Start: now,
			Deadline: now.Add(timeout + grace), Host: m.Host, Plan: wantPlan, Limits: wantLimits}
		r.Modified = now
		if exists {
			err = m.States.Update(ctx, r)
		} else {
			err = m.States.Create(ctx, r)
		}
		if err != nil {
			return nil, err
		}
	}

	// Run.
	res := &ExecResult{}
	var runErr error
	start := m.now()
	if o.Script != nil {
		runCtx, cancel := context.WithTimeoutCause(ctx, timeout+grace, errTimedOut)
		res, runErr = m.Exec.Run(runCtx, req)
		cause := context.Cause(runCtx)
		cancel()
		if res == nil {
			res = &ExecResult{ExitCode: -1}
		}
		out.Ran = true
		if runErr != nil {
			switch {
			case ctx.Err() != nil:
				runErr = &interruptError{event: o.Event, err: runErr}
			case errors.Is(cause, errTimedOut), errors.Is(runErr, context.DeadlineExceeded):
				runErr = &timeoutError{event: o.Event, timeout: timeout, err: runErr}
			}
		}
	}
	out.Output, out.ExitCode = res.Output, res.ExitCode
	if res.RunID != "" {
		out.RunID = res.RunID
	}

	// Decide what to record.
	end := m.now()
	ok := runErr == nil && res.ExitCode == 0
	var message string
	switch {
	case runErr != nil:
		var ie *interruptError
		var te *timeoutError
		switch {
		case errors.As(runErr, &ie):
			message = fmt.Sprintf("interrupted during %s", o.Event)
		case errors.As(runErr, &te):
			message = fmt.Sprintf("timed out during %s: still running after %s, cancelled", o.Event, timeout)
		default:
			message = fmt.Sprintf("%s script could not run: %s", o.Event, firstLine(runErr.Error()))
		}
	case res.ExitCode != 0:
		message = firstLine(res.Output)
		if message == "" {
			message = fmt.Sprintf("%s script exited with code %d", o.Event, res.ExitCode)
		}
	}
	if o.Event == EventCreate {
		r.Plan, r.Limits = wantPlan, wantLimits
	}
	if ok {
		switch o.Event {
		case EventCreate:
			if o.Script != nil {
				co, err := ParseCreate(res.Output)
				if err != nil {
					ok, message = false, err.Error()
				} else {
					r.BackendID, r.BackendMetadata, r.Endpoints = co.BackendID, co.BackendMetadata, co.Endpoints
				}
			}
		case EventUpdate:
			r.Plan, r.Limits = wantPlan, wantLimits
		case EventPull:
			if o.Script != nil {
				po := ParsePull(res.Output)
				if po.HasUsages {
					r.Usages, r.UsagesTime = po.Usages, &end
				}
				if po.HasReport {
					r.Report, r.ReportTime = po.Report, &end
				}
				r.PullWarnings = po.Warnings
				out.Warnings = append(out.Warnings, po.Warnings...)
			}
		}
	}
	final := Finish(o.Event, ok)
	r.State = final
	r.Running = nil
	r.Modified = end
	if o.Script != nil {
		r.LastOutput = tail(res.Output)
	}
	if ok {
		r.ErrorMessage, r.ErrorTraceback = "", ""
	} else {
		r.ErrorMessage = message
		r.ErrorTraceback = tail(res.Output)
		if runErr != nil && r.ErrorTraceback == "" {
			r.ErrorTraceback = runErr.Error()
		}
	}
	rec := EventRecord{Event: o.Event, Order: out.Order, RunID: out.RunID, Start: start, End: end, ExitCode: res.ExitCode, State: final}
	if !ok {
		rec.Message = message
	}
	r.History = append(r.History, rec)
	if len(r.History) > MaxHistory {
		r.History = r.History[len(r.History)-MaxHistory:]
	}
	out.Resource = r

	if !o.DryRun {
		wctx := ctx
		if ctx.Err() != nil {
			// The one deliberate context that outlives a cancelled event: the
			// interruption must be recorded.
			wt := m.WriteTimeout
			if wt <= 0 {
				wt = 30 * time.Second
			}
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), wt)
			defer cancel()
		}
		if r.version == "" {
			err = m.States.Create(wctx, r)
		} else {
			err = m.States.Update(wctx, r)
		}
		if err != nil {
			return out, err
		}
		out.Recorded = true
	}
	if !ok {
		return out, &EventError{Event: o.Event, Name: o.Name, ExitCode: res.ExitCode, Message: message, Err: runErr}
	}
	return out, nil
}

var errTimedOut = errors.New("the event timed out")

type interruptError struct {
	event Event
	err   error
}

func (e *interruptError) Error() string {
	return fmt.Sprintf("interrupted during %s: %v", e.event, e.err)
}
func (e *interruptError) Unwrap() error { return e.err }

type timeoutError struct {
	event   Event
	timeout time.Duration
	err     error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("%s timed out after %s: %v", e.event, e.timeout, e.err)
}
func (e *timeoutError) Unwrap() error { return e.err }

// prepare returns the resource the event works on: a copy of cur, or a new
// one for a create.
func (m *Manager) prepare(o Order, cur *Resource, exists bool, now time.Time) (*Resource, error) {
	if o.Event == EventCreate {
		r := &Resource{Name: o.Name, UUID: m.newUUID(), Lifecycle: o.Definition.Library + "/" + o.Definition.Name, Deck: o.Deck,
			Attributes: o.Attributes, Created: now, Modified: now, ResourceFormat: resourceFormat}
		if exists {
			// Creating again over a terminated resource keeps its history.
			r.History = cur.History
			r.version = cur.version
		}
		return r, nil
	}
	want := o.Definition.Library + "/" + o.Definition.Name
	if cur.Lifecycle != want {
		return nil, &InvalidError{Message: fmt.Sprintf("resource %q belongs to lifecycle %s, not %s", o.Name, cur.Lifecycle, want)}
	}
	cp := *cur
	return &cp, nil
}

// requested returns the plan and limits an event runs with.
func requested(o Order, r *Resource) (string, map[string]int64, error) {
	plan, limits := r.Plan, r.Limits
	switch o.Event {
	case EventCreate, EventUpdate:
		base := maps.Clone(r.Limits)
		if o.Event == EventCreate {
			base = nil
		}
		if o.Plan != "" {
			p, ok := o.Definition.Plans[o.Plan]
			if !ok {
				return "", nil, &InvalidError{Message: fmt.Sprintf("plan %q is not a plan of lifecycle %s (plans: %s)", o.Plan, o.Definition.Name, orDash(strings.Join(o.Definition.PlanNames(), ", ")))}
			}
			plan, base = o.Plan, maps.Clone(p.Limits)
		} else if o.Event == EventCreate {
			plan = ""
		}
		if base == nil && len(o.Limits) > 0 {
			base = map[string]int64{}
		}
		maps.Copy(base, o.Limits)
		limits = base
	}
	return plan, limits, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ContractEnv is the environment of Waldur's custom scripts for an event on
// r, which runs with plan and limits, then the definition's own env entries
// (templates) laid over it. Dicts and lists are JSON; UUIDs are 32 hex digits.
func ContractEnv(o Order, r *Resource, plan string, limits map[string]int64, orderUUID string) (map[string]string, error) {
	attrs := r.Attributes
	if o.Event == EventCreate {
		attrs = o.Attributes
	}
	def := o.Definition
	env := map[string]string{
		"ATTRIBUTES":                jsonObject(attrs),
		"LIMITS":                    jsonObject(limits),
		"PLAN_NAME":                 plan,
		"PLAN_UUID":                 def.PlanUUID(plan),
		"RESOURCE_UUID":             r.UUID,
		"RESOURCE_NAME":             r.Name,
		"RESOURCE_BACKEND_ID":       r.BackendID,
		"RESOURCE_BACKEND_METADATA": jsonObject(r.BackendMetadata),
		"RESOURCE_ATTRIBUTES":       jsonObject(r.Attributes),
		"ORDER_UUID":                orderUUID,
		"OFFERING_NAME":             def.Name,
		"OFFERING_UUID":             def.OfferingUUID(),
		"PROJECT_NAME":              o.Identity.ProjectName,
		"PROJECT_UUID":              o.Identity.ProjectUUID,
		"CUSTOMER_NAME":             o.Identity.CustomerName,
		"CUSTOMER_UUID":             o.Identity.CustomerUUID,
		"CREATOR_USERNAME":          o.Identity.CreatorUsername,
		"CREATOR_EMAIL":             o.Identity.CreatorEmail,
	}
	if len(def.Env) == 0 {
		return env, nil
	}
	data := map[string]any{
		"Resource": map[string]any{
			"Name": r.Name, "UUID": r.UUID, "BackendID": r.BackendID, "BackendMetadata": orEmpty(r.BackendMetadata),
			"Attributes": orEmpty(attrs), "Limits": limits, "Plan": plan, "State": string(r.State),
		},
		"Event":     string(o.Event),
		"Order":     orderUUID,
		"Plan":      map[string]any{"Name": plan, "UUID": def.PlanUUID(plan)},
		"Lifecycle": map[string]any{"Name": def.Name, "UUID": def.OfferingUUID(), "Library": def.Library},
		"Deck":      map[string]any{"Name": o.Identity.ProjectName, "UUID": o.Identity.ProjectUUID},
		"Values":    orEmpty(o.Values),
		"Env":       maps.Clone(env),
	}
	var errs []error
	names := make([]string, 0, len(def.Env))
	for k := range def.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		t, err := template.New("env." + k).Funcs(templates.FuncMap()).Option("missingkey=error").Parse(def.Env[k])
		if err == nil {
			var b strings.Builder
			if err = t.Execute(&b, data); err == nil {
				env[k] = b.String()
				continue
			}
		}
		errs = append(errs, &templates.TemplateError{File: def.File, Line: def.EnvLines[k], Field: "env." + k, Message: templateMessage(err)})
	}
	return env, errors.Join(errs...)
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// jsonObject encodes a map as JSON; nil is {}.
func jsonObject[V any](m map[string]V) string {
	if m == nil {
		return "{}"
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "{}"
	}
	return string(b)
}
