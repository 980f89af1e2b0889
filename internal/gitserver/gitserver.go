// Package gitserver starts a real git daemon on 127.0.0.1 for tests: the git
// sync of libraries is tested against a real server, never a mock.
package gitserver

import (
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a git daemon on 127.0.0.1 serving bare repositories under Base.
type Server struct {
	Base string
	Addr string
}

// URL is the git:// URL of the repository name.
func (s *Server) URL(name string) string { return "git://" + s.Addr + "/" + name + ".git" }

// NewRepo makes an empty bare repository on the server and returns its URL.
func (s *Server) NewRepo(t testing.TB, name string) string {
	t.Helper()
	Git(t, s.Base, "init", "--quiet", "--bare", "--initial-branch=main", name+".git")
	return s.URL(name)
}

// Head is the server's main branch of the repository name.
func (s *Server) Head(t testing.TB, name string) string {
	t.Helper()
	return Git(t, filepath.Join(s.Base, name+".git"), "rev-parse", "main")
}

// Git runs the real git in dir and returns its trimmed output.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts `git daemon` with push enabled; it is killed at the test's cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	base := t.TempDir()
	port := freePort(t)
	cmd := exec.Command("git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr",
		"--listen=127.0.0.1", "--port="+strconv.Itoa(port), "--base-path="+base, base)
	newGroup(cmd)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start git daemon: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		killGroup(cmd)
		<-exited
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("git daemon exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("git daemon does not accept connections on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &Server{Base: base, Addr: addr}
}
