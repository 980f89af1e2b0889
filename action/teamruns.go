package action

import (
	"context"
	"time"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/store"
)

// TeamOptions say whose team history to read: the namespace of Deck (if
// any) on Target's cluster, or every namespace.
type TeamOptions struct {
	Deck          string // NAME or LIB/NAME; "": none
	Target        Target
	AllNamespaces bool
	// Script, User and Since filter the records (kube.TeamFilter).
	Script, User string
	Since        time.Time
	// Limit keeps at most this many records, newest first (0: all).
	Limit int
}

// TeamTarget is the cluster and namespace of a team history: the deck's,
// overridden by the target's context and namespace. A Docker deck has none.
func (c *Configuration) TeamTarget(deckRef string, t Target) (*kube.Target, *store.Deck, error) {
	var deck *store.Deck
	if deckRef != "" {
		cat, _, err := c.Catalog("")
		if err != nil {
			return nil, nil, err
		}
		if deck, err = cat.Deck(deckRef); err != nil {
			return nil, nil, err
		}
		if deck.Backend == store.BackendDocker {
			return nil, nil, fail.Errorf(fail.Usage, "deck %s runs in Docker: its runs are recorded only on this machine (cscript runs)", deck.Name)
		}
	}
	target, err := kube.LoadTarget(t.Options(deck))
	return target, deck, err
}

// TeamRuns lists the runs recorded in the team history (`runs --cluster`),
// newest first, and the namespace read ("" for all).
func (c *Configuration) TeamRuns(ctx context.Context, o TeamOptions) ([]kube.TeamRecord, string, error) {
	target, deck, err := c.TeamTarget(o.Deck, o.Target)
	if err != nil {
		return nil, "", err
	}
	f := kube.TeamFilter{Script: o.Script, User: o.User, Since: o.Since}
	if deck != nil {
		f.Deck = deck.Name
	}
	ns := target.Namespace
	if o.AllNamespaces {
		ns = ""
	}
	recs, err := kube.ListTeamRecords(ctx, target.Client, ns, f)
	if err != nil {
		return nil, ns, err
	}
	if o.Limit > 0 && len(recs) > o.Limit {
		recs = recs[:o.Limit]
	}
	if recs == nil {
		recs = []kube.TeamRecord{}
	}
	return recs, ns, nil
}
