package commands

// Team history: the record every Kubernetes run leaves in its namespace
// (runner/kube/teamrecord.go), and the commands that read it: `runs
// --cluster`, `runs show ID` of someone else's run, the protected deck's
// banner, and gc closing records of killed runs.

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/store"
)

// teamWriteTimeout bounds each write of a team record, also after an
// interrupt (the record then says how the run ended).
const teamWriteTimeout = 15 * time.Second

// teamState is what one cscript process remembers about team history.
type teamState struct {
	// warned holds the warnings already given, so a missing permission
	// costs one warning per process, not one per run or per request.
	warned map[string]bool
}

// teamRun writes the team record of one run. A nil *teamRun (a Docker run)
// does nothing.
type teamRun struct {
	a        *app
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
func (a *app) teamHistory(c *cli.Context, target *kube.Target, deck *store.Deck) (*teamRun, error) {
	if target == nil || target.Client == nil {
		return nil, nil
	}
	t := &teamRun{a: a, deck: deckName(deck), required: deck.TeamHistoryRequired(),
		h: &kube.TeamHistory{Client: target.Client, Namespace: target.Namespace, Keep: deck.TeamHistoryKeep(), Redactor: a.secrets, Host: hostName()}}
	if t.required {
		if err := t.h.Check(c.Context); err != nil {
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
	t.body = t.a.secrets.String(body)
	wctx, cancel := context.WithTimeout(ctx, teamWriteTimeout)
	defer cancel()
	err := t.h.Begin(wctx, kube.TeamRecordOf(rec, t.body))
	if err == nil {
		return nil
	}
	t.off = true
	if t.required {
		err = t.refusal(err)
		t.a.finishRecord(hrun, rec, outcome{end: t.a.now()}, err)
		return err
	}
	t.a.teamWarn(t.h.Namespace, err)
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
		t.a.teamWarn(t.h.Namespace, err)
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
func (e *teamRequiredError) ExitCode() int { return ExitRefused }

func (t *teamRun) refusal(err error) error {
	return &teamRequiredError{deck: t.deck, namespace: t.h.Namespace, err: err}
}

// teamWarn warns once per process and problem that team history is not
// being written.
func (a *app) teamWarn(namespace string, err error) {
	key := namespace + "\x00" + err.Error()
	var pe *runner.PermissionError
	if errors.As(err, &pe) {
		key = namespace + "\x00" + pe.Verb
	}
	if a.team.warned[key] || fail.KindOf(err) == fail.Unavailable || kube.LostConnection(err) {
		// A cluster that cannot be reached fails the run with its own
		// message; the team record has nothing to add.
		return
	}
	if a.team.warned == nil {
		a.team.warned = map[string]bool{}
	}
	a.team.warned[key] = true
	if pe != nil {
		fmt.Fprintf(a.io.Err, "warning: team history: you may not %s configmaps in namespace %s, so your team does not see this run there (the run goes on; "+
			"a Role allowing create, update, list and delete on configmaps records it)\n", pe.Verb, pe.Namespace)
		return
	}
	fmt.Fprintf(a.io.Err, "warning: %s\n", strings.TrimPrefix(err.Error(), "team history: "))
}

// teamAttached writes the outcome of a detached run that `runs attach`
// followed into its team record.
func (a *app) teamAttached(c *cli.Context, target *kube.Target, rec *history.Record) {
	// The deck's count, when it can still be found; else prune nothing.
	keep := store.MaxTeamHistoryKeep
	if cat, _, err := a.catalog(); err == nil {
		if d, err := cat.Deck(rec.Deck); err == nil {
			keep = d.TeamHistoryKeep()
		}
	}
	h := &kube.TeamHistory{Client: target.Client, Namespace: rec.Namespace, Keep: keep, Redactor: a.secrets, Host: hostName()}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Context), teamWriteTimeout)
	defer cancel()
	// What the record knew at the start (the script's sum, the user) stays.
	next := kube.TeamRecordOf(rec, "")
	if prev, err := kube.GetTeamRecord(ctx, target.Client, rec.Namespace, rec.ID); err == nil {
		next.ScriptSHA256, next.KubernetesUser, next.Host = prev.ScriptSHA256, prev.KubernetesUser, prev.Host
	}
	if err := h.Finish(ctx, next); err != nil {
		a.teamWarn(rec.Namespace, err)
	}
}

// lastTeamRun tells, on a protected deck, who ran script in the namespace
// last and when, before the confirmation. It says nothing when the records
// cannot be read.
// script may be a reference (LIB/NAME).
func (a *app) lastTeamRun(c *cli.Context, target *kube.Target, deck *store.Deck, script string) {
	if target == nil || target.Client == nil || deck == nil || !deck.Protected || script == "" {
		return
	}
	script = path.Base(script)
	ctx, cancel := context.WithTimeout(c.Context, 5*time.Second)
	defer cancel()
	last, err := kube.LastTeamRecord(ctx, target.Client, target.Namespace, script)
	if err != nil {
		return
	}
	if last == nil {
		fmt.Fprintf(a.io.Err, "  no earlier run of %s is recorded in namespace %s\n", script, target.Namespace)
		return
	}
	outcome := string(last.State)
	switch last.State {
	case history.StateRunning:
		outcome = "still running"
	case history.StateSucceeded, history.StateFailed, history.StateInterrupted:
		outcome += fmt.Sprintf(", exit %d", last.ExitCode)
	}
	fmt.Fprintf(a.io.Err, "  last run of %s in namespace %s: by %s, %s (%s ago), %s (run %s)\n",
		script, target.Namespace, teamWho(last), last.Start.Local().Format(time.DateTime),
		a.now().Sub(last.Start).Round(time.Second), outcome, last.ID)
}

// teamWho names who ran a record: the Kubernetes user and the git identity.
func teamWho(r *kube.TeamRecord) string {
	who := orDash(r.KubernetesUser)
	if r.User != "" && r.User != r.KubernetesUser {
		who += " (" + r.User + ")"
	}
	if r.Host != "" {
		who += " on " + r.Host
	}
	return who
}

// markAbandonedTeamRuns closes the team records of runs whose cscript was
// killed (their Pod or Job is gone) and returns a line for each. A user who
// may not list ConfigMaps has no records to close.
func (a *app) markAbandonedTeamRuns(c *cli.Context, target *kube.Target, ns string, olderThan time.Duration, dryRun bool) ([]string, error) {
	grace := kube.TeamAbandonGrace
	if olderThan > 0 && olderThan < grace {
		grace = olderThan
	}
	closed, err := kube.MarkAbandoned(c.Context, target.Client, ns, grace, a.now(), dryRun)
	var pe *runner.PermissionError
	if errors.As(err, &pe) && pe.Verb == "list" {
		err = nil
	}
	verb := "marked"
	if dryRun {
		verb = "would mark"
	}
	lines := make([]string, len(closed))
	for i, name := range closed {
		lines[i] = fmt.Sprintf("%s team record %s abandoned (its Pod or Job is gone, its cscript never finished it)", verb, name)
	}
	return lines, err
}

var (
	flagCluster = &cli.BoolFlag{Name: "cluster", Usage: "the team history: runs recorded in the namespace (of --deck, or the current context), by everyone"}
	flagScript  = &cli.StringFlag{Name: "script", Usage: "with --cluster: only runs of script `NAME`"}
	flagUser    = &cli.StringFlag{Name: "user", Usage: "with --cluster: only runs by `USER` (Kubernetes user or git identity, in part)"}
	flagSince   = &cli.StringFlag{Name: "since", Usage: "with --cluster: only runs started since `TIME` (a duration such as 24h or 7d, a date, or RFC 3339)"}
	flagAllNS   = &cli.BoolFlag{Name: "all-namespaces", Aliases: []string{"A"}, Usage: "with --cluster: every namespace"}
)

// teamRunsFlags are the flags of `runs` for the team history.
func teamRunsFlags() []cli.Flag {
	return append([]cli.Flag{flagCluster, flagDeck, flagScript, flagUser, flagSince, flagAllNS}, targetFlags()...)
}

// teamTarget is the cluster and namespace of the team history to read: the
// deck's (--deck), overridden by --context and --namespace.
func (a *app) teamTarget(c *cli.Context) (*kube.Target, *store.Deck, error) {
	var deck *store.Deck
	if name := c.String(flagDeck.Name); name != "" {
		cat, _, err := a.catalog()
		if err != nil {
			return nil, nil, err
		}
		if deck, err = cat.Deck(name); err != nil {
			return nil, nil, err
		}
		if deck.Backend == store.BackendDocker {
			return nil, nil, usageErrorf("deck %s runs in Docker: its runs are recorded only on this machine (cscript runs)", deck.Name)
		}
	}
	target, err := kube.LoadTarget(a.targetOptions(c, deck))
	return target, deck, err
}

// teamRuns is `cscript runs --cluster`.
func (a *app) teamRuns(c *cli.Context) error {
	target, deck, err := a.teamTarget(c)
	if err != nil {
		return err
	}
	f := kube.TeamFilter{Script: c.String(flagScript.Name), User: c.String(flagUser.Name)}
	if deck != nil {
		f.Deck = deck.Name
	}
	if s := c.String(flagSince.Name); s != "" {
		if f.Since, err = parseSince(s, a.now()); err != nil {
			return err
		}
	}
	ns := target.Namespace
	if c.Bool(flagAllNS.Name) {
		ns = ""
	}
	recs, err := kube.ListTeamRecords(c.Context, target.Client, ns, f)
	if err != nil {
		return err
	}
	if n := c.Int("limit"); n > 0 && len(recs) > n {
		recs = recs[:n]
	}
	if format := c.String(flagOutput.Name); format != outputTable {
		if recs == nil {
			recs = []kube.TeamRecord{}
		}
		return writeStructured(a.io.Out, format, recs)
	}
	tw := tabwriter.NewWriter(a.io.Out, 0, 4, 2, ' ', 0)
	head := "ID\tSCRIPT\tDECK\tUSER\tGIT USER\tHOST\tSTATE\tEXIT\tSTARTED\tDURATION\tCOMMIT"
	if ns == "" {
		head = "NAMESPACE\t" + head
	}
	fmt.Fprintln(tw, head)
	for _, r := range recs {
		script := r.Script
		if r.Event != "" {
			script += " (" + r.Event + " " + r.Resource + ")"
		}
		exit, dur := "-", "-"
		if r.State != history.StateRunning && r.State != history.StateAbandoned {
			exit = strconv.Itoa(r.ExitCode)
		}
		if d := r.Duration(); d > 0 {
			dur = d.Round(10 * time.Millisecond).String()
		}
		commit := r.LibraryCommit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		if ns == "" {
			fmt.Fprintf(tw, "%s\t", r.Namespace)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, script, orDash(r.Deck), orDash(r.KubernetesUser), orDash(r.User),
			orDash(r.Host), r.State, exit, r.Start.Local().Format(time.DateTime), dur, orDash(commit))
	}
	return tw.Flush()
}

// teamShow is `runs show ID` for a run found in the team history: with
// --cluster, or when the local history does not have it (localErr).
func (a *app) teamShow(c *cli.Context, localErr error) error {
	if localErr != nil && fail.KindOf(localErr) != fail.NotFound {
		return localErr
	}
	id := c.Args().First()
	if id == "" || id == "last" {
		if localErr != nil {
			return localErr
		}
		return usageErrorf("runs show --cluster needs a run ID")
	}
	target, _, err := a.teamTarget(c)
	if err != nil {
		return err
	}
	rec, err := kube.GetTeamRecord(c.Context, target.Client, target.Namespace, id)
	switch {
	case err != nil && localErr != nil:
		// Not here, and not there (or not readable): say both.
		return fail.Wrap(fail.NotFound, fmt.Errorf("%w; nor in the team history of namespace %s: %w", localErr, target.Namespace, err))
	case errors.Is(err, kube.ErrNoTeamRecord):
		return fail.Wrap(fail.NotFound, err)
	case err != nil:
		return err
	}
	fmt.Fprintf(a.io.Err, "# team record %s/%s\n", rec.Namespace, kube.TeamRecordName(rec.ID))
	return writeStructured(a.io.Out, c.String("output"), rec)
}

// parseSince reads --since: a duration back from now (24h, 7d), a date
// (2006-01-02, local time) or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, usageErrorf("--since %q: give a duration (24h, 7d), a date (2026-01-31) or an RFC 3339 time", s)
}
