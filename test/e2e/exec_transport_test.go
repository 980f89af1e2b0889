//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cscript-dev/cscript/runner"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/test/cluster"
	"github.com/cscript-dev/cscript/transfer"
	"github.com/cscript-dev/cscript/transfer/agentbin"
)

// execProxy is an HTTPS reverse proxy in front of the API server that
// records the protocol every exec asked to upgrade to and, when refuseSPDY is
// set, refuses SPDY upgrades (403) as some proxies and load balancers do,
// passing WebSocket ones.
type execProxy struct {
	srv        *httptest.Server
	refuseSPDY bool

	mu       sync.Mutex
	upgrades map[string]int // "spdy", "websocket", "spdy refused"
}

func newExecProxy(t *testing.T, api *rest.Config, refuseSPDY bool) *execProxy {
	t.Helper()
	target, err := url.Parse(api.Host)
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig, err := rest.TLSConfigFor(api)
	if err != nil {
		t.Fatal(err)
	}
	// HTTP/1.1 only: upgrades do not exist in HTTP/2.
	if tlsConfig != nil {
		tlsConfig.NextProtos = []string{"http/1.1"}
	}
	base := &http.Transport{TLSClientConfig: tlsConfig, ForceAttemptHTTP2: false}
	rt, err := rest.HTTPWrappersForConfig(api, base)
	if err != nil {
		t.Fatal(err)
	}
	p := &execProxy{refuseSPDY: refuseSPDY, upgrades: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = rt
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := strings.ToLower(r.Header.Get("Upgrade"))
		if strings.HasSuffix(r.URL.Path, "/exec") {
			switch {
			case strings.HasPrefix(up, "spdy") && p.refuseSPDY:
				p.count("spdy refused")
				http.Error(w, "the test proxy refuses SPDY upgrades", http.StatusForbidden)
				return
			case strings.HasPrefix(up, "spdy"):
				p.count("spdy")
			case up == "websocket":
				p.count("websocket")
			default:
				p.count("no upgrade: " + up)
			}
		}
		rp.ServeHTTP(w, r)
	}))
	p.srv.EnableHTTP2 = false
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	return p
}

func (p *execProxy) count(k string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.upgrades[k]++
}

// take returns the upgrades counted since the last take.
func (p *execProxy) take() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.upgrades
	p.upgrades = map[string]int{}
	return m
}

// executor is a PodExecutor whose client and config reach the API server
// through the proxy (the proxy holds the credentials).
func (p *execProxy) executor(t *testing.T, ns, pod string) *kube.PodExecutor {
	t.Helper()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
	cfg := &rest.Config{Host: p.srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &kube.PodExecutor{Client: cs, Config: cfg, Namespace: ns, Pod: pod, Container: "main"}
}

// TestExecTransports proves cscript's exec over SPDY and over WebSocket, each
// forced through CSCRIPT_EXEC_TRANSPORT's values, and auto falling back to
// WebSocket when a proxy refuses the SPDY upgrade: stdout, stderr, stdin,
// exit codes, and a 200 MB file transfer up and down verified by sha256
// (cscript's transfer, on the transport under test). The proxy records the
// protocol of every exec, so a transport that is not the one asked for fails.
func TestExecTransports(t *testing.T) {
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "exec-transport")
	api := cluster.RESTConfig(t)
	sleeperPod(t, cs, ns, "sleeper", cluster.BusyboxImage)

	const size = 200 << 20
	dir := t.TempDir()
	src, sum := randomFile(t, dir, "up.bin", size)

	passing := newExecProxy(t, api, false)
	refusing := newExecProxy(t, api, true)
	for _, tc := range []struct {
		name, env string
		proxy     *execProxy
		want      string // the only protocol the proxy may see
		refused   bool   // SPDY tried and refused before each exec
	}{
		{"spdy", "spdy", passing, "spdy", false},
		{"websocket", "websocket", passing, "websocket", false},
		{"auto", "", passing, "spdy", false},
		{"auto falls back to websocket", "auto", refusing, "websocket", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(kube.ExecTransportEnv, tc.env)
			ex := tc.proxy.executor(t, ns, "sleeper")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			tc.proxy.take()
			check := func(what string, execs int) {
				t.Helper()
				got := tc.proxy.take()
				want := map[string]int{tc.want: execs}
				if tc.refused {
					want["spdy refused"] = execs
				}
				if len(got) != len(want) || got[tc.want] != want[tc.want] || got["spdy refused"] != want["spdy refused"] {
					t.Errorf("%s: upgrades through the proxy %v, want %v", what, got, want)
				}
			}

			// stdout, stderr and a non-zero exit code.
			var out, errOut bytes.Buffer
			err := ex.Exec(ctx, []string{"sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7"}, nil, &out, &errOut)
			var coded interface{ ExitStatus() int }
			if !errors.As(err, &coded) || coded.ExitStatus() != 7 {
				t.Errorf("exit 7: err = %v, want an error with ExitStatus() 7", err)
			}
			if out.String() != "to-stdout\n" || errOut.String() != "to-stderr\n" {
				t.Errorf("stdout %q, stderr %q; want \"to-stdout\\n\", \"to-stderr\\n\"", out.String(), errOut.String())
			}
			check("exit 7", 1)

			// Exit 0, and stdin: 3 MB through sha256sum (which keeps its
			// stdout open until it has read everything, see docs/exec-stdin.md).
			in := bytes.Repeat([]byte("cscript exec stdin\n"), 3<<20/19)
			out.Reset()
			errOut.Reset()
			if err := ex.Exec(ctx, []string{"sha256sum"}, bytes.NewReader(in), &out, &errOut); err != nil {
				t.Fatalf("sha256sum of stdin: %v (stderr %q)", err, errOut.String())
			}
			inSum := sha256.Sum256(in)
			if f := strings.Fields(out.String()); len(f) == 0 || f[0] != hex.EncodeToString(inSum[:]) {
				t.Errorf("sha256 of stdin in the container: %q, want %x", out.String(), inSum)
			}
			check("stdin", 1)

			// 200 MB up and down, each verified (the transfer's own sha256
			// check, and sha256sum in the container / here).
			opts := transfer.Options{Agent: agentbin.For}
			dst := "/tmp/transport-" + strings.ReplaceAll(tc.name, " ", "-") + ".bin"
			t0 := time.Now()
			up, err := transfer.Upload(ctx, ex, transfer.LocalPath(src), transfer.RemotePath(dst), opts)
			if err != nil {
				t.Fatalf("upload 200 MB: %v", err)
			}
			if up.Bytes != size || up.SHA256 != sum || up.Verified != transfer.VerifiedSHA256 {
				t.Errorf("upload: %+v, want %d bytes, sha256 %s verified", up, size, sum)
			}
			if got := remoteSHA256(t, ex, dst); got != sum {
				t.Errorf("sha256 in the container %s, want %s", got, sum)
			}
			t1 := time.Now()
			local := filepath.Join(dir, "down-"+strings.ReplaceAll(tc.name, " ", "-")+".bin")
			down, err := transfer.Download(ctx, ex, transfer.RemotePath(dst), transfer.LocalPath(local), opts)
			if err != nil {
				t.Fatalf("download 200 MB: %v", err)
			}
			if got := sha256File(t, local); got != sum || down.Bytes != size {
				t.Errorf("download: %d bytes, sha256 %s; want %d, %s", down.Bytes, got, size, sum)
			}
			t.Logf("%s: upload 200 MB %.1f s, download %.1f s", tc.name, t1.Sub(t0).Seconds(), time.Since(t1).Seconds())
			_ = os.Remove(local)
			if got := tc.proxy.take(); got[tc.want] == 0 || len(got) != map[bool]int{false: 1, true: 2}[tc.refused] {
				t.Errorf("transfers: upgrades through the proxy %v, want only %s", got, tc.want)
			}
			_ = ex.Exec(ctx, []string{"rm", "-f", dst}, nil, io.Discard, io.Discard)
			tc.proxy.take()
		})
	}

	// Forced SPDY does not fall back: through the refusing proxy it fails.
	t.Run("spdy forced through a proxy refusing it", func(t *testing.T) {
		t.Setenv(kube.ExecTransportEnv, "spdy")
		ex := refusing.executor(t, ns, "sleeper")
		refusing.take()
		err := ex.Exec(context.Background(), []string{"true"}, nil, io.Discard, io.Discard)
		if err == nil {
			t.Fatal("exec succeeded, want the refused upgrade as an error")
		}
		if got := refusing.take(); got["websocket"] != 0 || got["spdy refused"] != 1 {
			t.Errorf("upgrades %v, want one refused SPDY and no WebSocket", got)
		}
	})

	// A value that is not a transport is an error naming it and the choices.
	t.Run("bad value", func(t *testing.T) {
		t.Setenv(kube.ExecTransportEnv, "http3")
		ex := &kube.PodExecutor{Client: cs, Config: api, Namespace: ns, Pod: "sleeper", Container: "main"}
		err := ex.Exec(context.Background(), []string{"true"}, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), `"http3"`) || !strings.Contains(err.Error(), "spdy, websocket or auto") {
			t.Errorf("err = %v, want one naming \"http3\" and spdy, websocket or auto", err)
		}
	})
}

// A user who may get pods/exec but not create it (what exec needed before
// Kubernetes 1.35) is stopped by the preflight before anything is created,
// with the missing create on pods/exec named, the get-only case explained and
// the rule to ask for. On 1.35 and later the API server itself refuses such a
// user's exec over SPDY and over WebSocket, so the preflight is not too strict.
func TestRunnerPreflightExecGetOnly(t *testing.T) {
	env := newRunnerEnv(t)
	ctx := context.Background()
	cs := env.target.Client
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "exec-get-only"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create", "get", "list", "watch", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"get"}},
			{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"selfsubjectaccessreviews"}, Verbs: []string{"create"}},
		},
	}
	if _, err := cs.RbacV1().Roles(env.ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	user := "cscript-e2e-exec-get-only"
	if _, err := cs.RbacV1().RoleBindings(env.ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "exec-get-only"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "exec-get-only"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(env.target.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	limited, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := spec("exec-get-only", cluster.BusyboxImage, runner.InterpreterSh, "true\n")
	r := &kube.Runner{Client: limited, Config: cfg, Namespace: env.ns}
	var res *kube.Result
	deadline := time.Now().Add(10 * time.Second) // RBAC objects take effect within a moment
	for {
		res, err = r.Run(ctx, s)
		if err != nil && strings.Contains(err.Error(), "you may get pods/exec") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("err = %v, want the get-only pods/exec case named", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	var pe *runner.PermissionError
	if !errors.As(err, &pe) || pe.Verb != "create" || pe.Resource != "pods" || pe.Subresource != "exec" {
		t.Errorf("err = %v, want a *PermissionError for create pods/exec", err)
	}
	for _, want := range []string{
		"cannot create pods/exec in namespace " + env.ns,
		`ask a cluster admin to add the verb "create" on "pods/exec"`,
		`resources: ["pods/exec"], verbs: ["create"]`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if res.ExitCode != 125 {
		t.Errorf("exit code %d, want 125", res.ExitCode)
	}
	if left := leftovers(t, cs, env.ns, s.RunID); len(left) > 0 {
		t.Errorf("created despite the missing permission: %v", left)
	}

	info, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	minor, _ := strconv.Atoi(strings.TrimSuffix(info.Minor, "+"))
	t.Logf("server %s", info.GitVersion)
	if info.Major != "1" || minor < 35 {
		return
	}
	sleeperPod(t, cs, env.ns, "get-only-target", cluster.BusyboxImage)
	for _, transport := range []kube.ExecTransport{kube.TransportSPDY, kube.TransportWebSocket} {
		ex := &kube.PodExecutor{Client: limited, Config: cfg, Namespace: env.ns, Pod: "get-only-target", Container: "main", Transport: transport}
		err := ex.Exec(ctx, []string{"true"}, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "forbidden") {
			t.Errorf("%s exec with only get on pods/exec on %s: %v, want forbidden", transport, info.GitVersion, err)
		}
	}
}
