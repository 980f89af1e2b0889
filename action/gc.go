package action

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/docker"
	"github.com/cscript-dev/cscript/runner/kube"
)

// GCOptions say where to collect what cscript left behind.
type GCOptions struct {
	Deck   string // NAME or LIB/NAME: its context and namespace; "": none
	Target Target
	// AllNamespaces looks in every namespace of the cluster.
	AllNamespaces bool
	// OlderThan also collects what is older, expired or not (0: only
	// what expired).
	OlderThan time.Duration
	// DryRun only says what would be collected.
	DryRun bool
}

// GCResult is what a collection removed (or would remove).
type GCResult struct {
	// Target is the cluster collected in.
	Target *kube.Target
	// Deleted are the Pods, Jobs, Secrets and Leases removed, and the
	// local records of detached runs whose Job is gone ("run record ID
	// (its Job is gone)").
	Deleted []string
	// Abandoned are the team records closed as abandoned, as sentences.
	Abandoned []string
}

// GC removes the Pods, Jobs, Secrets and Leases that cscript left behind,
// closes the local records of detached runs whose Job is gone and marks
// the team records of killed runs abandoned. Every part runs; their errors
// come joined, with what was collected.
func (c *Configuration) GC(ctx context.Context, o GCOptions) (*GCResult, error) {
	opts := o.Target.Options(nil)
	if o.Deck != "" {
		cat, _, err := c.Catalog("")
		if err != nil {
			return nil, err
		}
		d, err := cat.Deck(o.Deck)
		if err != nil {
			return nil, err
		}
		if isDocker(d) {
			return c.gcDocker(ctx, o)
		}
		opts = o.Target.Options(d)
	}
	target, err := kube.LoadTarget(opts)
	if err != nil {
		return nil, err
	}
	res := &GCResult{Target: target}
	ns := target.Namespace
	if o.AllNamespaces {
		ns = ""
	}
	gone, err := kube.GC(ctx, target.Client, ns, o.OlderThan, c.now(), o.DryRun)
	jobs, jobErr := kube.GCJobs(ctx, target.Client, ns, o.OlderThan, c.now(), o.DryRun)
	res.Deleted = append(gone, jobs...)
	closed, closeErr := c.closeGoneDetachedRuns(ctx, target, ns, o.DryRun)
	res.Deleted = append(res.Deleted, closed...)
	var teamErr error
	res.Abandoned, teamErr = c.markAbandonedTeamRuns(ctx, target, ns, o.OlderThan, o.DryRun)
	return res, errors.Join(err, jobErr, closeErr, teamErr)
}

// closeGoneDetachedRuns closes the local records of detached Job runs on
// target's context (in namespace ns, or any with "") whose Job is gone: they
// show as abandoned and retention may remove them. A run whose Job still
// exists, or cannot be looked up, keeps its record as it is.
func (c *Configuration) closeGoneDetachedRuns(ctx context.Context, target *kube.Target, ns string, dryRun bool) ([]string, error) {
	hist, err := c.History(0)
	if err != nil {
		return nil, err
	}
	recs, err := hist.List(0)
	if err != nil {
		return nil, err
	}
	var closed []string
	var errs []error
	for _, rec := range recs {
		if rec.State != history.StateRunning || !rec.Detached || rec.Context != target.Context || (ns != "" && rec.Namespace != ns) {
			continue
		}
		gone, err := kube.DetachedJobGone(ctx, target.Client, rec.Namespace, rec.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !gone {
			continue
		}
		if !dryRun {
			if err := hist.FinishGone(rec.ID); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		closed = append(closed, "run record "+rec.ID+" (its Job is gone)")
	}
	return closed, errors.Join(errs...)
}

// markAbandonedTeamRuns closes the team records of runs whose cscript was
// killed (their Pod or Job is gone) and returns a line for each. A user who
// may not list ConfigMaps has no records to close.
func (c *Configuration) markAbandonedTeamRuns(ctx context.Context, target *kube.Target, ns string, olderThan time.Duration, dryRun bool) ([]string, error) {
	grace := kube.TeamAbandonGrace
	if olderThan > 0 && olderThan < grace {
		grace = olderThan
	}
	closed, err := kube.MarkAbandoned(ctx, target.Client, ns, grace, c.now(), dryRun)
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

// gcDocker removes the containers cscript left on the Docker engine
// (DOCKER_HOST): expired ones (or older than o.OlderThan) and those of
// local runs whose cscript was killed (abandoned); and it closes the local records of detached Docker runs whose
// container is gone.
func (c *Configuration) gcDocker(ctx context.Context, o GCOptions) (*GCResult, error) {
	if o.AllNamespaces {
		return nil, fail.Errorf(fail.Usage, "-A: a Docker deck has no namespaces; leave -A out")
	}
	eng, err := docker.NewClient()
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	res := &GCResult{}
	res.Deleted, err = docker.GC(ctx, eng, o.OlderThan, c.now(), o.DryRun)
	hist, herr := c.History(0)
	if herr != nil {
		return res, errors.Join(err, herr)
	}
	recs, herr := hist.List(0)
	if herr != nil {
		return res, errors.Join(err, herr)
	}
	var errs []error
	for _, rec := range recs {
		if rec.State == history.StateAbandoned && rec.Mode == history.ModeDocker {
			// Its cscript was killed: its container (if any) is left.
			gone, gerr := docker.GCRun(ctx, eng, rec.ID, o.DryRun)
			res.Deleted = append(res.Deleted, gone...)
			errs = append(errs, gerr)
			continue
		}
		if rec.State == history.StateAbandoned && rec.Mode == history.ModeDocker {
			// Its cscript was killed: its container (if any) is left.
			gone, gerr := docker.GCRun(ctx, eng, rec.ID, o.DryRun)
			res.Deleted = append(res.Deleted, gone...)
			errs = append(errs, gerr)
			continue
		}
		if rec.State != history.StateRunning || !rec.Detached || rec.Mode != history.ModeDocker || rec.ContainerID == "" {
			continue
		}
		gone, gerr := docker.Gone(ctx, eng, rec.ContainerID)
		if gerr != nil || !gone {
			errs = append(errs, gerr)
			continue
		}
		if !o.DryRun {
			if ferr := hist.FinishGone(rec.ID); ferr != nil {
				errs = append(errs, ferr)
				continue
			}
		}
		res.Deleted = append(res.Deleted, "run record "+rec.ID+" (its container is gone)")
	}
	return res, errors.Join(append(errs, err)...)
}
