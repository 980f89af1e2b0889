package transfer

import (
	"fmt"
	"io"
	"time"
)

// progress draws a one-line bar on a terminal: label, bytes so far (of the
// total when known), rate and time left, redrawn at most every 100 ms with a
// carriage return. It is small on purpose: the agent binary links this
// package, and a progress-bar library would pull net/http into it.
type progress struct {
	out   io.Writer // nil: draw nothing
	meter Meter     // told the bytes instead of a bar being drawn
	label string
	total int64 // -1: unknown
	n     int64
	start time.Time
	last  time.Time
	width int // of the last line drawn, to blank what a shorter line leaves
}

const progressEvery = 100 * time.Millisecond

// Meter is an Options.Progress that is told the bytes moved so far (at
// most every 100 ms, and once at the end) instead of a bar being drawn on
// it: for a caller that shows progress its own way (the web UI).
type Meter interface {
	io.Writer
	// Meter is told the bytes so far and the total (-1: unknown); done
	// is true once, at the end, with ok false when the transfer failed.
	Meter(n, total int64, done, ok bool)
}

// newProgress starts a bar of total bytes (-1: unknown) on out.
func newProgress(out io.Writer, total int64, label string) *progress {
	p := &progress{out: out, label: label, total: total, start: time.Now()}
	if m, ok := out.(Meter); ok {
		p.meter = m
	}
	if out != nil {
		p.draw(time.Now())
	}
	return p
}

func (p *progress) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.out != nil {
		if now := time.Now(); now.Sub(p.last) >= progressEvery {
			p.draw(now)
		}
	}
	return len(b), nil
}

// setTotal sets the expected total once it is known.
func (p *progress) setTotal(n int64) { p.total = n }

// done draws the final state and ends the line; on failure the bar stays
// where it stopped.
func (p *progress) done(ok bool) {
	if p.out == nil {
		return
	}
	if ok && p.total < 0 {
		p.total = p.n
	}
	if p.meter != nil {
		p.meter.Meter(p.n, p.total, true, ok)
		p.out = nil
		return
	}
	p.draw(time.Now())
	_, _ = io.WriteString(p.out, "\n")
	p.out = nil
}

func (p *progress) draw(now time.Time) {
	p.last = now
	if p.meter != nil {
		p.meter.Meter(p.n, p.total, false, false)
		return
	}
	line := p.line(now.Sub(p.start))
	pad := p.width - len(line)
	p.width = len(line)
	if pad < 0 {
		pad = 0
	}
	_, _ = fmt.Fprintf(p.out, "\r%s%*s", line, pad, "")
}

// line is the bar's text after elapsed time.
func (p *progress) line(elapsed time.Duration) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(p.n) / s
	}
	if p.total < 0 {
		return fmt.Sprintf("%s  %s  %s/s  %s", p.label, iec(p.n), iec(int64(rate)), elapsed.Round(time.Second))
	}
	pct := 100.0
	if p.total > 0 {
		pct = float64(p.n) * 100 / float64(p.total)
	}
	const width = 30
	fill := min(width, int(pct*width/100))
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = ' '
		if i < fill {
			bar[i] = '='
		}
	}
	eta := "?"
	if rate > 0 {
		eta = time.Duration(float64(p.total-p.n) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("%s %3.0f%% [%s] %s / %s  %s/s  ETA %s", p.label, pct, bar, iec(p.n), iec(p.total), iec(int64(rate)), eta)
}

// iec formats n bytes with binary units: 512 B, 1.5 KiB, 12.3 MiB.
func iec(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
