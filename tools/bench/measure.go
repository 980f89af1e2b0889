//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Sample is the set of timings of one contender in one benchmark.
type Sample struct {
	Name  string          `json:"name"`
	Times []time.Duration `json:"times"`
	// MaxRSS is the largest peak resident set size of any of the runs
	// (bytes), when measured; RSS is each round's, in the order of Times.
	MaxRSS int64   `json:"maxRss,omitempty"`
	RSS    []int64 `json:"rss,omitempty"`
	// Lost counts the rounds of an unverified reference whose check found
	// data missing; they were run again and are not in Times.
	Lost int `json:"lost,omitempty"`
}

// Median of the timings (the mean of the two middle ones for an even count).
func (s *Sample) Median() time.Duration { return median(s.Times) }

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// quantile is the q-quantile of ds (0 ≤ q ≤ 1), interpolating between the
// two nearest timings; 0 for none.
func quantile[T ~int64](ds []T, q float64) T {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[i] + T(float64(s[i+1]-s[i])*(pos-float64(i)))
}

// spread is the 3rd quartile of xs ÷ the 1st: how much a contender's own
// rounds differ; 1 for a single round.
func spread[T ~int64](xs []T) float64 {
	if q1 := quantile(xs, 0.25); len(xs) > 1 && q1 > 0 {
		return float64(quantile(xs, 0.75)) / float64(q1)
	}
	return 1
}

// Min and Max of the timings.
func (s *Sample) Min() time.Duration { return slices.Min(s.Times) }
func (s *Sample) Max() time.Duration { return slices.Max(s.Times) }

// Command is one process to time.
type Command struct {
	Args   []string
	Env    []string // added to the environment
	Dir    string
	Stdin  string // file to read stdin from ("" = /dev/null)
	Stdout string // file to write stdout to ("" = discarded, its tail kept for errors)
}

// Timed is the outcome of one timed process.
type Timed struct {
	Wall   time.Duration
	MaxRSS int64         // bytes (getrusage ru_maxrss of the child)
	CPU    time.Duration // user + system time of the child
	Stdout string
	Stderr string
}

// timeCommand runs c once and measures its wall time from start to exit and
// its peak RSS. A non-zero exit is an error carrying the end of stderr.
func timeCommand(ctx context.Context, c Command) (*Timed, error) {
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limited{buf: &stdout, max: 4 << 20}
	cmd.Stderr = &limited{buf: &stderr, max: 64 << 10}
	if c.Stdout != "" {
		f, err := os.Create(c.Stdout)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		cmd.Stdout = f
	}
	if c.Stdin != "" {
		f, err := os.Open(c.Stdin)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	t := &Timed{Wall: wall, Stdout: stdout.String(), Stderr: stderr.String()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			t.MaxRSS = ru.Maxrss * 1024
			t.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if err != nil {
		return t, fmt.Errorf("%s: %w: %s", strings.Join(c.Args, " "), err, lastLines(stderr.String(), 5))
	}
	return t, nil
}

// limited keeps the first max bytes written to it and discards the rest.
type limited struct {
	buf *bytes.Buffer
	max int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

var _ io.Writer = (*limited)(nil)

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// Contender is one side of a comparison: prepare (untimed) and the timed step.
type Contender struct {
	Name    string
	Prepare func(ctx context.Context, i int) error // may be nil
	Run     func(ctx context.Context, i int) (*Timed, error)
	Check   func(ctx context.Context, i int) error // untimed, after Run; may be nil
	// Unverified marks a reference that does not check what it moved
	// (kubectl): a round whose Check fails is counted in Sample.Lost and run
	// again, up to three times, instead of failing the benchmark.
	Unverified bool
}

// interleave runs warmup rounds, then n rounds in which every contender runs
// once (the order rotating each round, so that neither side always runs
// first after the other's cache effects), and returns one Sample per contender.
func interleave(ctx context.Context, log io.Writer, label string, warmup, n int, cs ...Contender) ([]*Sample, error) {
	samples := make([]*Sample, len(cs))
	for i, c := range cs {
		samples[i] = &Sample{Name: c.Name}
	}
	for round := -warmup; round < n; round++ {
		for k := range cs {
			j := (k + max(round, 0)) % len(cs)
			c := cs[j]
			if c.Prepare != nil {
				if err := c.Prepare(ctx, round); err != nil {
					return nil, fmt.Errorf("%s: prepare %s: %w", label, c.Name, err)
				}
			}
			t, err := c.Run(ctx, round)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", label, c.Name, err)
			}
			for attempt := 1; c.Check != nil; attempt++ {
				err := c.Check(ctx, round)
				if err == nil {
					break
				}
				if !c.Unverified || attempt > 3 {
					return nil, fmt.Errorf("%s: check %s: %w", label, c.Name, err)
				}
				samples[j].Lost++
				fmt.Fprintf(log, "  %-28s %-34s round %d lost data (%v): again\n", label, c.Name, round+1, err)
				if c.Prepare != nil {
					if err := c.Prepare(ctx, round); err != nil {
						return nil, fmt.Errorf("%s: prepare %s: %w", label, c.Name, err)
					}
				}
				if t, err = c.Run(ctx, round); err != nil {
					return nil, fmt.Errorf("%s: %s: %w", label, c.Name, err)
				}
			}
			if round < 0 {
				continue
			}
			samples[j].Times = append(samples[j].Times, t.Wall)
			if t.MaxRSS > 0 {
				samples[j].MaxRSS = max(samples[j].MaxRSS, t.MaxRSS)
				samples[j].RSS = append(samples[j].RSS, t.MaxRSS)
			}
			fmt.Fprintf(log, "  %-28s %-34s round %d: %s\n", label, c.Name, round+1, fmtDur(t.Wall))
		}
	}
	return samples, nil
}

// timeFunc times an in-process step.
func timeFunc(f func() error) (*Timed, error) {
	start := time.Now()
	err := f()
	return &Timed{Wall: time.Since(start)}, err
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}
