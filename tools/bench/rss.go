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
	// With a baseline, two rounds each: interleave's rotating order makes
	// that this, baseline, baseline, this, so whatever favours the first or
	// the later rounds (the page cache holding the file, the node's disk
	// after the transfer benchmarks) falls on both alike.
	cs := []Contender{b.bigContender("cscript run big", b.cfg.CScript, h)}
	rounds := 1
	if b.cfg.Baseline != "" {
		bh, err := b.baseRunLibrary(ctx)
		if err != nil {
			return err
		}
		cs = append(cs, b.bigContender(b.cfg.BaselineName+" run big", b.cfg.Baseline, bh))
		rounds = 2
	}
	samples, err := interleave(ctx, b.log, "2 GB round trip", 0, rounds, cs...)
	if err != nil {
		return err
	}
	this := samples[0]
	run := &Timed{Wall: this.Median(), MaxRSS: this.MaxRSS}
	for i, s := range samples {
		fmt.Fprintf(b.log, "  %-28s %-34s peak RSS %.1f MiB\n", "2 GB round trip", cs[i].Name, float64(s.MaxRSS)/mib)
	}

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
	how := "one sample each"
	if rounds > 1 {
		how = fmt.Sprintf("%d rounds of cscript, the median; one of kubectl cp each way", rounds)
	}
	b.res.addGroup(Group{Bench: "rss", Title: fmt.Sprintf("%s GB up and down (%s)", gb(b.cfg.BigSize), how), Bytes: 2 * b.cfg.BigSize, Samples: []*Sample{
		{Name: "cscript run big (upload + script + download)", Times: this.Times, MaxRSS: run.MaxRSS},
		{Name: "kubectl cp up + kubectl cp down", Times: []time.Duration{up.Wall + down.Wall}, MaxRSS: kcPeak},
	}})
	if len(samples) > 1 {
		base := samples[1]
		b.compare("rss", fmt.Sprintf("`run big` (%s GB up and down), wall", gb(b.cfg.BigSize)), "s", this, base)
		// Each round's peak (ru_maxrss): their medians, and the baseline's
		// own spread between its rounds, as for the times.
		b.res.addComparison(Comparison{Bench: "rss", Metric: "`run big`, peak RSS (the median of its rounds' peaks)", Unit: "MiB",
			This: float64(quantile(this.RSS, 0.5)) / mib, Base: float64(quantile(base.RSS, 0.5)) / mib, Spread: spread(base.RSS)})
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

// bigContender is `run big` with the cscript binary bin in home h: the
// download's directory emptied first, the size of what came back checked.
func (b *bench) bigContender(name, bin string, h *home) Contender {
	return Contender{
		Name:    name,
		Prepare: func(context.Context, int) error { return os.RemoveAll(filepath.Dir(b.bigOut())) },
		Run: func(ctx context.Context, _ int) (*Timed, error) {
			return timeCommand(ctx, b.cscriptBin(bin, h, "run", "big", "--deck", "bench"))
		},
		Check: func(context.Context, int) error {
			n, err := localSize(b.bigOut())
			if err != nil {
				return err
			}
			return wantSize(n, b.cfg.BigSize, name+": downloaded file")
		},
	}
}

// gb formats bytes as GB (10^9) with up to 3 significant digits.
func gb(n int64) string { return strconv.FormatFloat(float64(n)/1e9, 'g', 3, 64) }
