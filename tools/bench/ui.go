//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// uiTickScript prints its clock in milliseconds ten times a second.
const uiTickScript = `name: ui-tick
description: Prints its clock, for the UI's live output latency.
image: debian
interpreter: bash
script: |
  for i in $(seq 1 100); do echo "tick $(date +%s%3N)"; sleep 0.1; done
`

// uiServer is a running `cscript ui` with a session.
type uiServer struct {
	cmd    *exec.Cmd
	base   string
	client *http.Client
}

func (b *bench) startUI(ctx context.Context, h *home) (*uiServer, error) {
	c := b.cscript(h, "ui", "--addr", "127.0.0.1:0")
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Env = append(os.Environ(), c.Env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("cscript ui printed no URL: %v", err)
	}
	go io.Copy(io.Discard, out)
	u := strings.TrimSpace(strings.TrimPrefix(line, "cscript ui: "))
	jar, _ := cookiejar.New(nil)
	s := &uiServer{cmd: cmd, base: u[:strings.Index(u, "/?token=")],
		client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, err := s.client.Get(u)
	if err != nil {
		s.stop()
		return nil, err
	}
	resp.Body.Close()
	return s, nil
}

// stop stops the server as Ctrl-C does.
func (s *uiServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		s.cmd.Process.Kill()
	}
}

var serverTimingRE = regexp.MustCompile(`dur=([0-9.]+)`)

// ui measures the web UI: the scripts page of the generated library (the
// server's own time, from its Server-Timing header, and the client's), and
// the delay from a container writing a line to the page's event stream
// delivering it.
func (b *bench) ui(ctx context.Context) error {
	h, err := b.generated(ctx)
	if err != nil {
		return err
	}
	srv, err := b.startUI(ctx, h)
	if err != nil {
		return err
	}
	var server, wall []float64
	n := b.cfg.NCLI
	for i := range n + b.cfg.Warmup {
		start := time.Now()
		resp, err := srv.client.Get(srv.base + "/scripts")
		if err != nil {
			srv.stop()
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != http.StatusOK || strings.Count(string(body), "gen-") < b.cfg.Scripts {
			srv.stop()
			return fmt.Errorf("the scripts page: %s, %d scripts shown, want %d", resp.Status, strings.Count(string(body), "gen-"), b.cfg.Scripts)
		}
		m := serverTimingRE.FindStringSubmatch(resp.Header.Get("Server-Timing"))
		if m == nil {
			srv.stop()
			return fmt.Errorf("the scripts page has no Server-Timing header")
		}
		if i < b.cfg.Warmup {
			continue
		}
		d, _ := strconv.ParseFloat(m[1], 64)
		server = append(server, d)
		wall = append(wall, float64(took)/float64(time.Millisecond))
	}
	srv.stop()
	slices.Sort(server)
	slices.Sort(wall)
	med := server[len(server)/2]
	b.res.addRow(Row{Bench: "ui", Metric: fmt.Sprintf("UI scripts page, %d scripts, server time", b.cfg.Scripts), Unit: "ms", CScript: med,
		Target: "≤ 100 ms", Met: boolp(med <= 100)})
	text := fmt.Sprintf("`GET /scripts` of `cscript ui` on the generated %d-script library, %d rounds after %d warm-up: server time "+
		"(the page's `Server-Timing` header: load the catalog from the load cache, the run history and the libraries' heads, render "+
		"the template, redact) median %.1f ms (min %.1f, max %.1f); as the client sees it (loopback HTTP) median %.1f ms.\n",
		b.cfg.Scripts, n, b.cfg.Warmup, med, server[0], server[len(server)-1], wall[len(wall)/2])
	if lat, err := b.uiLatency(ctx); err != nil {
		text += fmt.Sprintf("\nThe live output latency could not be measured: %v\n", err)
	} else {
		slices.Sort(lat)
		lm := lat[len(lat)/2]
		b.res.addRow(Row{Bench: "ui", Metric: "UI live output, container line → event stream client, median", Unit: "ms", CScript: lm})
		text += fmt.Sprintf("\nLive output: the script `ui-tick` prints its clock (`date +%%s%%3N`) ten times a second in a Pod of the "+
			"benchmark's namespace; a client of the run page's event stream (`/run/events`, what the page's EventSource reads) takes "+
			"each line's arrival time minus the time the container wrote: over %d lines median %.0f ms, p95 %.0f ms, max %.0f ms. "+
			"The way is the kubelet's exec stream to cscript, then the server-sent event; the browser's part (parse and append to "+
			"the page) is measured by the e2e test `TestUILiveOutputLatency` in headless Chromium.\n",
			len(lat), lm, lat[len(lat)*95/100], lat[len(lat)-1])
	}
	b.res.addNote(Note{Bench: "ui", Title: "What was measured", Text: text})
	return nil
}

// uiLatency runs ui-tick through the UI and reads its event stream.
func (b *bench) uiLatency(ctx context.Context) ([]float64, error) {
	h, err := b.runLibrary(ctx)
	if err != nil {
		return nil, err
	}
	lib := filepath.Join(h.dir, "library")
	if _, err := os.Stat(filepath.Join(lib, "ui-tick.yaml")); err != nil {
		if err := os.WriteFile(filepath.Join(lib, "ui-tick.yaml"), []byte(uiTickScript), 0o644); err != nil {
			return nil, err
		}
		if _, err := do(ctx, gitCmd(lib, "add", "ui-tick.yaml")); err != nil {
			return nil, err
		}
		if _, err := do(ctx, gitCmd(lib, "commit", "-qm", "ui-tick")); err != nil {
			return nil, err
		}
	}
	srv, err := b.startUI(ctx, h)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.base+"/run", strings.NewReader(url.Values{"ref": {"ui-tick"}, "deck": {"bench"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.base)
	resp, err := srv.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/run?id=") {
		return nil, fmt.Errorf("starting ui-tick: %s %s", resp.Status, lastLines(string(body), 5))
	}
	ectx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	req, _ = http.NewRequestWithContext(ectx, "GET", srv.base+"/run/events?id="+strings.TrimPrefix(loc, "/run?id="), nil)
	resp, err = srv.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	tick := regexp.MustCompile(`tick (\d{13})`)
	var lat []float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		now := float64(time.Now().UnixMicro()) / 1000
		var e struct{ Kind, Text string }
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		if e.Kind == "end" {
			break
		}
		for _, m := range tick.FindAllStringSubmatch(e.Text, -1) {
			wrote, _ := strconv.ParseFloat(m[1], 64)
			lat = append(lat, now-wrote)
		}
	}
	if len(lat) < 10 {
		return nil, fmt.Errorf("only %d lines came through the event stream", len(lat))
	}
	return lat, nil
}
