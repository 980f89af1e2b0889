//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/test/cluster"
	"github.com/cscript-dev/cscript/transfer"
	"github.com/cscript-dev/cscript/transfer/agentbin"
)

// Fault 4 and bad input 5 of the reliability suite: uploads whose stdin is
// cut (what containerd's exec stream does, see docs/exec-stdin.md) are detected
// every time, real uploads arrive whole on two images, and the hostile
// image's malicious archives write nothing outside the destination.

// sleeperPod starts a Pod that stays up for execs and waits until it runs.
func sleeperPod(t *testing.T, cs kubernetes.Interface, ns, name, image string) *kube.PodExecutor {
	t.Helper()
	return sleeperPodWith(t, cs, ns, name, image, nil)
}

// sleeperPodWith is sleeperPod with the Pod changed by mutate first.
func sleeperPodWith(t *testing.T, cs kubernetes.Interface, ns, name, image string, mutate func(*corev1.Pod)) *kube.PodExecutor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pod := newPod(name, image, "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done")
	if mutate != nil {
		mutate(pod)
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	waitPod(ctx, t, cs, ns, name, func(p *corev1.Pod) bool {
		if p.Status.Phase != corev1.PodPending && p.Status.Phase != corev1.PodRunning {
			t.Fatalf("pod %s ended: %+v", name, p.Status)
		}
		return p.Status.Phase == corev1.PodRunning
	})
	return &kube.PodExecutor{Client: cs, Config: cluster.RESTConfig(t), Namespace: ns, Pod: name, Container: "main"}
}

// cutStdin is an executor whose stdin stops after limit bytes, as the CRI's
// does when the process's stdout closes early: the remote side sees a
// clean end of input and exits 0.
type cutStdin struct {
	ex    transfer.Executor
	limit int64
}

func (c cutStdin) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if stdin != nil {
		stdin = io.LimitReader(stdin, c.limit)
	}
	return c.ex.Exec(ctx, cmd, stdin, stdout, stderr)
}

// flipByte is an executor that corrupts one byte of stdin at offset at.
type flipByte struct {
	ex transfer.Executor
	at int64
}

func (f flipByte) Exec(ctx context.Context, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if stdin != nil {
		stdin = &flipReader{r: stdin, at: f.at}
	}
	return f.ex.Exec(ctx, cmd, stdin, stdout, stderr)
}

type flipReader struct {
	r   io.Reader
	at  int64
	off int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.off && f.at < f.off+int64(n) {
		p[f.at-f.off] ^= 0x55
	}
	f.off += int64(n)
	return n, err
}

func randomFile(t *testing.T, dir, name string, size int) (string, string) {
	t.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return p, hex.EncodeToString(sum[:])
}

// stepTimeout bounds each exec and upload of the transfer reliability tests:
// a 1 MB upload takes well under a second here, so a step that needs a
// minute hangs, and the test says which one instead of running into go
// test's timeout with only a goroutine dump to go by.
const stepTimeout = time.Minute

// stepContext is a context for one step, ended after stepTimeout.
func stepContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	t.Cleanup(cancel)
	return ctx
}

// remoteSHA256 is the sha256 of a file in the container, by sha256sum.
func remoteSHA256(t *testing.T, ex transfer.Executor, path string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := ex.Exec(stepContext(t), []string{"sha256sum", path}, nil, &out, &errOut); err != nil {
		t.Fatalf("sha256sum %s: %v: %s", path, err, errOut.String())
	}
	f := strings.Fields(out.String())
	if len(f) == 0 {
		t.Fatalf("sha256sum %s: no output", path)
	}
	return f[0]
}

// TestReliabilityTruncatedUploads uploads through executors that cut stdin
// short (at the sizes docs/exec-stdin.md lists, among others) or flip a byte:
// every one of them is an error, on busybox and on Debian, with tar and with
// the cat fallback. Real 1 MB+ uploads through the same paths arrive whole,
// every time.
//
// A cut upload may also end on its deadline: when the executor closes stdin
// before the process in the container has opened it (the cut at nothing),
// containerd 1.6 can lose the end of input, and the process waits for more.
// That is a failed upload too, once per image; a second one, or any other
// step that runs into its deadline, fails the test, naming the step.
func TestReliabilityTruncatedUploads(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "rel-upload")
	dir := t.TempDir()
	const size = 1<<20 + 123
	src, sum := randomFile(t, dir, "in.bin", size)

	for _, img := range []struct{ name, image string }{{"busybox", cluster.BusyboxImage}, {"debian", cluster.DebianImage}} {
		t.Run(img.name, func(t *testing.T) {
			t.Parallel()
			ex := sleeperPod(t, cs, ns, "up-"+img.name, img.image)
			tools, err := transfer.Probe(stepContext(t), ex)
			if err != nil {
				t.Fatalf("probe: %v", err)
			}
			noTar := *tools
			noTar.Tar = false
			paths := []struct {
				name string
				opts transfer.Options
			}{
				{"tar", transfer.Options{Tools: tools}},
				{"tar gzip", transfer.Options{Tools: tools, Compress: true}},
				{"cat", transfer.Options{Tools: &noTar}},
				// cscript's agent, installed by the first real upload below.
				{"agent", transfer.Options{Tools: tools, Agent: agentbin.For, AgentMinBytes: -1}},
				{"agent s2", transfer.Options{Tools: tools, Agent: agentbin.For, AgentMinBytes: -1, Compress: true}},
			}

			// What the bug does to a naive upload here, for the log: the
			// reason every upload must be verified.
			var out bytes.Buffer
			naive := ex.Exec(stepContext(t), []string{"sh", "-c", "cat > /tmp/naive"}, bytes.NewReader(make([]byte, 1_000_000)), io.Discard, io.Discard)
			_ = ex.Exec(stepContext(t), []string{"sh", "-c", "wc -c < /tmp/naive"}, nil, &out, io.Discard)
			t.Logf("naive `sh -c 'cat > f'` of 1,000,000 bytes: %s bytes arrived (exec error %v)", strings.TrimSpace(out.String()), naive)

			hung := 0 // cut uploads that ended on their deadline
			for _, p := range paths {
				if p.opts.Agent != nil {
					// Install the agent through the sound stream, so that the
					// cuts below hit the agent's own transfer.
					res, err := transfer.Upload(stepContext(t), ex, transfer.LocalPath(src), transfer.RemotePath("/work/warm.bin"), p.opts)
					if err != nil || !res.Agent {
						t.Fatalf("%s: first upload: %+v, %v; want one by the agent", p.name, res, err)
					}
				}
				// Cut at nothing, the first 32 KiB chunk (the CRI's usual
				// cut), the other sizes docs/exec-stdin.md saw arrive, and
				// one byte short.
				for _, limit := range []int64{0, 32 << 10, 32 << 10, 32 << 10, 98304, 196608, size - 1} {
					dst := fmt.Sprintf("/work/cut-%d.bin", limit)
					res, err := transfer.Upload(stepContext(t), cutStdin{ex, limit}, transfer.LocalPath(src), transfer.RemotePath(dst), p.opts)
					if err == nil {
						t.Errorf("%s: stdin cut after %d bytes: upload succeeded: %+v", p.name, limit, res)
						continue
					}
					if errors.Is(err, context.DeadlineExceeded) {
						// The runtime's race, rare: once per image at
						// most. More is an upload that hangs on a cut.
						if hung++; hung > 1 {
							t.Errorf("%s: stdin cut after %d bytes: the upload hung until its deadline, %d cut uploads on this image did (one is the runtime's race, more is an upload that hangs): %v", p.name, limit, hung, err)
							continue
						}
						t.Logf("%s: stdin cut after %d bytes: the container never saw the end of its input; the upload failed on its deadline (%v)", p.name, limit, err)
						continue
					}
					var ve *transfer.VerifyError
					if !errors.As(err, &ve) {
						t.Errorf("%s: stdin cut after %d bytes: %v, want a *transfer.VerifyError", p.name, limit, err)
					}
				}
				dst := "/work/flipped.bin"
				if _, err := transfer.Upload(stepContext(t), flipByte{ex, size / 2}, transfer.LocalPath(src), transfer.RemotePath(dst), p.opts); err == nil {
					t.Errorf("%s: a flipped byte went unnoticed", p.name)
				} else {
					t.Logf("%s: flipped byte: %v", p.name, err)
				}
				// Real uploads: whole, verified by sha256, three times.
				for i := 0; i < 3; i++ {
					dst := fmt.Sprintf("/work/real-%d.bin", i)
					res, err := transfer.Upload(stepContext(t), ex, transfer.LocalPath(src), transfer.RemotePath(dst), p.opts)
					if err != nil {
						t.Fatalf("%s: upload %d: %v", p.name, i, err)
					}
					if res.Bytes != size || res.Verified != transfer.VerifiedSHA256 || res.SHA256 != sum || res.Agent != (p.opts.Agent != nil) {
						t.Errorf("%s: upload %d: %+v, want %d bytes, sha256 %s verified", p.name, i, res, size, sum)
					}
					if got := remoteSHA256(t, ex, dst); got != sum {
						t.Errorf("%s: upload %d: sha256 in the container %s, want %s", p.name, i, got, sum)
					}
				}
			}
		})
	}
}

// hostileEntries are the archives of the hostile image and the entry each
// is refused at when extracted without a prefix.
var hostileEntries = map[string]string{
	"dotdot":            "../escaped.txt",
	"absolute":          "/tmp/cscript-hostile-absolute.txt",
	"symlink-absolute":  "link",
	"symlink-relative":  "up",
	"symlink-dangling":  "passwd",
	"hardlink-absolute": "hl",
	"hardlink-relative": "hl",
	"device":            "null",
	"block":             "disk",
	"fifo":              "pipe",
}

// sentinels are where the hostile archives would write if they could.
func sentinels(dest string) []string {
	parent := filepath.Dir(dest)
	return []string{
		filepath.Join(parent, "escaped.txt"),
		filepath.Join(filepath.Dir(parent), "escaped.txt"),
		filepath.Join(filepath.Dir(filepath.Dir(parent)), "escaped.txt"),
		"/tmp/cscript-hostile-absolute.txt",
		"/tmp/cscript-hostile-symlink.txt",
		"/tmp/escaped.txt",
	}
}

// sentinelState records which sentinels exist and their modification times.
func sentinelState(paths []string) map[string]time.Time {
	m := map[string]time.Time{}
	for _, p := range paths {
		if fi, err := os.Lstat(p); err == nil {
			m[p] = fi.ModTime()
		}
	}
	return m
}

// tree lists every path under root (relative), with its type, skipping skip.
func tree(t *testing.T, root string, skip ...string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		for _, s := range skip {
			if rel == s {
				return filepath.SkipDir
			}
		}
		out = append(out, rel+" "+d.Type().String())
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// relHostileScript downloads from the hostile image, whose tar prints the
// archive named by $HOSTILE_TAR whatever it is asked for.
const relHostileScript = `name: rel-hostile
description: reliability - a download from an image whose tar is malicious.
image: cscript.test/hostile:1
interpreter: sh
params:
  - name: kind
  - name: from
  - name: out
env:
  HOSTILE_TAR: "{{ .Params.kind }}"
files:
  download:
    - from: "{{ .Params.from }}"
      to: "{{ .Params.out }}"
script: |
  mkdir -p /work/data
  echo ok > /work/ok.txt
  echo ok > /work/data/ok.txt
`

// TestReliabilityHostileImage runs downloads from the hostile image through
// `cscript run`: each fails naming the bad entry, and nothing is written
// outside the destination. The same archives, read from the image through
// the exec stream and extracted without a prefix, are refused at the entry
// that carries the attack.
func TestReliabilityHostileImage(t *testing.T) {
	t.Parallel()
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "rel-hostile")

	t.Run("cscript run", func(t *testing.T) {
		h := newCLIHome(t, ns)
		// The image's own (hostile) tar must make the archive, not cscript's agent.
		h.env = append(h.env, "CSCRIPT_TRANSFER_AGENT=off")
		h.file("rel/hostile.yaml", relHostileScript)
		type tc struct{ kind, from, entry string }
		var cases []tc
		for kind, entry := range hostileEntries {
			// Downloading /work/ok.txt: the archive's ok.txt matches, the
			// entry after it is the attack.
			cases = append(cases, tc{kind, "/work/ok.txt", entry})
		}
		// Downloading /work/data: even the harmless ok.txt is outside it.
		cases = append(cases, tc{"symlink-relative", "/work/data", "ok.txt"})
		sort.Slice(cases, func(i, j int) bool { return cases[i].kind+cases[i].from < cases[j].kind+cases[j].from })

		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		for i, c := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				t.Run(fmt.Sprintf("%s from %s", c.kind, c.from), func(t *testing.T) {
					area := filepath.Join(h.root, "dl", fmt.Sprint(i), "a", "b")
					if err := os.MkdirAll(area, 0o755); err != nil {
						t.Fatal(err)
					}
					dest := filepath.Join(area, filepath.Base(c.from))
					sent := sentinels(dest)
					before := sentinelState(sent)
					treeBefore := tree(t, filepath.Join(h.root, "dl", fmt.Sprint(i)))
					res := h.run("run", "rel-hostile", "--deck", "e2e", "--set-string", "kind="+c.kind, "--set-string", "from="+c.from, "--set-string", "out="+dest)
					msg := lastLines(res.Stderr, 1)
					if res.Code != 125 {
						t.Errorf("exit %d, want 125\n%s", res.Code, res.Stderr)
					}
					if want := fmt.Sprintf("unsafe archive entry %q", c.entry); !strings.Contains(msg, want) {
						t.Errorf("the message does not name the bad entry (%s):\n%s", want, msg)
					}
					if after := sentinelState(sent); fmt.Sprint(after) != fmt.Sprint(before) {
						t.Errorf("written outside the destination: before %v, after %v", before, after)
					}
					if got := tree(t, filepath.Join(h.root, "dl", fmt.Sprint(i))); fmt.Sprint(got) != fmt.Sprint(treeBefore) {
						t.Errorf("files appeared around the destination: %v (before %v)", got, treeBefore)
					}
				})
			}()
		}
		wg.Wait()
		assertNamespaceClean(t, cs, ns, time.Minute)
	})

	t.Run("extract from the exec stream", func(t *testing.T) {
		ex := sleeperPod(t, cs, ns, "hostile", cluster.HostileImage)
		for kind, entry := range hostileEntries {
			t.Run(kind, func(t *testing.T) {
				base := t.TempDir()
				dest := filepath.Join(base, "x", "y", "dest")
				sent := sentinels(dest)
				before := sentinelState(sent)
				pr, pw := io.Pipe()
				done := make(chan error, 1)
				go func() {
					err := ex.Exec(stepContext(t), []string{"sh", "-c", `HOSTILE_TAR=$1 tar -cf - .`, "sh", kind}, nil, pw, io.Discard)
					pw.CloseWithError(err)
					done <- err
				}()
				_, err := transfer.Extract(pr, transfer.LocalPath(dest), transfer.ExtractOptions{})
				pr.CloseWithError(errors.New("extract ended"))
				<-done
				var ue *transfer.UnsafeEntryError
				if !errors.As(err, &ue) || ue.Entry != entry {
					t.Errorf("Extract = %v, want *UnsafeEntryError for %q", err, entry)
				} else {
					t.Logf("refused: %v", err)
				}
				if after := sentinelState(sent); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Errorf("written outside the destination: before %v, after %v", before, after)
				}
				// Only the destination (with the harmless ok.txt, at most)
				// exists under base.
				for _, p := range tree(t, base) {
					switch p {
					case ". d---------", "x d---------", "x/y d---------", "x/y/dest d---------", "x/y/dest/ok.txt ----------":
					default:
						t.Errorf("unexpected path after extraction: %s", p)
					}
				}
			})
		}
	})
}

// TestReliabilityAgentPlacement: the agent finds a home where the image
// allows one and stays out of the way where it does not. With a read-only
// root file system it goes into the working directory (an emptyDir); where
// nothing is writable the transfer falls back to the image's tools and is
// still verified.
func TestReliabilityAgentPlacement(t *testing.T) {
	t.Parallel()
	if len(agentbin.Arches()) == 0 {
		t.Fatal("this test binary carries no agent: run `go generate ./transfer/agentbin` (make e2e does)")
	}
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "rel-agent")
	dir := t.TempDir()
	const size = 5 << 20 // above the 4 MiB an upload needs to install the agent
	src, sum := randomFile(t, dir, "in.bin", size)
	yes := true

	t.Run("read-only root", func(t *testing.T) {
		t.Parallel()
		ex := sleeperPodWith(t, cs, ns, "agent-ro", cluster.BusyboxImage, func(p *corev1.Pod) {
			c := &p.Spec.Containers[0]
			c.SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: &yes}
			c.WorkingDir = "/work"
			c.VolumeMounts = []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}
			p.Spec.Volumes = []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		})
		opts := transfer.Options{Agent: agentbin.For}
		res, err := transfer.Upload(stepContext(t), ex, transfer.LocalPath(src), transfer.RemotePath("/work/in.bin"), opts)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Agent || res.SHA256 != sum || res.Verified != transfer.VerifiedSHA256 {
			t.Errorf("upload: %+v, want the agent and sha256 %s", res, sum)
		}
		var out bytes.Buffer
		if err := ex.Exec(stepContext(t), []string{"ls", "-a", "/work"}, nil, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		// The agent's private directory (.cscript-XXXXXX) is in /work.
		if !strings.Contains(out.String(), ".cscript-") {
			t.Errorf("the agent is not in the working directory: %q", out.String())
		}
		back := filepath.Join(dir, "ro-back.bin")
		res, err = transfer.Download(stepContext(t), ex, transfer.RemotePath("/work/in.bin"), transfer.LocalPath(back), opts)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Agent || res.SHA256 != sum {
			t.Errorf("download: %+v, want the agent and sha256 %s", res, sum)
		}
	})

	t.Run("nothing writable", func(t *testing.T) {
		t.Parallel()
		uid := int64(1000)
		ex := sleeperPodWith(t, cs, ns, "agent-nowhere", cluster.BusyboxImage, func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: &yes, RunAsUser: &uid}
			p.Spec.Containers[0].WorkingDir = "/"
		})
		var want bytes.Buffer
		if err := ex.Exec(stepContext(t), []string{"cat", "/etc/passwd"}, nil, &want, io.Discard); err != nil {
			t.Fatal(err)
		}
		got := filepath.Join(dir, "passwd")
		res, err := transfer.Download(stepContext(t), ex, transfer.RemotePath("/etc/passwd"), transfer.LocalPath(got), transfer.Options{Agent: agentbin.For})
		if err != nil {
			t.Fatal(err)
		}
		if res.Agent || res.Verified != transfer.VerifiedSHA256 {
			t.Errorf("download: %+v, want the image's tools, sha256-verified", res)
		}
		if data, _ := os.ReadFile(got); !bytes.Equal(data, want.Bytes()) {
			t.Errorf("downloaded %q, want %q", data, want.String())
		}
	})
}
