//go:build unix

// Command bench measures cscript against kubectl (and git) on the project's
// test cluster, side by side in one run, and writes docs/benchmarks.md.
// It runs where the cluster does, on Linux (it reads /proc and the Pod's
// cgroup); it builds on any unix, and not on Windows.
//
// It is run by tools/bench/run.sh (`make bench`), which starts the cluster and
// builds bin/cscript first. Every process it times runs on this machine and
// talks only to loopback and to the cluster's Pods.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cscript-dev/cscript/internal/gctune"
)

// config is what a run of the benchmarks is told.
type config struct {
	Work    string // scratch directory (data files, homes, git repositories)
	CScript string // the cscript binary under test
	// Baseline is an earlier cscript build measured beside CScript in the
	// same rounds (run overhead, the 2 GB run, CLI latency); "" for none.
	Baseline     string
	BaselineName string // how the report names it, e.g. cscript@9eb5237
	Kubectl      string // the reference kubectl
	Kubeconfig   string
	Namespace    string
	Out          string // the markdown report
	Results      string // the raw results (JSON)
	Only         []string

	NRun      int // rounds of run overhead
	NTransfer int // rounds of each 500 MB transfer of random data
	NCompress int // rounds of each 500 MB transfer of the SQL dump
	NCLI      int // rounds of list/render/kubectl version
	NSync     int // rounds of sync vs pull
	Warmup    int // untimed rounds before the CLI rounds

	Size    int64 // bytes of each 500 MB file
	BigSize int64 // bytes of the peak-memory transfer
	Scripts int   // scripts in the generated library
}

var benchmarks = []string{"cli", "sync", "overhead", "transfer", "compress", "rss", "ui"}

func main() {
	// Transfers are measured in this process: give it the garbage collector
	// settings of the cscript binary.
	gctune.Apply()
	var cfg config
	var only string
	var reportOnly bool
	flag.StringVar(&cfg.Work, "work", filepath.Join(os.TempDir(), "cscript-bench"), "scratch `DIR` (data files are kept between runs)")
	flag.StringVar(&cfg.CScript, "cscript", "bin/cscript", "the cscript `BINARY` to measure")
	flag.StringVar(&cfg.Baseline, "baseline", "", "an earlier cscript `BINARY` to measure beside -cscript (run.sh builds it from $BENCH_BASELINE)")
	flag.StringVar(&cfg.BaselineName, "baseline-name", "", "the `NAME` the report gives -baseline (default: cscript@VERSION)")
	flag.StringVar(&cfg.Kubectl, "kubectl", os.Getenv("CSCRIPT_TEST_KUBECTL"), "the reference kubectl `BINARY`")
	flag.StringVar(&cfg.Kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig `FILE` of the test cluster")
	flag.StringVar(&cfg.Namespace, "namespace", "cscript-bench", "`NAMESPACE` for the benchmark's Pods (created and deleted)")
	flag.StringVar(&cfg.Out, "out", "docs/benchmarks.md", "the markdown report to write")
	flag.StringVar(&cfg.Results, "results", "", "also write the raw results as JSON to `FILE` (default: WORK/results.json)")
	flag.StringVar(&only, "only", "", "comma-separated subset of "+strings.Join(benchmarks, ","))
	flag.BoolVar(&reportOnly, "report-only", false, "do not measure: rewrite the report from -results")
	flag.IntVar(&cfg.NRun, "n-run", 10, "rounds of the run-overhead comparison")
	flag.IntVar(&cfg.NTransfer, "n-transfer", 5, "rounds of each transfer of random data")
	flag.IntVar(&cfg.NCompress, "n-compress", 3, "rounds of each transfer of the compressible dump")
	flag.IntVar(&cfg.NCLI, "n-cli", 30, "rounds of the CLI latency comparison")
	flag.IntVar(&cfg.NSync, "n-sync", 10, "rounds of the git sync comparison")
	flag.IntVar(&cfg.Warmup, "warmup", 3, "untimed rounds before the CLI rounds")
	flag.Int64Var(&cfg.Size, "size", 500_000_000, "`BYTES` of the random and the compressible file")
	flag.Int64Var(&cfg.BigSize, "big", 2_000_000_000, "`BYTES` of the peak-memory transfer")
	flag.IntVar(&cfg.Scripts, "scripts", 1000, "scripts in the generated library")
	flag.Parse()
	if cfg.Results == "" {
		cfg.Results = filepath.Join(cfg.Work, "results.json")
	}
	if only != "" {
		cfg.Only = strings.Split(only, ",")
		for _, b := range cfg.Only {
			if !slices.Contains(benchmarks, b) {
				fmt.Fprintf(os.Stderr, "bench: unknown benchmark %q (want some of %s)\n", b, strings.Join(benchmarks, ","))
				os.Exit(2)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, cfg, reportOnly, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func (c *config) wants(b string) bool { return len(c.Only) == 0 || slices.Contains(c.Only, b) }

func run(ctx context.Context, cfg config, reportOnly bool, log io.Writer) error {
	if reportOnly {
		res, err := readResults(cfg.Results)
		if err != nil {
			return err
		}
		return writeReport(cfg.Out, res)
	}
	var err error
	if cfg.CScript, err = filepath.Abs(cfg.CScript); err != nil {
		return err
	}
	if cfg.Baseline != "" {
		if cfg.Baseline, err = filepath.Abs(cfg.Baseline); err != nil {
			return err
		}
		if _, err := os.Stat(cfg.Baseline); err != nil {
			return fmt.Errorf("-baseline: %w", err)
		}
		if cfg.BaselineName == "" {
			cfg.BaselineName = "baseline"
			if f := strings.Fields(output(cfg.Baseline, "version")); len(f) >= 2 {
				cfg.BaselineName = "cscript@" + f[1]
			}
		}
	}
	if cfg.Kubectl == "" || cfg.Kubeconfig == "" {
		return fmt.Errorf("set CSCRIPT_TEST_KUBECTL and KUBECONFIG (eval \"$(test/cluster/cluster env)\")")
	}
	if err := os.MkdirAll(cfg.Work, 0o755); err != nil {
		return err
	}
	res := &Results{Started: time.Now().UTC(), Config: cfg, LoadBefore: loadAvg()}
	// A partial run updates the results of an earlier one.
	if len(cfg.Only) > 0 {
		if old, err := readResults(cfg.Results); err == nil {
			res.merge(old, cfg.Only)
		}
	}
	b, err := newBench(ctx, cfg, res, log)
	if err != nil {
		return err
	}
	defer b.close()
	steps := []struct {
		name string
		f    func(context.Context) error
	}{
		{"cli", b.cli},
		{"sync", b.sync},
		{"overhead", b.overhead},
		{"transfer", b.transfers},
		{"compress", b.compressed},
		{"rss", b.rss},
		{"ui", b.ui},
	}
	// A benchmark that fails is reported as failed; the others still run.
	var failed []string
	for _, s := range steps {
		if !cfg.wants(s.name) {
			continue
		}
		fmt.Fprintf(log, "== %s\n", s.name)
		start := time.Now()
		res.drop(s.name)
		err := s.f(ctx)
		if err != nil && ctx.Err() == nil && clusterGone(err) {
			// Other users of the shared test cluster restart its API server
			// or kubelet (fault tests): wait until it answers and run the
			// benchmark once more, from a fresh namespace.
			fmt.Fprintf(log, "bench: %s: the cluster went away (%v); waiting for it and running %s again\n", s.name, err, s.name)
			if werr := b.reset(ctx); werr != nil {
				return werr
			}
			res.drop(s.name)
			res.Retried = append(res.Retried, s.name)
			err = s.f(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			fmt.Fprintf(log, "bench: %s failed: %v\n", s.name, err)
			res.addNote(Note{Bench: s.name, Title: "This benchmark failed", Text: "```\n" + err.Error() + "\n```\n"})
			failed = append(failed, s.name)
		}
		res.Took[s.name] = time.Since(start).Round(time.Second)
		fmt.Fprintf(log, "   %s took %s\n", s.name, res.Took[s.name])
	}
	res.Env = b.environment(ctx)
	res.Elapsed = time.Since(res.Started).Round(time.Second)
	if err := writeResults(cfg.Results, res); err != nil {
		return err
	}
	if err := writeReport(cfg.Out, res); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("failed: %s (reported in %s)", strings.Join(failed, ", "), cfg.Out)
	}
	return nil
}

func readResults(path string) (*Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var res Results
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &res, nil
}

func writeResults(path string, res *Results) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
