//go:build unix

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const helloScript = `name: hello
description: Does nothing; measures the overhead of a run.
image: ` + busybox + `
interpreter: sh
script: |
  true
`

const bigScript = `name: big
description: Moves a large file up and back down (peak memory benchmark).
image: ` + busybox + `
interpreter: sh
timeout: 30m
files:
  upload:
    - from: %s
      to: /work/big.bin
  download:
    - from: /work/big.bin
      to: %s
script: |
  test "$(wc -c < /work/big.bin)" = %d
`

// runLibrary makes (once) the cscript home with the "bench" library: the
// hello script, the 2 GB round trip and the deck "bench" for the
// benchmark's namespace.
func (b *bench) runLibrary(ctx context.Context) (*home, error) {
	if b.runHome != nil {
		return b.runHome, nil
	}
	if err := b.namespace(ctx); err != nil {
		return nil, err
	}
	h, err := b.runLibraryFor(ctx, b.cfg.CScript, "home-run")
	if err != nil {
		return nil, err
	}
	b.runHome = h
	return h, nil
}

// baseRunLibrary is runLibrary for the baseline build, in a home of its own.
func (b *bench) baseRunLibrary(ctx context.Context) (*home, error) {
	if b.baseRun != nil {
		return b.baseRun, nil
	}
	if _, err := b.runLibrary(ctx); err != nil {
		return nil, err
	}
	h, err := b.runLibraryFor(ctx, b.cfg.Baseline, "home-run-baseline")
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	b.baseRun = h
	return h, nil
}

// runLibraryFor makes a cscript home in which bin created the "bench"
// library (`init`) and validated it.
func (b *bench) runLibraryFor(ctx context.Context, bin, dir string) (*home, error) {
	h, err := newHome(filepath.Join(b.cfg.Work, dir))
	if err != nil {
		return nil, err
	}
	lib := filepath.Join(h.dir, "library")
	if _, err := do(ctx, b.cscriptBin(bin, h, "init", "--empty", "--name", "bench", lib)); err != nil {
		return nil, err
	}
	files := map[string]string{
		"hello.yaml":       helloScript,
		"big.yaml":         fmt.Sprintf(bigScript, b.bigLocal(), b.bigOut(), b.cfg.BigSize),
		"decks/bench.yaml": "description: The benchmark's namespace on the test cluster.\nnamespace: " + b.cfg.Namespace + "\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(lib, name), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	if _, err := do(ctx, gitCmd(lib, "add", "-A")); err != nil {
		return nil, err
	}
	if _, err := do(ctx, gitCmd(lib, "commit", "-qm", "benchmark scripts")); err != nil {
		return nil, err
	}
	if _, err := do(ctx, b.cscriptBin(bin, h, "validate")); err != nil {
		return nil, err
	}
	return h, nil
}

func (b *bench) bigLocal() string { return filepath.Join(b.cfg.Work, "data", "big.bin") }
func (b *bench) bigOut() string   { return filepath.Join(b.cfg.Work, "down-big", "big.bin") }

// overhead compares `cscript run hello` with `kubectl run --rm -i`.
func (b *bench) overhead(ctx context.Context) error {
	h, err := b.runLibrary(ctx)
	if err != nil {
		return err
	}
	seq := 0
	contenders := []Contender{
		{
			Name: "cscript run hello",
			Run: func(ctx context.Context, _ int) (*Timed, error) {
				return timeCommand(ctx, b.cscript(h, "run", "hello", "--deck", "bench"))
			},
		},
		{
			Name: "kubectl run --rm -i",
			Run: func(ctx context.Context, _ int) (*Timed, error) {
				seq++
				return timeCommand(ctx, b.kubectl("run", "-n", b.cfg.Namespace, "--rm", "-i", "--restart=Never",
					"--image="+busybox, "--image-pull-policy=IfNotPresent", fmt.Sprintf("bench-x-%d", seq), "--", "true"))
			},
		},
	}
	if b.cfg.Baseline != "" {
		bh, err := b.baseRunLibrary(ctx)
		if err != nil {
			return err
		}
		contenders = append(contenders, Contender{
			Name: b.cfg.BaselineName + " run hello",
			Run: func(ctx context.Context, _ int) (*Timed, error) {
				return timeCommand(ctx, b.cscriptBin(b.cfg.Baseline, bh, "run", "hello", "--deck", "bench"))
			},
		})
	}
	samples, err := interleave(ctx, b.log, "run overhead", 1, b.cfg.NRun, contenders...)
	if err != nil {
		return err
	}
	if b.cfg.Baseline != "" {
		b.compare("overhead", "`run hello`, wall", "s", samples[0], samples[2])
	}
	b.res.addGroup(Group{Bench: "overhead", Title: "Run of a script that does nothing (busybox, `true`)", Samples: samples})
	cs, kc := samples[0], samples[1]
	b.helloMedian = cs.Median()
	ratio := cs.Median().Seconds() / kc.Median().Seconds()
	b.res.addRow(Row{
		Bench: "overhead", Metric: "Run overhead: `run hello` (busybox `true`), wall", Unit: "s",
		CScript: cs.Median().Seconds(), Reference: kc.Name, Ref: kc.Median().Seconds(),
		Target: "≤ 0.8× kubectl run --rm -i", Met: boolp(ratio <= 0.8),
	})
	return b.overheadProfile(ctx, h, kc.Median())
}

// overheadProfile runs `cscript run hello --verbose` a few times and times
// each phase from the moment its line appears on stderr.
func (b *bench) overheadProfile(ctx context.Context, h *home, kubectlMedian time.Duration) error {
	const rounds = 5
	phases := map[string][]time.Duration{}
	var order []string
	for range rounds {
		c := b.cscript(h, "run", "hello", "--deck", "bench", "--verbose")
		cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
		cmd.Env = append(os.Environ(), c.Env...)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return err
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return err
		}
		type mark struct {
			phase string
			at    time.Duration
		}
		marks := []mark{{"process start → first event (load library, render, kubeconfig)", 0}}
		sc := bufio.NewScanner(stderr)
		var lines []string
		for sc.Scan() {
			line := sc.Text()
			lines = append(lines, line)
			if phase := verbosePhase(line); phase != "" {
				marks = append(marks, mark{phase, time.Since(start)})
			}
		}
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("cscript run hello --verbose: %w: %s", err, lastLines(strings.Join(lines, "\n"), 5))
		}
		end := time.Since(start)
		for i, m := range marks {
			next := end
			if i+1 < len(marks) {
				next = marks[i+1].at
			}
			if _, seen := phases[m.phase]; !seen {
				order = append(order, m.phase)
			}
			phases[m.phase] = append(phases[m.phase], next-m.at)
		}
	}
	var parts []*Sample
	var sb strings.Builder
	sb.WriteString("Median time of each phase of `cscript run hello --verbose` (from the moment its line appears to the next; " +
		"the last, cleanup, is deleting the Pod and its Secret, and the process exit):\n\n| phase | median |\n|---|---|\n")
	var total time.Duration
	for _, p := range order {
		s := &Sample{Name: p, Times: phases[p]}
		parts = append(parts, s)
		total += s.Median()
		fmt.Fprintf(&sb, "| %s | %s |\n", p, fmtDur(s.Median()))
	}
	fmt.Fprintf(&sb, "| sum of medians | %s |\n\n", fmtDur(total))
	kparts, err := b.kubectlRunProfile(ctx, rounds)
	if err != nil {
		return err
	}
	kubectlName := "kubectl"
	if v, _, _ := strings.Cut(kubectlVersion(b.cfg.Kubectl, b.cfg.Kubeconfig, "clientVersion"), " "); v != "" {
		kubectlName += " " + v
	}
	fmt.Fprintf(&sb, "cscript's Pod runs a placeholder command and the script is exec'd into it once it runs, so the run sees the "+
		"script's exit on the exec stream. `kubectl run --rm -i` (%s median) instead waits, through a watch, until the Pod is Running "+
		"or has finished; a container that exits at once is seen finished only after the kubelet's next relist (PLEG, every second) "+
		"and status update. It then reads the logs (attach is refused for an exited container) and deletes the Pod. "+
		"Neither waits until the Pod object is gone: %s sends the DELETE and exits (its `-v=7` log shows no request after it), "+
		"and cscript deletes the Pod and its Secret and exits. From kubectl's `-v=6` log:\n\n| kubectl phase | median |\n|---|---|\n", fmtDur(kubectlMedian), kubectlName)
	for _, k := range kparts {
		fmt.Fprintf(&sb, "| %s | %s |\n", k.Name, fmtDur(k.Median()))
	}
	b.res.addGroup(Group{Bench: "overhead", Title: "Phases of `cscript run hello --verbose`", Samples: parts})
	b.res.addGroup(Group{Bench: "overhead", Title: "Phases of `kubectl run --rm -i -v=6`", Samples: kparts})
	b.res.addNote(Note{Bench: "overhead", Title: "Where the time of a run goes", Text: sb.String()})
	return nil
}

// kubectlRunProfile runs `kubectl run --rm -i -v=6` and splits its wall time
// at the requests its log shows.
func (b *bench) kubectlRunProfile(ctx context.Context, rounds int) ([]*Sample, error) {
	names := []string{
		"process start → Pod created (POST answered)",
		"Pod created → wait over (Pod running or finished)",
		"wait over → logs read and Pod deleted (DELETE answered)",
		"DELETE answered → process exit",
	}
	out := make([]*Sample, len(names))
	for i, n := range names {
		out[i] = &Sample{Name: n}
	}
	for i := range rounds {
		c := b.kubectl("run", "-n", b.cfg.Namespace, "--rm", "-i", "--restart=Never", "--image="+busybox,
			"--image-pull-policy=IfNotPresent", fmt.Sprintf("bench-v-%d", i), "-v=6", "--", "true")
		start := time.Now()
		t, err := timeCommand(ctx, c)
		if err != nil {
			return nil, err
		}
		end := start.Add(t.Wall)
		var created, waited, deleted time.Time
		for _, line := range strings.Split(t.Stderr, "\n") {
			at, ok := klogTime(line, start)
			if !ok {
				continue
			}
			switch {
			case created.IsZero() && strings.Contains(line, `verb="POST"`) && strings.Contains(line, "/pods"):
				created = at
			case !created.IsZero() && waited.IsZero() && strings.Contains(line, "Stopping reflector"):
				waited = at
			case deleted.IsZero() && strings.Contains(line, `verb="DELETE"`):
				deleted = at
			}
		}
		if created.IsZero() || waited.IsZero() || deleted.IsZero() {
			return nil, fmt.Errorf("kubectl run -v=6: cannot find the create, wait and delete in its log:\n%s", lastLines(t.Stderr, 10))
		}
		for j, d := range []time.Duration{created.Sub(start), waited.Sub(created), deleted.Sub(waited), end.Sub(deleted)} {
			out[j].Times = append(out[j].Times, d)
		}
	}
	return out, nil
}

// klogTime reads the time of a klog line ("I1124 22:25:09.301460 ..."),
// which has no year or zone: those of ref, in local time.
func klogTime(line string, ref time.Time) (time.Time, bool) {
	if len(line) < 21 || (line[0] != 'I' && line[0] != 'W' && line[0] != 'E') {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("0102 15:04:05.000000", line[1:21], time.Local)
	if err != nil {
		return time.Time{}, false
	}
	return t.AddDate(ref.Year(), 0, 0), true
}

// verbosePhase is the phase named by a `--verbose` line ("· PHASE MSG", or
// "·  0.063s PHASE MSG" with the run's own clock), "" for other lines.
func verbosePhase(line string) string {
	rest, ok := strings.CutPrefix(line, "·")
	if !ok {
		return ""
	}
	f := strings.Fields(rest)
	if len(f) > 0 {
		if _, err := time.ParseDuration(f[0]); err == nil {
			f = f[1:]
		}
	}
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
