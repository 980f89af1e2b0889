//go:build unix

package main

import (
	"slices"
	"time"
)

// Results is everything one run of the benchmarks measured; the report is
// written from it alone (see -report-only).
type Results struct {
	Started time.Time                `json:"started"`
	Elapsed time.Duration            `json:"elapsed"`
	Took    map[string]time.Duration `json:"took"`
	Config  config                   `json:"config"`
	Env     []KV                     `json:"env"`
	// Retried lists the benchmarks run a second time because the cluster
	// went away during the first.
	Retried []string `json:"retried,omitempty"`
	// Earlier holds, for a run of some benchmarks only (-only), when each
	// benchmark kept from the earlier results was measured.
	Earlier map[string]time.Time `json:"earlier,omitempty"`
	// LoadBefore is the load average when the run started.
	LoadBefore string `json:"loadBefore"`
	Rows       []Row  `json:"rows"`
	// Baseline compares this build with an earlier one (-baseline).
	Baseline []Comparison `json:"baseline,omitempty"`
	Groups   []Group      `json:"groups"`
	Notes    []Note       `json:"notes"`
}

// KV is one line of the method section.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Row is one line of the summary table.
type Row struct {
	Bench     string  `json:"bench"`
	Metric    string  `json:"metric"`
	Unit      string  `json:"unit"` // "s", "ms", "MB/s", "MiB"
	CScript   float64 `json:"cscript"`
	Reference string  `json:"reference"` // what the reference figure is
	Ref       float64 `json:"ref"`       // 0: none
	// HigherBetter says which direction the ratio improves in.
	HigherBetter bool `json:"higherBetter"`
	// Target is the target as text; "" when there is none.
	Target string `json:"target"`
	// Met is nil when there is no target.
	Met *bool `json:"met,omitempty"`
	// Why says, for a missed target, where the time goes.
	Why string `json:"why,omitempty"`
}

// Ratio is cscript's figure over the reference's (0 without a reference).
func (r Row) Ratio() float64 {
	if r.Ref == 0 {
		return 0
	}
	return r.CScript / r.Ref
}

// Comparison is one figure of this build beside the same figure of the
// baseline build, measured in the same rounds.
type Comparison struct {
	Bench        string  `json:"bench"`
	Metric       string  `json:"metric"`
	Unit         string  `json:"unit"`
	This         float64 `json:"this"`
	Base         float64 `json:"base"`
	HigherBetter bool    `json:"higherBetter"`
	// Spread is the baseline's own spread (its rounds' 3rd quartile ÷ 1st
	// quartile, 1 for a single round): a ratio inside it is noise.
	Spread float64 `json:"spread"`
}

// Ratio is this build's figure over the baseline's.
func (c Comparison) Ratio() float64 {
	if c.Base == 0 {
		return 0
	}
	return c.This / c.Base
}

// Group is the raw timings of one comparison.
type Group struct {
	Bench   string    `json:"bench"`
	Title   string    `json:"title"`
	Bytes   int64     `json:"bytes,omitempty"` // per run, for throughput
	Samples []*Sample `json:"samples"`
}

// Note is a paragraph of explanation (method, profile) for one benchmark.
type Note struct {
	Bench string `json:"bench"`
	Title string `json:"title"`
	Text  string `json:"text"` // markdown
}

func (r *Results) addRow(row Row)             { r.Rows = append(r.Rows, row) }
func (r *Results) addGroup(g Group)           { r.Groups = append(r.Groups, g) }
func (r *Results) addComparison(c Comparison) { r.Baseline = append(r.Baseline, c) }
func (r *Results) addNote(n Note)             { r.Notes = append(r.Notes, n) }
func boolp(b bool) *bool                      { return &b }

// drop removes what an earlier run of benchmark b left in r.
func (r *Results) drop(b string) {
	if r.Took == nil {
		r.Took = map[string]time.Duration{}
	}
	r.Rows = slices.DeleteFunc(r.Rows, func(x Row) bool { return x.Bench == b })
	r.Groups = slices.DeleteFunc(r.Groups, func(x Group) bool { return x.Bench == b })
	r.Baseline = slices.DeleteFunc(r.Baseline, func(x Comparison) bool { return x.Bench == b })
	r.Notes = slices.DeleteFunc(r.Notes, func(x Note) bool { return x.Bench == b })
	delete(r.Took, b)
}

// merge keeps old's results for the benchmarks not being run now.
func (r *Results) merge(old *Results, running []string) {
	keep := func(b string) bool { return !slices.Contains(running, b) }
	if r.Took == nil {
		r.Took = map[string]time.Duration{}
	}
	for _, x := range old.Rows {
		if keep(x.Bench) {
			r.Rows = append(r.Rows, x)
		}
	}
	for _, x := range old.Groups {
		if keep(x.Bench) {
			r.Groups = append(r.Groups, x)
		}
	}
	for _, x := range old.Baseline {
		if keep(x.Bench) {
			r.Baseline = append(r.Baseline, x)
		}
	}
	for _, x := range old.Notes {
		if keep(x.Bench) {
			r.Notes = append(r.Notes, x)
		}
	}
	for b, d := range old.Took {
		if keep(b) {
			r.Took[b] = d
			if r.Earlier == nil {
				r.Earlier = map[string]time.Time{}
			}
			r.Earlier[b] = old.Started
			if t, ok := old.Earlier[b]; ok {
				r.Earlier[b] = t
			}
		}
	}
}
