//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// sync compares `cscript sync` with `git pull` after one commit upstream:
// each side has its own copy of the same repository and its own working
// clone that pushes one changed script before each of its rounds.
func (b *bench) sync(ctx context.Context) error {
	h, err := b.generated(ctx)
	if err != nil {
		return err
	}
	root := filepath.Join(b.cfg.Work, "git")
	libDir := filepath.Join(h.dir, "data", "cscript", "libraries", "gen")
	push := func(clone string) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			dir := filepath.Join(root, clone)
			f := filepath.Join(dir, "group-7", "gen-0007.yaml")
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			lines := strings.SplitN(string(data), "\n", 4)
			lines[2] = fmt.Sprintf("description: Generated script number 7, revision %d.", i+100)
			if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
				return err
			}
			if _, err := do(ctx, gitCmd(dir, "commit", "-qam", fmt.Sprintf("revision %d", i+100))); err != nil {
				return err
			}
			_, err = do(ctx, gitCmd(dir, "push", "-q", "origin", "HEAD"))
			return err
		}
	}
	head := func(dir string) (string, error) {
		out, err := do(ctx, gitCmd(dir, "rev-parse", "HEAD"))
		return strings.TrimSpace(out), err
	}
	same := func(a, b string) func(context.Context, int) error {
		return func(context.Context, int) error {
			ha, err := head(a)
			if err != nil {
				return err
			}
			hb, err := head(b)
			if err != nil {
				return err
			}
			if ha != hb {
				return fmt.Errorf("%s is at %s, upstream at %s", a, ha, hb)
			}
			return nil
		}
	}
	if err := b.locateLibrary(ctx, h, &libDir); err != nil {
		return err
	}
	samples, err := interleave(ctx, b.log, "git sync", 1, b.cfg.NSync,
		Contender{
			Name:    "cscript sync gen",
			Prepare: push("up-cs"),
			Run:     func(ctx context.Context, _ int) (*Timed, error) { return timeCommand(ctx, b.cscript(h, "sync", "gen")) },
			Check:   same(libDir, filepath.Join(root, "up-cs")),
		},
		Contender{
			Name:    "git pull --ff-only",
			Prepare: push("up-ref"),
			Run: func(ctx context.Context, _ int) (*Timed, error) {
				return timeCommand(ctx, gitCmd(filepath.Join(root, "ref"), "pull", "-q", "--ff-only"))
			},
			Check: same(filepath.Join(root, "ref"), filepath.Join(root, "up-ref")),
		})
	if err != nil {
		return err
	}
	b.res.addGroup(Group{Bench: "sync", Title: fmt.Sprintf("Sync of a %d-script library after one upstream commit (git daemon on 127.0.0.1)", b.cfg.Scripts), Samples: samples})
	cs, gp := samples[0], samples[1]
	b.res.addRow(Row{
		Bench: "sync", Metric: fmt.Sprintf("Git sync, %d scripts, one new commit, wall", b.cfg.Scripts), Unit: "ms",
		CScript: float64(cs.Median()) / float64(time.Millisecond), Reference: gp.Name, Ref: float64(gp.Median()) / float64(time.Millisecond),
	})
	b.res.addNote(Note{Bench: "sync", Title: "What a sync does", Text: "`cscript sync gen` (go-git, in process) first refuses a dirty work tree, " +
		"so it computes the status of the library's work tree, then fetches, checks whether the local branch has commits of its own " +
		"(to push, or to save on a branch if both sides moved) and fast-forwards the work tree. `git pull --ff-only` (git " + gitVersion() + ") " +
		"fetches and fast-forwards, checking the work tree through its index's stat cache. Both talk to the same `git daemon` on 127.0.0.1, " +
		"each to its own copy of the repository, and each has exactly one new commit to fetch in every round. There is no target for this row.\n"})
	return nil
}

// locateLibrary finds where `library add` cloned the generated library, from
// `cscript library list`.
func (b *bench) locateLibrary(ctx context.Context, h *home, dir *string) error {
	if _, err := os.Stat(filepath.Join(*dir, ".git")); err == nil {
		return nil
	}
	out, err := do(ctx, b.cscript(h, "library", "list"))
	if err != nil {
		return err
	}
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, h.dir) {
			if _, err := os.Stat(filepath.Join(f, ".git")); err == nil {
				*dir = f
				return nil
			}
		}
	}
	return fmt.Errorf("cannot find the clone of library gen in `cscript library list`:\n%s", out)
}

func gitVersion() string {
	return strings.TrimPrefix(output("git", "--version"), "git version ")
}
