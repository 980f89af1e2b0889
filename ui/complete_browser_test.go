package ui

import (
	"context"
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/cscript-dev/cscript/store"
)

// browser starts Debian's headless Chromium; a machine without it fails
// the test (it is part of the project's setup), it is never skipped.
func browser(t *testing.T) context.Context {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium (Debian's package, /usr/bin/chromium) is not installed: test/cluster/cluster deps installs it: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Flag("headless", "new"), chromedp.WindowSize(1280, 900), chromedp.Flag("disable-gpu", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// offered is what the completion list shows: each option's name and the
// whole text of the list ("" names when it is closed).
func offered(t *testing.T, ctx context.Context) ([]string, string) {
	t.Helper()
	var out struct {
		Names []string `json:"names"`
		Text  string   `json:"text"`
	}
	var raw string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`JSON.stringify((function(){
		var b=document.getElementById("complete");
		if(!b||b.hidden){return {names:[],text:""};}
		return {names:Array.from(b.querySelectorAll(".opt")).map(function(o){return o.dataset.name}),text:b.textContent};
	})())`, &raw)); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatal(err)
	}
	return out.Names, out.Text
}

// waitOffered waits until the list offers want first.
func waitOffered(t *testing.T, ctx context.Context, want string) ([]string, string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		names, text := offered(t, ctx)
		if len(names) > 0 && names[0] == want {
			return names, text
		}
		if time.Now().After(deadline) {
			t.Fatalf("the completion list offers %q (%q), want %q first", names, text, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func editorText(t *testing.T, ctx context.Context) string {
	t.Helper()
	var s string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.getElementById("text").value`, &s)); err != nil {
		t.Fatal(err)
	}
	return s
}

// enter presses Enter as a keyboard does (Puppeteer's way): one keyDown
// that carries the text "\r", so a handled (prevented) keydown inserts no
// newline. kb.Enter sends a separate char event that a page cannot
// prevent.
var enter = chromedp.ActionFunc(func(ctx context.Context) error {
	down := input.DispatchKeyEvent(input.KeyDown).WithKey("Enter").WithCode("Enter").
		WithWindowsVirtualKeyCode(13).WithNativeVirtualKeyCode(13).WithText("\r").WithUnmodifiedText("\r")
	if err := down.Do(ctx); err != nil {
		return err
	}
	return input.DispatchKeyEvent(input.KeyUp).WithKey("Enter").WithCode("Enter").
		WithWindowsVirtualKeyCode(13).WithNativeVirtualKeyCode(13).Do(ctx)
})

// TestUIEditorCompletion types in the write page's editor in a real
// headless Chromium: the schema's fields are offered where the caret is,
// with their descriptions; Tab, Enter, the arrows and Escape work; an
// enum's values follow "type: ".
func TestUIEditorCompletion(t *testing.T) {
	testHome(t)
	srv, base := testServer(t)
	ctx := browser(t)

	var root map[string]any
	if err := json.Unmarshal(store.ScriptSchema(), &root); err != nil {
		t.Fatal(err)
	}
	schema := map[string]schemaFact{}
	rawFields(root, root, "", schema, 0)

	run := func(actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			var body string
			_ = chromedp.Run(ctx, chromedp.Text("body", &body, chromedp.ByQuery))
			t.Fatalf("browser: %v\npage:\n%s", err, body)
		}
	}
	run(chromedp.Navigate(srv.URL()), chromedp.WaitVisible("#scripts", chromedp.ByID),
		chromedp.Navigate(base+"/write?new=ui-complete"), chromedp.WaitVisible("#text", chromedp.ByID),
		// A known start, the caret at the end, once the data is loaded.
		chromedp.WaitReady(`#text[data-completion="ready"]`, chromedp.ByQuery),
		// Any Content-Security-Policy violation from here on is kept.
		chromedp.Evaluate(`window.cspViolations=[];document.addEventListener("securitypolicyviolation",function(e){window.cspViolations.push(e.violatedDirective+" "+e.blockedURI)});true`, nil),
		chromedp.Evaluate(`(function(){var t=document.getElementById("text");t.value="name: ui-complete\nimage: shell\n";
			t.focus();t.setSelectionRange(t.value.length,t.value.length);return true})()`, nil),
	)

	// Top level: "para" offers params with its description; Tab accepts.
	run(chromedp.SendKeys("#text", "para", chromedp.ByID))
	names, text := waitOffered(t, ctx, "params")
	if !strings.Contains(text, schema["params"].Description) || schema["params"].Description == "" {
		t.Errorf("the list %q does not show params' description %q", text, schema["params"].Description)
	}
	if len(names) != 1 {
		t.Errorf("top level, \"para\": offered %q, want only params", names)
	}
	run(chromedp.SendKeys("#text", kb.Tab, chromedp.ByID))
	if got := editorText(t, ctx); !strings.HasSuffix(got, "\nparams:\n  - ") {
		t.Fatalf("after Tab the text is %q, want it to end in params: and a list item", got)
	}

	// Inside a params item: "ty" offers type (not the top level's fields).
	run(chromedp.SendKeys("#text", "name: region", chromedp.ByID), enter, chromedp.SendKeys("#text", "    ty", chromedp.ByID))
	names, text = waitOffered(t, ctx, "type")
	if !strings.Contains(text, schema["params.type"].Description) {
		t.Errorf("the list %q does not show type's description %q", text, schema["params.type"].Description)
	}
	if len(names) != 1 {
		t.Errorf("in a params item, \"ty\": offered %q, want only type", names)
	}
	// Enter accepts; after "type: " the enum's values are offered.
	run(enter)
	names, _ = waitOffered(t, ctx, schema["params.type"].Values[0])
	if !reflect.DeepEqual(names, schema["params.type"].Values) || !strings.Contains(strings.Join(names, " "), "string int") {
		t.Errorf("after type: the list offers %q, want the enum %q", names, schema["params.type"].Values)
	}
	// The arrows move, Enter takes the value.
	run(chromedp.SendKeys("#text", kb.ArrowDown+kb.ArrowDown+kb.ArrowUp, chromedp.ByID), enter)
	if got := editorText(t, ctx); !strings.HasSuffix(got, "  - name: region\n    type: "+schema["params.type"].Values[1]) {
		t.Fatalf("after ArrowDown ArrowDown ArrowUp Enter the text is %q, want type: %s", got, schema["params.type"].Values[1])
	}
	if names, _ := offered(t, ctx); len(names) != 0 {
		t.Errorf("the list stays open after a value was taken: %q", names)
	}

	// Escape closes the list; what was typed stays.
	run(enter, chromedp.SendKeys("#text", "    de", chromedp.ByID))
	names, _ = waitOffered(t, ctx, "default")
	if !reflect.DeepEqual(names, []string{"default", "description"}) {
		t.Errorf("in a params item, \"de\": offered %q, want default and description", names)
	}
	run(chromedp.SendKeys("#text", kb.Escape, chromedp.ByID))
	if names, _ := offered(t, ctx); len(names) != 0 {
		t.Errorf("Escape left the list open: %q", names)
	}

	// files.upload items: from and to, nested two levels down.
	run(chromedp.SendKeys("#text", "scription: x", chromedp.ByID), enter, chromedp.SendKeys("#text", "fil", chromedp.ByID))
	waitOffered(t, ctx, "files")
	run(chromedp.SendKeys("#text", kb.Tab+"up", chromedp.ByID))
	waitOffered(t, ctx, "upload")
	run(chromedp.SendKeys("#text", kb.Tab+"t", chromedp.ByID))
	_, text = waitOffered(t, ctx, "to")
	if !strings.Contains(text, schema["files.upload.to"].Description) {
		t.Errorf("files.upload item: the list %q lacks to's description", text)
	}
	run(chromedp.SendKeys("#text", kb.Tab, chromedp.ByID))
	want := "name: ui-complete\nimage: shell\nparams:\n  - name: region\n    type: int\n    description: x\nfiles:\n  upload:\n    - to: "
	if got := editorText(t, ctx); got != want {
		t.Errorf("the text is\n%s\nwant\n%s", got, want)
	}
	var violations []string
	run(chromedp.Evaluate(`window.cspViolations`, &violations))
	if len(violations) > 0 {
		t.Errorf("the strict Content-Security-Policy was violated: %q", violations)
	}
}
