//go:build unix

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{5 * ms}, 5 * ms},
		{[]time.Duration{9 * ms, 1 * ms, 5 * ms}, 5 * ms},
		{[]time.Duration{4 * ms, 1 * ms, 2 * ms, 100 * ms}, 3 * ms},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestKlogTime(t *testing.T) {
	ref := time.Date(2026, 11, 24, 22, 0, 0, 0, time.Local)
	got, ok := klogTime(`I1124 22:25:09.301460    8300 round_trippers.go:632] "Response"`, ref)
	want := time.Date(2026, 11, 24, 22, 25, 9, 301460000, time.Local)
	if !ok || !got.Equal(want) {
		t.Errorf("klogTime = %v, %v; want %v", got, ok, want)
	}
	if _, ok := klogTime(`pod "x" deleted`, ref); ok {
		t.Error("klogTime accepted a line that is not klog's")
	}
}

// The generated files have exactly the size asked for, are reused when
// present, and the dump compresses the way the report says.
func TestDataFiles(t *testing.T) {
	dir := t.TempDir()
	const size = 3<<20 + 17
	for _, tc := range []struct {
		name     string
		gen      func(io.Writer, int64) error
		minRatio float64
		maxRatio float64
	}{
		{"random", randomData, 0.99, 1.01},
		{"dump", sqlDump, 3, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			sum, err := dataFile(p, size, tc.gen)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) != size || len(sum) != 64 {
				t.Fatalf("got %d bytes, sum %q; want %d bytes", len(data), sum, size)
			}
			again, err := dataFile(p, size, func(io.Writer, int64) error { t.Fatal("regenerated an existing file"); return nil })
			if err != nil || again != sum {
				t.Fatalf("second call: %q, %v; want %q", again, err, sum)
			}
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			zw.Write(data)
			zw.Close()
			if r := float64(len(data)) / float64(z.Len()); r < tc.minRatio || r > tc.maxRatio {
				t.Errorf("gzip ratio %.2f, want between %g and %g", r, tc.minRatio, tc.maxRatio)
			}
		})
	}
}

func TestReport(t *testing.T) {
	res := &Results{
		Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Rows: []Row{
			{Bench: "cli", Metric: "list", Unit: "ms", CScript: 60, Reference: "kubectl version --client", Ref: 50, Target: "< 50 ms", Met: boolp(false)},
			{Bench: "transfer", Metric: "Upload", Unit: "MB/s", CScript: 180, Reference: "kubectl cp", Ref: 200, HigherBetter: true, Target: "≥ 0.95× kubectl cp", Met: boolp(false)},
			{Bench: "overhead", Metric: "Run", Unit: "s", CScript: 1, Reference: "kubectl run --rm -i", Ref: 2, Target: "≤ 0.8× kubectl run --rm -i", Met: boolp(true)},
			{Bench: "sync", Metric: "Sync", Unit: "ms", CScript: 150, Reference: "git pull", Ref: 120},
		},
	}
	out := string(render(res))
	for _, want := range []string{
		"| Run | 1.00 s | 2.00 s (kubectl run --rm -i) | 0.50× | ≤ 0.8× kubectl run --rm -i | yes |",
		"| Upload | 180 MB/s | 200 MB/s (kubectl cp) | 0.90× | ≥ 0.95× kubectl cp | **no** |",
		"| Sync | 150.0 ms | 120.0 ms (git pull) | 1.25× | none | — |",
		"- **Upload**: 0.90× kubectl cp where the target is ≥ 0.95× kubectl cp (5% short)",
		"- **list**: 60.0 ms against a target of < 50 ms",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// Rows follow the report's order: overhead before transfer before cli.
	if i, j := strings.Index(out, "| Run |"), strings.Index(out, "| Upload |"); i < 0 || j < i {
		t.Errorf("rows out of order:\n%s", out)
	}
}

func TestVerbosePhase(t *testing.T) {
	for line, want := range map[string]string{
		"· create cscript-hello-x":            "create",
		"·  0.063s preflight ":                "preflight",
		"·  1.557s script ":                   "script",
		"▶ hello in bench (context c), run 1": "",
		"plain output":                        "",
	} {
		if got := verbosePhase(line); got != want {
			t.Errorf("verbosePhase(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestQuantile(t *testing.T) {
	ms := time.Millisecond
	ds := []time.Duration{40 * ms, 10 * ms, 30 * ms, 20 * ms, 50 * ms}
	for q, want := range map[float64]time.Duration{0: 10 * ms, 0.25: 20 * ms, 0.5: 30 * ms, 0.75: 40 * ms, 1: 50 * ms, 0.125: 15 * ms} {
		if got := quantile(ds, q); got != want {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if got := quantile[time.Duration](nil, 0.5); got != 0 {
		t.Errorf("quantile of nothing = %v", got)
	}
}

// The baseline section says, per figure, whether this build is within the
// baseline's noise, better or slower; a run without a baseline has none.
func TestReportBaseline(t *testing.T) {
	res := &Results{Config: config{BaselineName: "cscript@abc1234", Baseline: "/w/baseline/bin/cscript"}}
	if out := string(render(res)); strings.Contains(out, "against cscript@") {
		t.Fatalf("a report without a baseline has a baseline section:\n%s", out)
	}
	res.Baseline = []Comparison{
		{Bench: "cli", Metric: "`list`", Unit: "ms", This: 104, Base: 100, Spread: 1.2},
		{Bench: "overhead", Metric: "`run hello`", Unit: "s", This: 1.5, Base: 1, Spread: 1.1},
		{Bench: "rss", Metric: "peak RSS", Unit: "MiB", This: 50, Base: 80, Spread: 1},
	}
	out := string(render(res))
	for _, want := range []string{
		"## This build against cscript@abc1234",
		"| `run hello` | 1.50 s | 1.00 s | 1.50× | 1.10× | **no, slower** |",
		"| peak RSS | 50.0 MiB | 80.0 MiB | 0.62× | one round | better |",
		"| `list` | 104.0 ms | 100.0 ms | 1.04× | 1.20× | yes |",
		"- **Baseline**: cscript@abc1234 (`/w/baseline/bin/cscript`)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// The report's order: overhead before rss before cli.
	if i, j := strings.Index(out, "| `run hello` |"), strings.Index(out, "| `list` |"); i < 0 || j < i {
		t.Errorf("baseline rows out of order:\n%s", out)
	}
}

// interleave keeps each round's peak RSS beside its time, so that a comparison of peaks has the
// baseline's own spread between rounds (not "one round"), and the median of the peaks.
func TestInterleaveKeepsEachRoundsRSS(t *testing.T) {
	const mib = 1 << 20
	peaks := map[string][]int64{"this": {80 * mib, 76 * mib}, "base": {70 * mib, 78 * mib}}
	var order []string
	contender := func(name string) Contender {
		return Contender{Name: name, Run: func(_ context.Context, i int) (*Timed, error) {
			if i < 0 {
				return &Timed{Wall: time.Second, MaxRSS: 500 * mib}, nil // a warmup round: not kept
			}
			order = append(order, name)
			return &Timed{Wall: time.Duration(i+1) * time.Second, MaxRSS: peaks[name][i]}, nil
		}}
	}
	samples, err := interleave(context.Background(), io.Discard, "test", 1, 2, contender("this"), contender("base"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"this", "base", "base", "this"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	for _, s := range samples {
		if !slices.Equal(s.RSS, peaks[s.Name]) {
			t.Errorf("%s: RSS %v, want %v", s.Name, s.RSS, peaks[s.Name])
		}
		if want := slices.Max(peaks[s.Name]); s.MaxRSS != want {
			t.Errorf("%s: MaxRSS %d, want %d", s.Name, s.MaxRSS, want)
		}
	}
	if got, want := quantile(samples[1].RSS, 0.5), int64(74*mib); got != want {
		t.Errorf("median of the baseline's peaks = %d, want %d", got, want)
	}
	// 70 and 78 MiB: the 1st quartile is 72, the 3rd 76.
	if got, want := spread(samples[1].RSS), 76.0/72.0; got != want {
		t.Errorf("spread of the baseline's peaks = %v, want %v", got, want)
	}
	if got := spread([]int64{70 * mib}); got != 1 {
		t.Errorf("spread of one round = %v, want 1", got)
	}
}

// kubectl version -o json also holds kustomizeVersion, a string: decoding the
// whole object into one struct type failed, and the report's method section
// lost the Kubernetes and kubectl versions.
func TestParseKubectlVersion(t *testing.T) {
	out := []byte(`{
  "clientVersion": {"major": "1", "minor": "37", "gitVersion": "v1.37.2", "goVersion": "go1.26.0", "platform": "linux/amd64"},
  "kustomizeVersion": "v5.7.1",
  "serverVersion": {"major": "1", "minor": "37", "gitVersion": "v1.37.2", "goVersion": "go1.26.0", "platform": "linux/amd64"}
}`)
	for _, tc := range []struct{ which, want string }{
		{"clientVersion", "v1.37.2 (go1.26.0)"},
		{"serverVersion", "v1.37.2 (go1.26.0)"},
		{"kustomizeVersion", ""},
		{"missing", ""},
	} {
		if got := parseKubectlVersion(out, tc.which); got != tc.want {
			t.Errorf("parseKubectlVersion(%s) = %q, want %q", tc.which, got, tc.want)
		}
	}
	if got := parseKubectlVersion([]byte("error: no server"), "serverVersion"); got != "" {
		t.Errorf("on a non-JSON output: %q, want \"\"", got)
	}
}
