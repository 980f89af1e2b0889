//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

const mib = 1 << 20

// rss measures cscript's peak resident set size over a whole `cscript run`
// that uploads a 2 GB file and downloads it back, and kubectl cp's over the
// same file each way (getrusage's ru_maxrss of the child process, what
// /usr/bin/time -v prints as "Maximum resident set size").
func (b *bench) rss(ctx context.Context) error {
	h, err := b.runLibrary(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.log, "   data %s (%d bytes)\n", b.bigLocal(), b.cfg.BigSize)
	if _, err := dataFile(b.bigLocal(), b.cfg.BigSize, randomData); err != nil {
		return err
	}
	// With a baseline the two builds run in the order this, baseline,
	// baseline, this: whatever favours the first or the later rounds (the
	// page cache holding the file, the node's disk after the transfer
	// benchmarks) falls on both alike.
	order := []bool{true}
	var bh *home
	if b.cfg.Baseline != "" {
		if bh, err = b.baseRunLibrary(ctx); err != nil {
			return err
		}
		order = []bool{true, false, false, true}
	}
	this, base := &Sample{}, &Sample{}
	for _, mine := range order {
		bin, hh, name, s := b.cfg.CScript, h, "cscript", this
		if !mine {
			bin, hh, name, s = b.cfg.Baseline, bh, b.cfg.BaselineName, base
		}
		t, err := b.runBig(ctx, bin, hh, name)
		if err != nil {
			return err
		}
		s.Times = append(s.Times, t.Wall)
		s.MaxRSS = max(s.MaxRSS, t.MaxRSS)
	}
	run := &Timed{Wall: this.Median(), MaxRSS: this.MaxRSS}

	// kubectl cp of the same file, up then down, through the transfer Pod.
	if _, err := b.transferPod(ctx); err != nil {
		return err
	}
	remote := remoteDataDir + "/big.bin"
	up, err := timeCommand(ctx, b.kubectl("cp", "-c", transferCtr, b.bigLocal(), b.cfg.Namespace+"/"+transferPod+":"+remote))
	if err != nil {
		return err
	}
	kcOut := filepath.Join(b.cfg.Work, "down-big-kc", "big.bin")
	if err := os.RemoveAll(filepath.Dir(kcOut)); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(kcOut), 0o755); err != nil {
		return err
	}
	down, err := timeCommand(ctx, b.kubectl("cp", "-c", transferCtr, b.cfg.Namespace+"/"+transferPod+":"+remote, kcOut))
	if err != nil {
		return err
	}
	if n, err := localSize(kcOut); err != nil || n != b.cfg.BigSize {
		return fmt.Errorf("kubectl cp down: %d bytes, %v", n, err)
	}
	fmt.Fprintf(b.log, "  %-28s %-34s up %s (peak %.1f MiB), down %s (peak %.1f MiB)\n", "2 GB round trip", "kubectl cp",
		fmtDur(up.Wall), float64(up.MaxRSS)/mib, fmtDur(down.Wall), float64(down.MaxRSS)/mib)
	_, _ = b.sh(ctx, `rm -f "$1"`, remote)
	_ = os.RemoveAll(filepath.Dir(kcOut))
	_ = os.RemoveAll(filepath.Dir(b.bigOut()))

	kcPeak := max(up.MaxRSS, down.MaxRSS)
	rounds := "one sample each"
	if len(this.Times) > 1 {
		rounds = fmt.Sprintf("%d rounds of cscript, the median; one of kubectl cp each way", len(this.Times))
	}
	b.res.addGroup(Group{Bench: "rss", Title: fmt.Sprintf("%s GB up and down (%s)", gb(b.cfg.BigSize), rounds), Bytes: 2 * b.cfg.BigSize, Samples: []*Sample{
		{Name: "cscript run big (upload + script + download)", Times: this.Times, MaxRSS: run.MaxRSS},
		{Name: "kubectl cp up + kubectl cp down", Times: []time.Duration{up.Wall + down.Wall}, MaxRSS: kcPeak},
	}})
	if len(base.Times) > 0 {
		b.compare("rss", fmt.Sprintf("`run big` (%s GB up and down), wall", gb(b.cfg.BigSize)), "s", this, base)
		b.res.addComparison(Comparison{Bench: "rss", Metric: "`run big`, peak RSS (the larger of its rounds)", Unit: "MiB",
			This: float64(this.MaxRSS) / mib, Base: float64(base.MaxRSS) / mib, Spread: 1})
	}
	b.res.addRow(Row{
		Bench: "rss", Metric: fmt.Sprintf("Peak RSS during a %s GB transfer (up and down in one run)", gb(b.cfg.BigSize)), Unit: "MiB",
		CScript: float64(run.MaxRSS) / mib, Reference: "kubectl cp (larger of up and down)", Ref: float64(kcPeak) / mib,
		Target: "< 100 MiB", Met: boolp(run.MaxRSS < 100*mib),
	})
	text := fmt.Sprintf("The whole `cscript run big` (Pod start, %s GB up, a size check in the Pod, %s GB down, cleanup) took %s; "+
		"kubectl cp took %s up and %s down.", gb(b.cfg.BigSize), gb(b.cfg.BigSize), fmtDur(run.Wall), fmtDur(up.Wall), fmtDur(down.Wall))
	if b.helloMedian > 0 {
		moved := run.Wall - b.helloMedian
		text += fmt.Sprintf(" Less the median run overhead (%s), cscript moved %s GB in %s: %.0f MB/s end to end, both directions verified.",
			fmtDur(b.helloMedian), gb(2*b.cfg.BigSize), fmtDur(moved), mbps(2*b.cfg.BigSize, moved))
	}
	b.res.addNote(Note{Bench: "rss", Title: "The 2 GB run", Text: text + "\n"})
	return nil
}

// runBig runs `run big` with the cscript binary bin in home h, checks the
// size of what came back and logs the round.
func (b *bench) runBig(ctx context.Context, bin string, h *home, name string) (*Timed, error) {
	if err := os.RemoveAll(filepath.Dir(b.bigOut())); err != nil {
		return nil, err
	}
	t, err := timeCommand(ctx, b.cscriptBin(bin, h, "run", "big", "--deck", "bench"))
	if err != nil {
		return nil, fmt.Errorf("%s run big: %w", name, err)
	}
	n, err := localSize(b.bigOut())
	if err != nil {
		return nil, err
	}
	if err := wantSize(n, b.cfg.BigSize, name+" run big: downloaded file"); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.log, "  %-28s %-34s %s, peak RSS %.1f MiB\n", "2 GB round trip", name+" run big", fmtDur(t.Wall), float64(t.MaxRSS)/mib)
	return t, nil
}

// gb formats bytes as GB (10^9) with up to 3 significant digits.
func gb(n int64) string { return strconv.FormatFloat(float64(n)/1e9, 'g', 3, 64) }
