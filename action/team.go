package action

// Team history: the record every Kubernetes run leaves in its namespace
// (runner/kube/teamrecord.go), begun and finished around the run, and the
// banner of a protected deck.

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/store"
)

// teamWriteTimeout bounds each write of a team record, also after an
// interrupt (the record then says how the run ended).
const teamWriteTimeout = 15 * time.Second

// teamRun writes the team record of one run. A nil *teamRun (a Docker run)
// does nothing.
type teamRun struct {
	c        *Configuration
	h        *kube.TeamHistory
	deck     string
	required bool
	body     string // the rendered script, redacted
	off      bool   // the record could not be begun: nothing more is written
}

// teamHistory prepares the team record of a run on deck in target's
// namespace; nil when there is no cluster (a Docker deck). When the deck
// requires team history it first checks that the record can be written, and
// refuses the run (before anything starts) when not.
func (c *Configuration) teamHistory(ctx context.Context, target *kube.Target, deck *store.Deck) (*teamRun, error) {
	if target == nil || target.Client == nil {
		return nil, nil
	}
	t := &teamRun{c: c, deck: deckName(deck), required: deck.TeamHistoryRequired(),
		h: &kube.TeamHistory{Client: target.Client, Namespace: target.Namespace, Keep: deck.TeamHistoryKeep(), Redactor: c.secrets(), Host: c.host()}}
	if t.required {
		if err := t.h.Check(ctx); err != nil {
			return nil, t.refusal(err)
		}
	}
	return t, nil
}

// begin writes the record of a run that starts. Without the permission the
// run goes on with one warning, unless the deck requires team history: then
// the run's local record is closed with the refusal, which is returned.
func (t *teamRun) begin(ctx context.Context, hrun *history.Run, rec *history.Record, body string) error {
	if t == nil {
		return nil
	}
	t.body = t.c.secrets().String(body)
	wctx, cancel := context.WithTimeout(ctx, teamWriteTimeout)
	defer cancel()
	err := t.h.Begin(wctx, kube.TeamRecordOf(rec, t.body))
	if err == nil {
		return nil
	}
	t.off = true
	if t.required {
		err = t.refusal(err)
		t.c.finishRecord(hrun, rec, runner.Result{End: t.c.now()}, err)
		return err
	}
	t.c.TeamWarn(t.h.Namespace, err)
	return nil
}

// finish writes the run's outcome into its record and prunes the
// script's old records.
func (t *teamRun) finish(ctx context.Context, rec *history.Record) {
	if t == nil || t.off {
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teamWriteTimeout)
	defer cancel()
	if err := t.h.Finish(wctx, kube.TeamRecordOf(rec, t.body)); err != nil {
		t.c.TeamWarn(t.h.Namespace, err)
	}
}

// teamRequiredError refuses a run on a deck that requires team history.
type teamRequiredError struct {
	deck, namespace string
	err             error
}

func (e *teamRequiredError) Error() string {
	var pe *runner.PermissionError
	if errors.As(e.err, &pe) {
		return fmt.Sprintf("deck %s requires team history (teamHistory: required), but you may not %s configmaps in namespace %s: "+
			"ask for a Role there that allows create, update, list and delete on configmaps, or use a deck that does not require it; nothing was run",
			e.deck, pe.Verb, e.namespace)
	}
	return fmt.Sprintf("deck %s requires team history (teamHistory: required), but its record cannot be written: %v; nothing was run", e.deck, e.err)
}

func (e *teamRequiredError) Unwrap() error { return e.err }
func (e *teamRequiredError) ExitCode() int { return fail.ExitRefused }

func (t *teamRun) refusal(err error) error {
	return &teamRequiredError{deck: t.deck, namespace: t.h.Namespace, err: err}
}

// TeamWarn warns once per Configuration and problem that team history is
// not being written.
func (c *Configuration) TeamWarn(namespace string, err error) {
	key := namespace + "\x00" + err.Error()
	var pe *runner.PermissionError
	if errors.As(err, &pe) {
		key = namespace + "\x00" + pe.Verb
	}
	if fail.KindOf(err) == fail.Unavailable || kube.LostConnection(err) {
		// A cluster that cannot be reached fails the run with its own
		// message; the team record has nothing to add.
		return
	}
	c.mu.Lock()
	seen := c.warned[key]
	if c.warned == nil {
		c.warned = map[string]bool{}
	}
	c.warned[key] = true
	c.mu.Unlock()
	if seen {
		return
	}
	if pe != nil {
		c.warn(fmt.Sprintf("team history: you may not %s configmaps in namespace %s, so your team does not see this run there (the run goes on; "+
			"a Role allowing create, update, list and delete on configmaps records it)", pe.Verb, pe.Namespace))
		return
	}
	c.warn(strings.TrimPrefix(err.Error(), "team history: "))
}

// teamAttached writes the outcome of a detached run that `runs attach`
// followed into its team record.
func (c *Configuration) teamAttached(ctx context.Context, target *kube.Target, rec *history.Record) {
	// The deck's count, when it can still be found; else prune nothing.
	keep := store.MaxTeamHistoryKeep
	if cat, _, err := c.Catalog(""); err == nil {
		if d, err := cat.Deck(rec.Deck); err == nil {
			keep = d.TeamHistoryKeep()
		}
	}
	h := &kube.TeamHistory{Client: target.Client, Namespace: rec.Namespace, Keep: keep, Redactor: c.secrets(), Host: c.host()}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teamWriteTimeout)
	defer cancel()
	// What the record knew at the start (the script's sum, the user) stays.
	next := kube.TeamRecordOf(rec, "")
	if prev, err := kube.GetTeamRecord(wctx, target.Client, rec.Namespace, rec.ID); err == nil {
		next.ScriptSHA256, next.KubernetesUser, next.Host = prev.ScriptSHA256, prev.KubernetesUser, prev.Host
	}
	if err := h.Finish(wctx, next); err != nil {
		c.TeamWarn(rec.Namespace, err)
	}
}

// lastTeamRun notes, on a protected deck, who ran script in the namespace
// last and when, before the confirmation. It says nothing when the records
// cannot be read. script may be a reference (LIB/NAME).
func (c *Configuration) lastTeamRun(ctx context.Context, target *kube.Target, deck *store.Deck, script string) {
	if target == nil || target.Client == nil || deck == nil || !deck.Protected || script == "" {
		return
	}
	script = path.Base(script)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	last, err := kube.LastTeamRecord(ctx, target.Client, target.Namespace, script)
	if err != nil {
		return
	}
	if last == nil {
		c.note(fmt.Sprintf("  no earlier run of %s is recorded in namespace %s", script, target.Namespace))
		return
	}
	outcome := string(last.State)
	switch last.State {
	case history.StateRunning:
		outcome = "still running"
	case history.StateSucceeded, history.StateFailed, history.StateInterrupted:
		outcome += fmt.Sprintf(", exit %d", last.ExitCode)
	}
	c.note(fmt.Sprintf("  last run of %s in namespace %s: by %s, %s (%s ago), %s (run %s)",
		script, target.Namespace, TeamWho(last), last.Start.Local().Format(time.DateTime),
		c.now().Sub(last.Start).Round(time.Second), outcome, last.ID))
}

// TeamWho names who ran a record: the Kubernetes user and the git identity.
func TeamWho(r *kube.TeamRecord) string {
	who := orDash(r.KubernetesUser)
	if r.User != "" && r.User != r.KubernetesUser {
		who += " (" + r.User + ")"
	}
	if r.Host != "" {
		who += " on " + r.Host
	}
	return who
}
