// Package ui is `cscript ui`: the web front end in the cscript binary. It
// serves pages built on the application layer (package action): no run
// logic lives here. A run goes through action.PlanRun and
// action.ExecuteRun in this process, its Progress sent to the browser as
// server-sent events.
//
// Security: the server listens on loopback unless told otherwise; every
// request needs the session cookie, which the random token of the printed
// URL is exchanged for; the Host and Origin headers are checked on every
// request (DNS rebinding, cross-site requests); pages carry a strict
// Content-Security-Policy (no inline script); secret values are redacted
// from everything the server sends.
package ui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/store"
)

//go:embed assets templates
var files embed.FS

// Config is what the server's actions share: the paths, the clock, the
// redactor and the environment of the process.
type Config struct {
	Paths   func() store.Paths
	Now     func() time.Time
	Secrets *redact.Redactor
	Getenv  func(string) string
	// Log hears the server's own messages (one line each); nil: discard.
	Log io.Writer
}

// Server is the web UI of one `cscript ui` process.
type Server struct {
	cfg     Config
	token   string // in the printed URL
	session string // the cookie's value
	cookie  string // the cookie's name (per port: cookies do not tell ports apart)
	hosts   map[string]bool
	tmpl    *template.Template
	runs    *runManager

	ctx    context.Context // cancelled by Close: every run's context derives from it
	cancel context.CancelFunc
	srv    *http.Server
	addr   string
	mu     sync.Mutex
}

// New makes a server; Listen or Serve starts it.
func New(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Secrets == nil {
		cfg.Secrets = redact.New()
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, token: randomHex(24), session: randomHex(24), tmpl: tmpl, ctx: ctx, cancel: cancel}
	s.runs = newRunManager(s)
	return s, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// act is an action.Configuration for one request or run: the server's
// shared parts with the prompter, log and force channel of that request.
func (s *Server) act(p action.Prompter, l action.Log, force <-chan struct{}) *action.Configuration {
	return &action.Configuration{
		Paths: s.cfg.Paths, Now: s.cfg.Now, Secrets: s.cfg.Secrets, Getenv: s.cfg.Getenv,
		Prompter: p, Log: l, Force: force,
	}
}

// Listen opens addr (host:port; port 0 picks one) and says which Host
// headers the server answers to.
func (s *Server) Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--addr %s: %w", addr, err)
	}
	s.setHosts(ln.Addr().(*net.TCPAddr))
	return ln, nil
}

// setHosts is the Host headers that name this server: the address it
// listens on, localhost for loopback, and this machine's addresses and
// name when it listens on all of them.
func (s *Server) setHosts(a *net.TCPAddr) {
	port := strconv.Itoa(a.Port)
	s.hosts = map[string]bool{}
	add := func(h string) { s.hosts[net.JoinHostPort(h, port)] = true }
	switch {
	case a.IP.IsLoopback():
		add(a.IP.String())
		add("localhost")
	case a.IP.IsUnspecified():
		add("localhost")
		if ifs, err := net.InterfaceAddrs(); err == nil {
			for _, ia := range ifs {
				if n, ok := ia.(*net.IPNet); ok {
					add(n.IP.String())
				}
			}
		}
		if h, err := os.Hostname(); err == nil {
			add(h)
		}
	default:
		add(a.IP.String())
	}
	s.addr = net.JoinHostPort(a.IP.String(), port)
	if a.IP.IsUnspecified() {
		s.addr = net.JoinHostPort("127.0.0.1", port)
	}
	s.cookie = "cscript_ui_" + port
}

// URL is the address to open, with the token.
func (s *Server) URL() string { return "http://" + s.addr + "/?token=" + s.token }

// Exposure says what a listener on a non-loopback address gives away, or
// "" on loopback.
func Exposure(ln net.Listener) string {
	a := ln.Addr().(*net.TCPAddr)
	if a.IP.IsLoopback() {
		return ""
	}
	return fmt.Sprintf("WARNING: listening on %s, not on loopback: anyone who can reach this address and has the URL's token can "+
		"browse and edit your script libraries, run scripts with your cluster credentials and local credential sources, "+
		"and see run output and history. The traffic is plain HTTP (not encrypted): the token and the session cookie can be "+
		"read on the network. Use 127.0.0.1 (the default) and an SSH tunnel instead where you can.", a)
}

// Serve serves on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	if s.hosts == nil {
		s.setHosts(ln.Addr().(*net.TCPAddr))
	}
	s.mu.Lock()
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return s.ctx }}
	srv := s.srv
	s.mu.Unlock()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the server: every run it started is cancelled as Ctrl-C
// cancels one (the backend cleans up), and Close waits for them (at most
// wait), then closes the connections.
func (s *Server) Close(wait time.Duration) error {
	s.cancel()
	s.runs.wait(wait)
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return srv.Close()
	}
	return nil
}

// csp is the Content-Security-Policy of every response: scripts, styles
// and connections from this origin only, no inline script, no frames.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Handler is the server's handler with every check in front.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin") // no-referrer would make browsers send Origin: null on form posts
		h.Set("Cache-Control", "no-store")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if !s.hosts[strings.ToLower(r.Host)] {
			http.Error(w, "refused: this server does not answer to Host "+strconv.Quote(r.Host)+"; open the URL `cscript ui` printed", http.StatusMisdirectedRequest)
			return
		}
		if msg := s.checkOrigin(r); msg != "" {
			http.Error(w, "refused: "+msg, http.StatusForbidden)
			return
		}
		if tok := r.URL.Query().Get("token"); tok != "" {
			if subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 || r.Method != http.MethodGet {
				http.Error(w, "refused: wrong token; open the URL `cscript ui` printed", http.StatusUnauthorized)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: s.session, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			q := r.URL.Query()
			q.Del("token")
			u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
			http.Redirect(w, r, u.String(), http.StatusSeeOther)
			return
		}
		c, err := r.Cookie(s.cookie)
		if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.session)) != 1 {
			http.Error(w, "refused: no session; open the URL with the token that `cscript ui` printed", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), startKey{}, time.Now())))
	})
}

// startKey holds when the server began a request: pages say in a
// Server-Timing header how long the server took (the benchmark reads it).
type startKey struct{}

// checkOrigin refuses a request from another site: an Origin header that
// is not this server, or a request that changes something without an
// Origin from this server (or a same-origin fetch).
func (s *Server) checkOrigin(r *http.Request) string {
	origin := r.Header.Get("Origin")
	if origin != "" && origin != "null" {
		u, err := url.Parse(origin)
		if err != nil || u.Scheme != "http" || !s.hosts[strings.ToLower(u.Host)] || !strings.EqualFold(u.Host, r.Host) {
			return "cross-origin request from " + strconv.Quote(origin)
		}
		return ""
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "cross-site request (Sec-Fetch-Site " + site + ")"
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return ""
	}
	if origin == "null" {
		return "request from an opaque origin"
	}
	if r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return ""
	}
	return r.Method + " without an Origin header from this server"
}

func (s *Server) logf(format string, args ...any) {
	fmt.Fprintf(s.cfg.Log, "%s %s\n", s.cfg.Now().Format("15:04:05"), s.cfg.Secrets.String(fmt.Sprintf(format, args...)))
}

func assetFS() fs.FS {
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		panic(err)
	}
	return sub
}
