//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/test/cluster"
)

// These tests drive `cscript ui` in a real headless Chromium (Debian's
// chromium, installed by test/cluster's deps) against the real cluster.
// With CSCRIPT_UI_SCREENSHOTS=DIR (relative to the module root) they save a
// screenshot of every page they visit there (docs/ui).

// uiSlowScript prints a line, then sleeps: its first line must be in the
// page while it still runs.
const uiSlowScript = `name: ui-slow
description: e2e - prints a marker, then sleeps.
image: shell
interpreter: sh
params:
  - name: seconds
    type: int
    default: 30
script: |
  echo "ui-slow-marker"
  echo "to stderr" >&2
  sleep {{ .Params.seconds }}
  echo "ui-slow-done"
`

// uiTickScript prints the time in milliseconds, five times a second.
const uiTickScript = `name: ui-tick
description: e2e - prints its clock for the latency measurement.
image: debian
interpreter: bash
script: |
  for i in $(seq 1 150); do echo "tick $(date +%s%3N)"; sleep 0.1; done
`

// uiProc is a running `cscript ui` and the browser on it.
type uiProc struct {
	t    *testing.T
	h    *cliHome
	p    *cliProc
	url  string // with the token
	base string
	ctx  context.Context
}

// startUI starts `cscript ui` in h and a headless Chromium that opened
// its URL (and so holds the session cookie).
func startUI(t *testing.T, h *cliHome) *uiProc {
	t.Helper()
	p := h.start("ui", "--addr", "127.0.0.1:0")
	u := &uiProc{t: t, h: h, p: p}
	deadline := time.Now().Add(20 * time.Second)
	re := regexp.MustCompile(`cscript ui: (http://\S+)`)
	for {
		if m := re.FindStringSubmatch(p.stdout.String()); m != nil {
			u.url = m[1]
			break
		}
		if p.exited() || time.Now().After(deadline) {
			res := p.wait(time.Second)
			t.Fatalf("cscript ui printed no URL (exit %d)\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	u.base = u.url[:strings.Index(u.url, "/?token=")]
	t.Cleanup(func() {
		if !p.exited() {
			p.signal(syscall.SIGINT)
			p.wait(2 * time.Minute)
		}
	})
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (test/cluster/cluster deps installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("headless", "new"), chromedp.WindowSize(1280, 900), chromedp.Flag("disable-gpu", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 8*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	// The first Run starts the browser, which lives as long as its context:
	// run it on ctx, not on a shorter one.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	u.ctx = ctx
	u.run(chromedp.Navigate(u.url), chromedp.WaitVisible("#scripts", chromedp.ByID))
	return u
}

// run runs browser actions; a failure fails the test with the page's text.
func (u *uiProc) run(actions ...chromedp.Action) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 3*time.Minute)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var text, loc string
		tctx, c2 := context.WithTimeout(u.ctx, 5*time.Second)
		_ = chromedp.Run(tctx, chromedp.Location(&loc), chromedp.Text("body", &text, chromedp.ByQuery))
		c2()
		u.t.Fatalf("browser: %v\nat %s:\n%s\ncscript ui stderr:\n%s", err, loc, text, u.p.stderr.String())
	}
}

// text is the text of the first element sel matches ("" if none).
func (u *uiProc) text(sel string) string {
	u.t.Helper()
	var s string
	u.run(chromedp.Evaluate(fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?e.textContent:""})()`, sel), &s))
	return s
}

// finished waits for the page of a finished run (the live page reloads
// itself at the end) whose record says state.
func (u *uiProc) finished(state string, timeout time.Duration) {
	u.t.Helper()
	u.waitText("body:not(:has(#live[data-running=true])) #record", state, timeout)
}

// waitText waits until the element sel's text contains want.
func (u *uiProc) waitText(sel, want string, timeout time.Duration) string {
	u.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var s string
		ctx, cancel := context.WithTimeout(u.ctx, 5*time.Second)
		err := chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?e.textContent:""})()`, sel), &s))
		cancel()
		if err == nil && strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			var body string
			_ = chromedp.Run(u.ctx, chromedp.Text("body", &body, chromedp.ByQuery))
			u.t.Fatalf("%s does not show %q after %s; it shows %q\npage:\n%s\nstderr:\n%s", sel, want, timeout, s, body, u.p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shot saves a screenshot of the page as NAME.png when
// CSCRIPT_UI_SCREENSHOTS names a directory.
func (u *uiProc) shot(name string) {
	u.t.Helper()
	dir := os.Getenv("CSCRIPT_UI_SCREENSHOTS")
	if dir == "" {
		return
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(moduleRoot(), dir)
	}
	var png []byte
	// A page that is still laying out has no width yet: try again.
	var err error
	for range 10 {
		ctx, cancel := context.WithTimeout(u.ctx, 30*time.Second)
		err = chromedp.Run(ctx, chromedp.WaitReady("body", chromedp.ByQuery), chromedp.FullScreenshot(&png, 100)) // quality 100: PNG
		cancel()
		if err == nil {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err != nil {
		u.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		u.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		u.t.Fatal(err)
	}
}

// runID is the id of the run page the browser is on.
func (u *uiProc) runID() string {
	u.t.Helper()
	var loc string
	u.run(chromedp.Location(&loc))
	i := strings.Index(loc, "/run?id=")
	if i < 0 {
		u.t.Fatalf("not on a run page: %s", loc)
	}
	return loc[i+len("/run?id="):]
}

// openForm opens the render and run form of ref on deck.
func (u *uiProc) openForm(ref, deck string) {
	u.t.Helper()
	u.run(chromedp.Navigate(u.base+"/form?ref="+ref+"&deck="+deck), chromedp.WaitVisible("#runform", chromedp.ByID))
}

// uiHome is a home whose deck local runs in ns (the example deck's name,
// the test's namespace).
func uiHome(t *testing.T, ns string) *cliHome {
	h := newCLIHome(t, ns)
	h.file("decks/local.yaml", fmt.Sprintf("description: the test's namespace\nnamespace: %s\nvalues:\n  greeting: hello\n", ns))
	h.file("ui-slow.yaml", uiSlowScript)
	h.file("ui-tick.yaml", uiTickScript)
	return h
}

// The editor: a mistake shows at its line while typing; fixed, the script
// is saved as one commit of only its file.
func TestUIEditorProblemsSaveCommit(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "ui-edit")
	h := uiHome(t, ns)
	h.must("library", "list") // the home works
	gitCmd := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", h.lib()}, args...)...)
		cmd.Env = h.env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	gitCmd("add", "-A")
	gitCmd("commit", "-qm", "test setup")
	before := strings.TrimSpace(gitCmd("rev-parse", "HEAD"))
	// An unrelated change that the save must not commit.
	h.file("values.yaml", "greeting: untouched\n")

	u := startUI(t, h)
	u.shot("scripts")
	u.run(chromedp.Navigate(u.base+"/write"), chromedp.WaitVisible("#newform", chromedp.ByID))
	u.shot("write-start")
	u.run(chromedp.Navigate(u.base+"/write?new=ui-made&library=local"), chromedp.WaitVisible("#text", chromedp.ByID))
	mistake := "name: ui-made\ndescription: made in the browser\nimage: debian\ninterpreter: bash\nparams:\n  - name: n\n    type: integer\nscript: |\n  echo {{ .Params.n }}\n"
	typeInto := func(text string) {
		u.run(chromedp.SetValue("#text", text, chromedp.ByID),
			chromedp.Evaluate(`document.getElementById("text").dispatchEvent(new Event("input"))`, nil))
	}
	typeInto(mistake)
	got := u.waitText("#problems", "ui-made.yaml:7:", 10*time.Second)
	if !strings.Contains(got, "integer") {
		t.Errorf("the problem at line 7 does not name the bad type: %q", got)
	}
	var marked int
	u.run(chromedp.Evaluate(`document.querySelectorAll("#hl .bad").length`, &marked))
	if marked != 1 {
		t.Errorf("%d lines marked in the editor, want 1 (line 7)", marked)
	}
	u.shot("write-problem")
	typeInto(strings.Replace(mistake, "type: integer", "type: int", 1))
	u.waitText("#problem-count", "0", 10*time.Second)
	u.run(chromedp.Click("#review", chromedp.ByID), chromedp.WaitVisible("#diff", chromedp.ByID))
	if d := u.text("#diff"); !strings.Contains(d, "+     type: int\n") {
		t.Errorf("the diff does not show the new file's lines: %q", d)
	}
	u.shot("write-diff")
	u.run(chromedp.Click("#save", chromedp.ByID), chromedp.WaitVisible("#definition", chromedp.ByID))
	u.shot("script")
	after := strings.TrimSpace(gitCmd("rev-parse", "HEAD"))
	if after == before {
		t.Fatal("no commit was made")
	}
	files := strings.Fields(gitCmd("show", "--name-only", "--format=", "HEAD"))
	if len(files) != 1 || files[0] != "ui-made.yaml" {
		t.Errorf("the commit has files %v, want only ui-made.yaml", files)
	}
	if msg := gitCmd("log", "-1", "--format=%s"); !strings.Contains(msg, "cscript: new script ui-made") {
		t.Errorf("commit message %q", msg)
	}
	if st := gitCmd("status", "--porcelain"); !strings.Contains(st, "values.yaml") {
		t.Errorf("the unrelated change was committed too: status %q", st)
	}
	h.must("validate")
}

// hello from the form; a script's first line in the page while it runs.
func TestUIRunLiveOutput(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "ui-run")
	h := uiHome(t, ns)
	u := startUI(t, h)

	u.openForm("hello", "local")
	u.run(chromedp.SetValue("#p-who", "browser user", chromedp.ByID), chromedp.Click("#preview", chromedp.ByID), chromedp.WaitVisible("#podyaml", chromedp.ByID))
	if r := u.text("#rendered"); !strings.Contains(r, "'browser user'") {
		t.Errorf("the preview does not show the value from the form: %q", r)
	}
	u.shot("form-preview")
	u.run(chromedp.Click("#run", chromedp.ByID))
	u.finished("succeeded", 3*time.Minute)
	if out := u.text("#recorded-output"); !strings.Contains(out, "hello, browser user! This is") {
		t.Errorf("hello's output: %q", out)
	}
	rec := u.h.record(u.runID())
	if rec.State != history.StateSucceeded || rec.Deck != "local" || rec.Namespace != ns {
		t.Errorf("record: %+v", rec)
	}
	u.shot("run-done")

	u.openForm("ui-slow", "local")
	u.run(chromedp.Click("#run", chromedp.ByID))
	u.waitText("#output", "ui-slow-marker", 3*time.Minute)
	id := u.runID()
	state := strings.TrimSpace(u.text("#runstate"))
	if strings.Contains(u.text("#output"), "ui-slow-done") || state != "running" {
		t.Fatalf("the marker came with the end of the script (state %q): not live", state)
	}
	if pods := cliNamespaceObjects(t, cs, ns); len(pods) == 0 {
		t.Error("the marker is shown but no Pod runs")
	}
	var stderrSpans int
	u.run(chromedp.Evaluate(`Array.from(document.querySelectorAll("#output span.err")).filter(function(s){return s.textContent.indexOf("to stderr")>=0}).length`, &stderrSpans))
	u.waitText("#phases", "script", 5*time.Second)
	u.shot("run-live")
	// Closing the tab does not stop the run.
	u.run(chromedp.Navigate(u.base + "/runs"))
	u.shot("runs")
	if rec := u.h.record(id); rec.State != history.StateRunning {
		t.Errorf("after leaving the page the run is %s, want running", rec.State)
	}
	if stderrSpans != 1 {
		t.Errorf("stderr shown %d times as stderr, want 1", stderrSpans)
	}
	// Stopping the server cancels it and cleans up.
	if !u.p.signal(syscall.SIGINT) {
		t.Fatal("cscript ui ended before the signal")
	}
	res := u.p.wait(2 * time.Minute)
	if res.Code != 0 && res.Code != 130 {
		t.Errorf("cscript ui exit %d\nstderr: %s", res.Code, res.Stderr)
	}
	cliAwaitNamespaceEmpty(t, cs, ns, 30*time.Second)
	if rec := u.h.record(id); rec.State != history.StateInterrupted {
		t.Errorf("the run the server left: %s, want interrupted", rec.State)
	}
}

// The delay from the container writing a line to the browser showing it.
func TestUILiveOutputLatency(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "ui-lat")
	h := uiHome(t, ns)
	u := startUI(t, h)
	u.openForm("ui-tick", "local")
	u.run(chromedp.Click("#run", chromedp.ByID))
	u.waitText("#output", "tick 1", 3*time.Minute) // the clock, not the name ui-tick
	time.Sleep(3 * time.Second)
	// app.js keeps when it showed each chunk of output.
	var shown [][]any
	u.run(chromedp.Evaluate(`window.cscriptShown || []`, &shown))
	var delays []float64
	re := regexp.MustCompile(`tick (\d{13})`)
	for _, s := range shown {
		text, _ := s[0].(string)
		at, _ := s[1].(float64)
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			wrote, _ := strconv.ParseFloat(m[1], 64)
			delays = append(delays, at-wrote)
		}
	}
	if len(delays) < 10 {
		var dbg string
		u.run(chromedp.Evaluate(`location.href + " " + typeof window.cscriptShown + " " + JSON.stringify(window.cscriptShown || null).slice(0, 300) + " " + document.getElementById("output").textContent.slice(0, 200)`, &dbg))
		t.Fatalf("only %d lines seen live: %v\n%s", len(delays), shown, dbg)
	}
	sort.Float64s(delays)
	med, p95 := delays[len(delays)/2], delays[len(delays)*95/100]
	t.Logf("UI live output latency over %d lines: median %.0f ms, p95 %.0f ms, max %.0f ms", len(delays), med, p95, delays[len(delays)-1])
	if med > 2000 {
		t.Errorf("median delay %.0f ms from the container to the page: more than 2 s", med)
	}
}

// py-fail's page shows its traceback as one.
func TestUIPyFailTraceback(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "ui-py")
	h := uiHome(t, ns)
	u := startUI(t, h)
	u.openForm("py-fail", "local")
	u.run(chromedp.Click("#run", chromedp.ByID))
	u.finished("failed", 3*time.Minute)
	tb := u.waitText("#traceback", "KeyError", 10*time.Second)
	var frames []string
	u.run(chromedp.Evaluate(`Array.from(document.querySelectorAll("#traceback .tb-func")).map(function(e){return e.textContent})`, &frames))
	if strings.Join(frames, ",") != "<module>,main,load" {
		t.Errorf("traceback frames %v, want <module>, main, load", frames)
	}
	if !strings.Contains(tb, "'missing'") {
		t.Errorf("the traceback does not end with the exception: %q", tb)
	}
	u.shot("run-traceback")
	cliAwaitNamespaceEmpty(t, cs, ns, 20*time.Second)
}

// A protected deck runs only when its name is typed.
func TestUIProtectedDeck(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "ui-prot")
	h := uiHome(t, ns)
	h.file("decks/prod.yaml", cliDeck(ns, "protected: true\nvalues:\n  greeting: careful\n"))
	u := startUI(t, h)
	for _, typed := range []string{"", "local"} {
		u.openForm("hello", "prod")
		if typed != "" {
			u.run(chromedp.SendKeys("#confirm", typed, chromedp.ByID))
		}
		u.run(chromedp.Click("#run", chromedp.ByID))
		msg := u.waitText("#error", "nothing was run", 30*time.Second)
		if !strings.Contains(msg, "prod") {
			t.Errorf("typed %q: %q does not name the deck", typed, msg)
		}
		if typed == "local" {
			u.shot("form-protected")
		}
	}
	if left := cliNamespaceObjects(t, cs, ns); len(left) != 0 {
		t.Errorf("created although refused: %v", left)
	}
	if recs := cliRunRecords(h); len(recs) != 0 {
		t.Errorf("refused runs left records: %+v", recs)
	}
	u.openForm("hello", "prod")
	u.run(chromedp.SendKeys("#confirm", "prod", chromedp.ByID), chromedp.Click("#run", chromedp.ByID))
	u.finished("succeeded", 3*time.Minute)
	if out := u.text("#recorded-output"); !strings.Contains(out, "careful, world!") {
		t.Errorf("output %q", out)
	}
	cliAwaitNamespaceEmpty(t, cs, ns, 20*time.Second)
}

// Cancel: the run stops and leaves no Pod or Secret.
func TestUICancel(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "ui-cancel")
	h := uiHome(t, ns)
	u := startUI(t, h)
	u.openForm("ui-slow", "local")
	u.run(chromedp.SetValue("#p-seconds", "120", chromedp.ByID), chromedp.Click("#run", chromedp.ByID))
	u.waitText("#output", "ui-slow-marker", 3*time.Minute)
	id := u.runID()
	objs := cliNamespaceObjects(t, cs, ns)
	if len(objs) == 0 {
		t.Errorf("while it runs the namespace is empty, want its Pod")
	}
	u.run(chromedp.Click("#cancel", chromedp.ByID))
	u.finished("interrupted", 2*time.Minute)
	gone := cliAwaitNamespaceEmpty(t, cs, ns, 20*time.Second)
	t.Logf("cancelled; namespace empty %s after the record", gone)
	if rec := h.record(id); rec.State != history.StateInterrupted || rec.ExitCode != 130 {
		t.Errorf("record: %s exit %d, want interrupted 130", rec.State, rec.ExitCode)
	}
	if strings.Contains(u.text("#recorded-output"), "ui-slow-done") {
		t.Error("the script went on after cancel")
	}
}

// db-dump offers the dump as a download once it is verified.
func TestUIDbDumpDownload(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "ui-pg")
	h := uiHome(t, ns)
	pg := cliStartPostgres(t, cs, ns)
	pg.wait(t, cs)
	h.file("decks/db.yaml", cliDeck(ns, fmt.Sprintf("values:\n  db:\n    host: %s\n    port: 5432\n    user: postgres\n    name: postgres\n", pg.ip)))
	u := startUI(t, h)
	out := filepath.Join(t.TempDir(), "ui-dump.sql.gz")
	u.openForm("db-dump", "db")
	u.run(chromedp.SetValue("#p-out", out, chromedp.ByID), chromedp.Click("#run", chromedp.ByID))
	u.finished("succeeded", 4*time.Minute)
	links := u.waitText("#downloads", "verified", 5*time.Second)
	u.shot("run-download")
	rec := h.record(u.runID())
	if len(rec.Downloads) != 1 || rec.Downloads[0].Verified == "" || rec.Downloads[0].SHA256 == "" {
		t.Fatalf("downloads %+v", rec.Downloads)
	}
	if !strings.Contains(links, rec.Downloads[0].SHA256) {
		t.Errorf("the page does not show the checksum: %q", links)
	}
	dir := t.TempDir()
	done := make(chan string, 1)
	chromedp.ListenTarget(u.ctx, func(ev any) {
		if e, ok := ev.(*browser.EventDownloadProgress); ok && e.State == browser.DownloadProgressStateCompleted {
			select {
			case done <- e.GUID:
			default:
			}
		}
	})
	u.run(browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllowAndName).WithDownloadPath(dir).WithEventsEnabled(true),
		chromedp.Click("#downloads a.download", chromedp.ByQuery))
	var guid string
	select {
	case guid = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the browser did not finish the download")
	}
	b, err := os.ReadFile(filepath.Join(dir, guid))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != rec.Downloads[0].SHA256 || int64(len(b)) != rec.Downloads[0].Bytes {
		t.Errorf("the browser got %d bytes sha256 %x, the run verified %d bytes %s", len(b), sum, rec.Downloads[0].Bytes, rec.Downloads[0].SHA256)
	}
	if len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("the download is not a gzip dump (%d bytes)", len(b))
	}
}

// A lifecycle create from the resources page; the resource page shows its
// backend id and endpoints.
func TestUILifecycleCreate(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "ui-life")
	h := uiHome(t, ns)
	u := startUI(t, h)
	u.run(chromedp.Navigate(u.base+"/resources?deck=local"), chromedp.WaitVisible("#createform", chromedp.ByID))
	u.run(chromedp.SetValue("#rname", "vm1", chromedp.ByID), chromedp.SetValue("#lifecycle", "local/demo-vm", chromedp.ByID),
		chromedp.SetValue("#plan", "small", chromedp.ByID),
		chromedp.SetValue("#attrs", "owner=ann", chromedp.ByID))
	u.shot("resources")
	u.run(chromedp.Click("#create", chromedp.ByID))
	u.waitText("#runstate", "succeeded", 4*time.Minute)
	u.shot("resource-event")
	u.run(chromedp.Click("#link", chromedp.ByID), chromedp.WaitVisible("#resource", chromedp.ByID))
	id := u.text("#backend-id")
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-`).MatchString(id) {
		t.Errorf("backend id %q, want the create script's UUID", id)
	}
	eps := u.text("#endpoints")
	if !strings.Contains(eps, "ssh://root@"+id[:8]+".demo.invalid") || !strings.Contains(eps, "https://console.demo.invalid/"+id) {
		t.Errorf("endpoints %q do not match backend id %s", eps, id)
	}
	u.shot("resource")
	show := h.must("resource", "show", "vm1", "--deck", "local", "-o", "json")
	if !strings.Contains(show.Stdout, id) {
		t.Errorf("the CLI does not see the resource the UI created: %s", show.Stdout)
	}
}
