//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/test/cluster"
)

// progressLog is an action.Progress that keeps what it is told, as the web
// UI's event stream would, and calls onOutput with the output so far.
type progressLog struct {
	mu       sync.Mutex
	starts   []action.RunStart
	phases   []string
	out      map[action.Stream]string
	onOutput func(all string)
}

func (p *progressLog) Started(s action.RunStart) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starts = append(p.starts, s)
}

func (p *progressLog) Phase(e action.PhaseEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phases = append(p.phases, e.Phase)
}

func (p *progressLog) Output(s action.Stream, b []byte) {
	p.mu.Lock()
	if p.out == nil {
		p.out = map[action.Stream]string{}
	}
	p.out[s] += string(b)
	all := p.out[action.Stdout] + p.out[action.Stderr]
	p.mu.Unlock()
	if p.onOutput != nil {
		p.onOutput(all)
	}
}

func (p *progressLog) Transfer(string) io.Writer { return nil }

// The application layer on the real cluster and dockerd, as the web UI
// calls it: a run's output comes through Progress, stdout and stderr apart
// (Pod mode), its record says how it ended, and cancelling the context
// stops it as Ctrl-C does: interrupted, nothing left behind.
func TestActionExecuteRun(t *testing.T) {
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "e2e-action")
	root := t.TempDir()
	for _, x := range []string{"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"} {
		t.Setenv(x, filepath.Join(root, strings.ToLower(strings.TrimPrefix(x, "XDG_"))))
	}
	t.Setenv("HOME", root)
	t.Setenv("KUBECONFIG", cluster.Kubeconfig(t))
	t.Setenv("DOCKER_HOST", cluster.DockerHost(t))
	c := &action.Configuration{Secrets: redact.New(), Host: "e2e"}
	lib, err := c.InitLibrary(action.InitOptions{Empty: true})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(lib.Dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("decks/kube.yaml", cliDeck(ns, ""))
	write("decks/dock.yaml", "backend: docker\n")
	write("fail.yaml", fmt.Sprintf("name: fail\nimage: %s\ninterpreter: sh\nscript: |\n  echo to-stdout\n  echo to-stderr >&2\n  exit 3\n", cluster.BusyboxImage))
	write("sleep.yaml", fmt.Sprintf("name: sleep\nimage: %s\ninterpreter: sh\nscript: |\n  echo sleep-marker\n  sleep 300\n", cluster.BusyboxImage))

	for _, deck := range []string{"kube", "dock"} {
		t.Run(deck, func(t *testing.T) {
			ctx := context.Background()
			plan, err := c.PlanRun(ctx, action.RunOptions{Ref: "fail", Values: action.Values{Deck: deck}})
			if err != nil {
				t.Fatal(err)
			}
			var p progressLog
			res, err := c.ExecuteRun(ctx, plan, &p)
			var se *runner.ScriptError
			if !errors.As(err, &se) || se.Code != 3 || res == nil || res.Record.State != history.StateFailed || res.Record.ExitCode != 3 {
				t.Fatalf("exit 3: %v, %+v", err, res)
			}
			if len(p.starts) != 1 || p.starts[0].ID != plan.Record.ID || p.starts[0].Deck != deck {
				t.Errorf("Started: %+v", p.starts)
			}
			if !strings.Contains(p.out[action.Stdout]+p.out[action.Stderr], "to-stdout") || !strings.Contains(p.out[action.Stdout]+p.out[action.Stderr], "to-stderr") {
				t.Errorf("output: %q", p.out)
			}
			if deck == "kube" {
				if p.out[action.Stdout] != "to-stdout\n" || p.out[action.Stderr] != "to-stderr\n" {
					t.Errorf("pod mode keeps stdout and stderr apart: %q", p.out)
				}
				if got := strings.Join(p.phases, " "); !strings.Contains(got, "create") || !strings.Contains(got, "script") || !strings.Contains(got, "cleanup") {
					t.Errorf("phases: %s", got)
				}
			}
			runs, err := c.ListRuns(0)
			if err != nil || len(runs) == 0 || runs[0].ID != plan.Record.ID || runs[0].State != history.StateFailed {
				t.Errorf("ListRuns: %v, %+v", err, runs)
			}

			// Cancelled once the script has started: interrupted, cleaned up.
			plan, err = c.PlanRun(ctx, action.RunOptions{Ref: "sleep", Values: action.Values{Deck: deck}})
			if err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			p = progressLog{onOutput: func(all string) {
				if strings.Contains(all, "sleep-marker") {
					cancel()
				}
			}}
			start := time.Now()
			res, err = c.ExecuteRun(cctx, plan, &p)
			var ie *runner.InterruptedError
			if !errors.As(err, &ie) || res == nil || res.Record.State != history.StateInterrupted {
				t.Fatalf("cancelled: %v, %+v", err, res)
			}
			if d := time.Since(start); d > 2*time.Minute {
				t.Errorf("the cancelled run took %s", d)
			}
			if deck == "kube" {
				assertGone(t, cs, ns, plan.Record.ID)
			} else if left := dockerLeftovers(t, dockerEngine(t), plan.Record.ID); len(left) > 0 {
				t.Errorf("containers left behind: %v", left)
			}
		})
	}
}
