// Package gitserver starts a real git daemon on 127.0.0.1 for tests: the git
// sync of libraries is tested against a real server, never a mock.
package gitserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a git daemon on 127.0.0.1 serving bare repositories under Base.
type Server struct {
	Base string
	Addr string

	cmd      *exec.Cmd
	exited   chan error
	stopOnce sync.Once
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

// Start starts `git daemon` with push enabled; it is killed at the test's cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := StartDaemon(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartDaemon starts `git daemon` on a free port of 127.0.0.1 serving the
// repositories under base, with push enabled, and waits until it accepts
// connections. Stop ends it and the children it forked.
func StartDaemon(ctx context.Context, base string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("git", "daemon", "--export-all", "--enable=receive-pack", "--informative-errors", "--reuseaddr",
		"--listen=127.0.0.1", "--port="+strconv.Itoa(port), "--base-path="+base, base)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	// Its own process group, so the children it forks per connection end with it.
	ownGroup(cmd)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start git daemon: %w", err)
	}
	s := &Server{Base: base, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, exited: make(chan error, 1)}
	go func() { s.exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case err := <-s.exited:
			s.exited <- err
			return nil, fmt.Errorf("git daemon exited: %v\n%s", err, stderr.String())
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("git daemon does not accept connections on %s: %v", s.Addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends the daemon and the children it forked for connections.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		killGroup(s.cmd)
		<-s.exited
	})
}
