//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cscript-dev/cscript/internal/gitserver"
)

// generatedScript is a realistic definition of about 40 lines (the same
// shape as store's load benchmark).
const generatedScript = `# generated script %[1]d
name: gen-%04[1]d
description: Generated script number %[1]d for the benchmark.
image: postgres
interpreter: bash
author: Bench Mark <bench@example.com>
created: 2024-05-01T12:00:00Z
modified: 2024-05-02T12:00:00Z
serviceAccount: runner
credentials:
  - name: PGPASSWORD
    secret: {name: db-credentials, key: password}
params:
  - name: database
    type: string
    default: app
    pattern: "[a-z_]+"
  - name: jobs
    type: int
    default: 4
  - name: mode
    type: enum
    values: [fast, safe]
    default: safe
files:
  download:
    - from: /tmp/out-{{ .Params.database }}.dump
      to: ./out.dump
env:
  LOG_LEVEL: info
  TARGET: "{{ .Values.region }}"
timeout: 10m
resources:
  requests: {cpu: 100m, memory: 128Mi}
  limits: {cpu: "1", memory: 512Mi}
tags: [database, generated]
script: |
  set -euo pipefail
  echo "dumping {{ .Params.database }} in {{ .Values.region }} ({{ .Params.mode }})"
  pg_dump -j {{ .Params.jobs }} {{ .Params.database | shellquote }} > /tmp/out.dump
`

// writeGenerated writes n scripts in 10 folders, two decks and a values file.
func writeGenerated(dir string, n int) error {
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("group-%d", i%10))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("gen-%04d.yaml", i)), fmt.Appendf(nil, generatedScript, i), 0o644); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "decks"), 0o755); err != nil {
		return err
	}
	for _, d := range []string{"prod", "staging"} {
		if err := os.WriteFile(filepath.Join(dir, "decks", d+".yaml"), []byte("namespace: "+d+"\nvalues:\n  region: eu-"+d+"\n"), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "values.yaml"), []byte("region: default\n"), 0o644)
}

// generated makes (once) the generated library: a bare repository served by
// a git daemon on 127.0.0.1, a cscript home that cloned it with `library
// add`, a mirror for the git reference and a working clone of each to push
// changes from.
func (b *bench) generated(ctx context.Context) (*home, error) {
	if b.genHome != nil {
		return b.genHome, nil
	}
	root := filepath.Join(b.cfg.Work, "git")
	if err := os.RemoveAll(root); err != nil {
		return nil, err
	}
	src := filepath.Join(root, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return nil, err
	}
	if err := writeGenerated(src, b.cfg.Scripts); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"init", "-q"}, {"add", "-A"}, {"commit", "-qm", fmt.Sprintf("%d generated scripts", b.cfg.Scripts)},
		{"clone", "-q", "--bare", ".", "../gen.git"},
		{"clone", "-q", "--bare", ".", "../gen-ref.git"},
	} {
		if _, err := do(ctx, gitCmd(src, args...)); err != nil {
			return nil, err
		}
	}
	g, err := gitserver.StartDaemon(ctx, root)
	if err != nil {
		return nil, err
	}
	b.git = g
	for _, c := range [][]string{
		{"clone", "-q", g.URL("gen"), "up-cs"},
		{"clone", "-q", g.URL("gen-ref"), "up-ref"},
		{"clone", "-q", g.URL("gen-ref"), "ref"},
	} {
		if _, err := do(ctx, gitCmd(root, c...)); err != nil {
			return nil, err
		}
	}
	h, err := b.genHomeFor(ctx, b.cfg.CScript, "home-gen")
	if err != nil {
		return nil, err
	}
	b.genHome = h
	return h, nil
}

// genHomeFor makes a cscript home in which bin cloned the generated library
// with `library add` and lists all of it.
func (b *bench) genHomeFor(ctx context.Context, bin, dir string) (*home, error) {
	h, err := newHome(filepath.Join(b.cfg.Work, dir))
	if err != nil {
		return nil, err
	}
	if _, err := do(ctx, b.cscriptBin(bin, h, "library", "add", "gen", b.git.URL("gen"))); err != nil {
		return nil, err
	}
	out, err := do(ctx, b.cscriptBin(bin, h, "list"))
	if err != nil {
		return nil, err
	}
	if got := strings.Count(out, "gen-"); got < b.cfg.Scripts {
		return nil, fmt.Errorf("%s list shows %d generated scripts, want %d:\n%s", filepath.Base(bin), got, b.cfg.Scripts, lastLines(out, 5))
	}
	return h, nil
}

// cli times `cscript list` and `cscript render` on the generated library as
// whole processes, with `kubectl version --client` as a reference for what
// a Go CLI's start costs here.
func (b *bench) cli(ctx context.Context) error {
	h, err := b.generated(ctx)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("gen-%04d", b.cfg.Scripts/2)
	contenders := []Contender{
		{Name: "cscript list", Run: func(ctx context.Context, _ int) (*Timed, error) { return timeCommand(ctx, b.cscript(h, "list")) }},
		{Name: "cscript render " + name + " --deck prod", Run: func(ctx context.Context, _ int) (*Timed, error) {
			return timeCommand(ctx, b.cscript(h, "render", name, "--deck", "prod"))
		}},
		{Name: "kubectl version --client", Run: func(ctx context.Context, _ int) (*Timed, error) {
			return timeCommand(ctx, b.kubectl("version", "--client"))
		}},
		{Name: "cscript version", Run: func(ctx context.Context, _ int) (*Timed, error) { return timeCommand(ctx, b.cscript(h, "version")) }},
		{
			Name:    "cscript list, no load cache",
			Prepare: func(context.Context, int) error { return os.RemoveAll(filepath.Join(h.cache, "cscript")) },
			Run:     func(ctx context.Context, _ int) (*Timed, error) { return timeCommand(ctx, b.cscript(h, "list")) },
		},
	}
	if b.cfg.Baseline != "" {
		// The baseline in a home of its own: the two builds' load caches
		// would otherwise replace each other's every round.
		if b.baseGen == nil {
			if b.baseGen, err = b.genHomeFor(ctx, b.cfg.Baseline, "home-gen-baseline"); err != nil {
				return fmt.Errorf("baseline: %w", err)
			}
		}
		bh, bin, bn := b.baseGen, b.cfg.Baseline, b.cfg.BaselineName
		contenders = append(contenders,
			Contender{Name: bn + " list", Run: func(ctx context.Context, _ int) (*Timed, error) {
				return timeCommand(ctx, b.cscriptBin(bin, bh, "list"))
			}},
			Contender{Name: bn + " render " + name + " --deck prod", Run: func(ctx context.Context, _ int) (*Timed, error) {
				return timeCommand(ctx, b.cscriptBin(bin, bh, "render", name, "--deck", "prod"))
			}},
			Contender{Name: bn + " version", Run: func(ctx context.Context, _ int) (*Timed, error) {
				return timeCommand(ctx, b.cscriptBin(bin, bh, "version"))
			}},
		)
	}
	// The render must print the rendered body.
	out, err := do(ctx, b.cscript(h, "render", name, "--deck", "prod"))
	if err != nil {
		return err
	}
	if !strings.Contains(out, "in eu-prod (safe)") {
		return fmt.Errorf("cscript render printed %q", lastLines(out, 3))
	}
	samples, err := interleave(ctx, b.log, "cli", b.cfg.Warmup, b.cfg.NCLI, contenders...)
	if err != nil {
		return err
	}
	b.res.addGroup(Group{Bench: "cli", Title: fmt.Sprintf("CLI latency on a %d-script library (whole processes)", b.cfg.Scripts), Samples: samples})
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	kc := samples[2]
	for _, s := range []struct {
		sample *Sample
		metric string
		limit  time.Duration
	}{
		{samples[0], fmt.Sprintf("`cscript list`, %d scripts, wall", b.cfg.Scripts), 50 * time.Millisecond},
		{samples[1], fmt.Sprintf("`cscript render`, %d scripts, wall", b.cfg.Scripts), 30 * time.Millisecond},
	} {
		b.res.addRow(Row{
			Bench: "cli", Metric: s.metric, Unit: "ms", CScript: ms(s.sample.Median()), Reference: kc.Name, Ref: ms(kc.Median()),
			Target: fmt.Sprintf("< %d ms", s.limit/time.Millisecond), Met: boolp(s.sample.Median() < s.limit),
		})
	}
	start := samples[3].Median()
	onBase := ""
	if b.cfg.Baseline != "" {
		b.compare("cli", fmt.Sprintf("`list`, %d scripts", b.cfg.Scripts), "ms", samples[0], samples[5])
		b.compare("cli", fmt.Sprintf("`render`, %d scripts", b.cfg.Scripts), "ms", samples[1], samples[6])
		b.compare("cli", "`version` (process start)", "ms", samples[3], samples[7])
		onBase = fmt.Sprintf(" (%s, measured in the same rounds: list %s, render %s, version %s)", b.cfg.BaselineName,
			fmtDur(samples[5].Median()), fmtDur(samples[6].Median()), fmtDur(samples[7].Median()))
	}
	left := fmt.Sprintf("leaving %s for", fmtDur(30*time.Millisecond-start))
	if start >= 30*time.Millisecond {
		left = "more than the whole target before"
	}
	b.explain("cli", "`cscript render`", fmt.Sprintf("process start alone (`cscript version`) takes %s, %s loading %d definitions "+
		"from the load cache and rendering one; the load took %s%s", fmtDur(start), left, b.cfg.Scripts, fmtDur(samples[1].Median()-start), onBase))
	b.explain("cli", "`cscript list`", fmt.Sprintf("process start alone (`cscript version`) takes %s; loading %d definitions from the cache "+
		"and printing them took %s%s", fmtDur(start), b.cfg.Scripts, fmtDur(samples[0].Median()-start), onBase))
	b.res.addNote(Note{Bench: "cli", Title: "Where the time goes", Text: fmt.Sprintf(
		"`cscript version` (process start, no library loaded) took %s (median): that is the floor of every command, a %.0f MB static Go binary "+
			"that links client-go, go-git and sprig being loaded and initialised. `list` spent %s more (reading the config, stat-ing %d files "+
			"against the load cache, decoding the cache and printing %d lines), `render` %s more (the same load, then one render). "+
			"`kubectl version --client`, another client-go binary doing no work, took %s. "+
			"With the load cache removed before every round (the first command after a sync or an edit) `list` took %s (median); "+
			"the table's figures are with the cache, as every later command finds it.\n",
		fmtDur(start), binSizeMB(b.cfg.CScript), fmtDur(samples[0].Median()-start), b.cfg.Scripts, b.cfg.Scripts,
		fmtDur(samples[1].Median()-start), fmtDur(kc.Median()), fmtDur(samples[4].Median()))})
	return nil
}

func binSizeMB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / 1e6
}
