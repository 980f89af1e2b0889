package ui

import (
	"bytes"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/store"
)

// testHome points cscript's directories at a fresh temporary home with
// the example library.
func testHome(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for k, v := range map[string]string{
		"HOME": root, "XDG_CONFIG_HOME": filepath.Join(root, "config"), "XDG_DATA_HOME": filepath.Join(root, "data"),
		"XDG_STATE_HOME": filepath.Join(root, "state"), "XDG_CACHE_HOME": filepath.Join(root, "cache"),
		"GIT_CONFIG_GLOBAL": filepath.Join(root, "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1", "KUBECONFIG": filepath.Join(root, "no-kubeconfig"),
	} {
		t.Setenv(k, v)
	}
	if err := os.WriteFile(filepath.Join(root, "gitconfig"), []byte("[user]\n\tname = UI Test\n\temail = ui@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (&action.Configuration{}).InitLibrary(action.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	return root
}

// testServer starts a server on loopback and returns it with its base URL.
func testServer(t *testing.T) (*Server, string) {
	t.Helper()
	srv, err := New(Config{Paths: store.DefaultPaths})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(10 * time.Second) })
	return srv, "http://" + ln.Addr().String()
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// session is a client that exchanged the token for the cookie.
func session(t *testing.T, srv *Server) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: noRedirect}
	resp, err := c.Get(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("token exchange: %s", resp.Status)
	}
	return c
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestNoTokenRefused(t *testing.T) {
	testHome(t)
	srv, base := testServer(t)
	c := &http.Client{CheckRedirect: noRedirect}
	for _, u := range []string{base + "/scripts", base + "/", base + "/static/app.js", base + "/?token=wrong" + srv.token[5:], base + "/run/events?id=x"} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b := body(t, resp)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the session: %s, want 401 Unauthorized", u, resp.Status)
		}
		if len(resp.Cookies()) > 0 || strings.Contains(b, srv.token) || strings.Contains(b, srv.session) {
			t.Errorf("GET %s: a refused request got a cookie or the token", u)
		}
	}
	// A forged cookie is refused too.
	req, _ := http.NewRequest("GET", base+"/scripts", nil)
	req.AddCookie(&http.Cookie{Name: srv.cookie, Value: srv.token})
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body(t, resp); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a cookie that is not the session: %s, want 401", resp.Status)
	}
}

func TestTokenExchangedForStrictCookie(t *testing.T) {
	testHome(t)
	srv, base := testServer(t)
	c := &http.Client{CheckRedirect: noRedirect}
	resp, err := c.Get(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp)
	if resp.StatusCode != http.StatusSeeOther || strings.Contains(resp.Header.Get("Location"), "token") {
		t.Fatalf("token URL: %s to %q, want 303 to the page without the token", resp.Status, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Value == srv.token {
		t.Fatalf("cookie %+v: want one HttpOnly SameSite=Strict session cookie that is not the token", cookies)
	}
	req, _ := http.NewRequest("GET", base+"/scripts", nil)
	req.AddCookie(cookies[0])
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(b, "hello") {
		t.Fatalf("scripts page with the cookie: %s\n%s", resp.Status, b)
	}
}

func TestWrongHostRefused(t *testing.T) {
	testHome(t)
	srv, base := testServer(t)
	c := session(t, srv)
	u, _ := url.Parse(base)
	_, port, _ := net.SplitHostPort(u.Host)
	cookies := c.Jar.Cookies(u)
	for _, host := range []string{"evil.example:" + port, "evil.example", "127.0.0.1:1", "localhost.evil.example:" + port} {
		req, _ := http.NewRequest("GET", base+"/scripts", nil)
		req.Host = host
		req.AddCookie(cookies[0])
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if body(t, resp); resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host %s (DNS rebinding): %s, want 421", host, resp.Status)
		}
	}
	for _, host := range []string{"localhost:" + port, u.Host} {
		req, _ := http.NewRequest("GET", base+"/scripts", nil)
		req.Host = host
		req.AddCookie(cookies[0])
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if body(t, resp); resp.StatusCode != http.StatusOK {
			t.Errorf("Host %s: %s, want 200", host, resp.Status)
		}
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	testHome(t)
	srv, base := testServer(t)
	c := session(t, srv)
	post := func(path string, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader("ref=hello&deck=local&param.who=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body(t, resp)
		return resp
	}
	for _, path := range []string{"/run", "/render", "/write/save", "/resource/event", "/run/cancel?id=x", "/sync"} {
		for name, hdr := range map[string]map[string]string{
			"another origin":      {"Origin": "http://evil.example"},
			"another port":        {"Origin": "http://127.0.0.1:1"},
			"an opaque origin":    {"Origin": "null"},
			"no origin":           {},
			"a cross-site fetch":  {"Sec-Fetch-Site": "cross-site"},
			"https of this host":  {"Origin": strings.Replace(base, "http:", "https:", 1)},
			"a same-site sibling": {"Sec-Fetch-Site": "same-site"},
		} {
			if resp := post(path, hdr); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s from %s: %s, want 403", path, name, resp.Status)
			}
		}
	}
	// The same origin gets through the checks (the render of hello).
	if resp := post("/render", map[string]string{"Origin": base}); resp.StatusCode != http.StatusOK {
		t.Errorf("POST /render from this origin: %s, want 200", resp.Status)
	}
}

var inlineScript = regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|javascript:(?:[^h]|h[^i])`)

func TestStrictCSPAndNoInlineScript(t *testing.T) {
	testHome(t)
	srv, base := testServer(t)
	c := session(t, srv)
	for _, p := range []string{"/scripts", "/script?ref=hello", "/form?ref=hello&deck=local", "/runs", "/write", "/write?ref=hello", "/write?new=x&from=hello", "/resources", "/script?ref=nope"} {
		resp, err := c.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		b := body(t, resp)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: Content-Security-Policy %q", p, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: missing frame or referrer headers", p)
		}
		if m := inlineScript.FindString(b); m != "" {
			t.Errorf("%s: inline script %q (the CSP would block it)", p, m)
		}
	}
}

// A script with a secret param and a deck credential from the
// environment: neither value reaches a page.
const secretScript = `name: secretive
description: has secrets
image: debian
interpreter: bash
credentials:
  - name: API_TOKEN
    fromEnv: UI_TEST_API_TOKEN
params:
  - name: password
    secret: true
    required: true
  - name: who
    default: world
script: |
  echo "{{ .Params.password }} for {{ .Params.who }}"
`

func TestNoSecretInPages(t *testing.T) {
	root := testHome(t)
	lib := filepath.Join(root, "data", "cscript", "library")
	if err := os.WriteFile(filepath.Join(lib, "secretive.yaml"), []byte(secretScript), 0o644); err != nil {
		t.Fatal(err)
	}
	const envSecret, paramSecret = "env-secret-4711", "param-secret-0815"
	t.Setenv("UI_TEST_API_TOKEN", envSecret)
	srv, base := testServer(t)
	c := session(t, srv)
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	for k, v := range map[string]string{"ref": "secretive", "deck": "local", "param.password": paramSecret, "param.who": "ann"} {
		mw.WriteField(k, v)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/render", &form)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(b, "for ann") {
		t.Fatalf("render preview: %s\n%s", resp.Status, b)
	}
	if strings.Contains(b, paramSecret) || strings.Contains(b, envSecret) {
		t.Errorf("the render preview shows a secret value:\n%s", b)
	}
	if !strings.Contains(b, "*** for ann") {
		t.Errorf("the secret param is not shown redacted as ***:\n%s", b)
	}
	for _, p := range []string{"/scripts", "/script?ref=secretive", "/form?ref=secretive&deck=local"} {
		resp, err := c.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		if b := body(t, resp); strings.Contains(b, paramSecret) || strings.Contains(b, envSecret) {
			t.Errorf("%s shows a secret value", p)
		}
	}
}

func TestExposureOfNonLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if w := Exposure(ln); w != "" {
		t.Errorf("loopback: %q, want no warning", w)
	}
	all, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	w := Exposure(all)
	for _, want := range []string{"not on loopback", "run scripts", "credentials", "not encrypted"} {
		if !strings.Contains(w, want) {
			t.Errorf("0.0.0.0: the warning %q does not say %q", w, want)
		}
	}
}
