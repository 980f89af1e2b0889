package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/cscript-dev/cscript/runner"
)

// GC removes cscript's containers of the engine whose expiry label
// (LabelExpires) has passed or (when olderThan > 0) that were created more
// than olderThan before now: what a killed cscript left (a run whose
// cscript was SIGKILLed, a detached run never attached). It returns what it
// removed (or would, with dryRun) as "container/NAME" and keeps going past
// individual failures.
func GC(ctx context.Context, eng Engine, olderThan time.Duration, now time.Time, dryRun bool) ([]string, error) {
	return gc(ctx, eng, "", olderThan, now, dryRun)
}

// GCRun removes the containers of one run (by its run-id label), whatever
// their age: those of a run whose cscript was killed.
func GCRun(ctx context.Context, eng Engine, runID string, dryRun bool) ([]string, error) {
	return gc(ctx, eng, runID, 0, time.Time{}, dryRun)
}

func gc(ctx context.Context, eng Engine, runID string, olderThan time.Duration, now time.Time, dryRun bool) ([]string, error) {
	f := client.Filters{}.Add("label", LabelManagedBy+"="+ManagedByValue)
	if runID != "" {
		f = f.Add("label", LabelRunID+"="+runID)
	}
	list, err := eng.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, &runner.RunError{Op: "list containers", Err: err}
	}
	var removed []string
	var errs []error
	for _, c := range list.Items {
		stale := runID != ""
		if t, err := time.Parse(time.RFC3339, c.Labels[LabelExpires]); err == nil && !now.Before(t) {
			stale = true
		}
		if created := time.Unix(c.Created, 0); olderThan > 0 && c.Created > 0 && now.Sub(created) >= olderThan {
			stale = true
		}
		if !stale {
			continue
		}
		name := c.ID
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		if !dryRun {
			_, err := eng.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			if err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove container %s: %w", name, err))
				continue
			}
		}
		removed = append(removed, "container/"+name)
	}
	return removed, errors.Join(errs...)
}

// Gone says whether the container ref no longer exists.
func Gone(ctx context.Context, eng Engine, ref string) (bool, error) {
	_, err := eng.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	switch {
	case err == nil:
		return false, nil
	case cerrdefs.IsNotFound(err):
		return true, nil
	}
	return false, err
}
