package commands

// Team history: the record every Kubernetes run leaves in its namespace
// (runner/kube/teamrecord.go), and the commands that read it: `runs
// --cluster`, `runs show ID` of someone else's run, the protected deck's
// banner, and gc closing records of killed runs.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/store"
)

var (
	flagCluster = &cli.BoolFlag{Name: "cluster", Usage: "the team history: runs recorded in the namespace (of --deck, or the current context), by everyone"}
	// flagRunsDeck filters runs; unlike flagDeck it does not read
	// CSCRIPT_DECK, which would hide the other decks' runs (--cluster
	// still falls back to it for the namespace to read).
	flagRunsDeck = &cli.StringFlag{Name: "deck", Aliases: []string{"d"}, Usage: "only runs on deck `NAME`; with --cluster also the namespace to read (default there: $CSCRIPT_DECK)"}
	flagScript   = &cli.StringFlag{Name: "script", Usage: "only runs of script `NAME` (or LIB/NAME)"}
	flagState    = &cli.StringFlag{Name: "state", Usage: "only runs in `STATE`: " + strings.Join(runStates, ", ")}
	flagUser     = &cli.StringFlag{Name: "user", Usage: "with --cluster: only runs by `USER` (Kubernetes user or git identity, in part)"}
	flagSince    = &cli.StringFlag{Name: "since", Usage: "only runs started since `TIME` (a duration such as 24h or 7d, a date, or RFC 3339)"}
	flagAllNS    = &cli.BoolFlag{Name: "all-namespaces", Aliases: []string{"A"}, Usage: "with --cluster: every namespace"}
)

// runStates are the states --state takes: every state of a run.
var runStates = func() []string {
	s := make([]string, len(history.States))
	for i, st := range history.States {
		s[i] = string(st)
	}
	return s
}()

// runsFlags are the filters of `runs`, and its flags for the team history.
func runsFlags() []cli.Flag {
	return append([]cli.Flag{flagCluster, flagRunsDeck, flagScript, flagState, flagSince, flagUser, flagAllNS}, targetFlags()...)
}

// teamTarget is the cluster and namespace of the team history to read: the
// deck's (--deck), overridden by --context and --namespace.
func (a *app) teamTarget(c *cli.Context) (*kube.Target, *store.Deck, error) {
	return a.act.TeamTarget(c.String(flagDeck.Name), targetOf(c))
}

// teamRuns is `cscript runs --cluster`.
func (a *app) teamRuns(c *cli.Context, f runFilter) error {
	deck := c.String(flagRunsDeck.Name)
	if deck == "" {
		deck = a.io.getenv("CSCRIPT_DECK")
	}
	o := action.TeamOptions{Deck: deck, Target: targetOf(c), AllNamespaces: c.Bool(flagAllNS.Name),
		Script: f.Script, User: c.String(flagUser.Name), Since: f.Since, Limit: c.Int("limit")}
	if f.State != "" {
		o.Limit = 0 // the state is filtered here
	}
	all, ns, err := a.act.TeamRuns(c.Context, o)
	if err != nil {
		return err
	}
	recs := all[:0]
	for _, r := range all {
		if f.State == "" || r.State == f.State {
			recs = append(recs, r)
		}
	}
	if n := c.Int("limit"); n > 0 && len(recs) > n {
		recs = recs[:n]
	}
	if format := c.String(flagOutput.Name); format != outputTable {
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
