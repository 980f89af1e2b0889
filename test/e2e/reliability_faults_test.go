//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/test/cluster"
)

// Fault 3 of the reliability suite: the API server and the kubelet go away
// in the middle of a run. These tests stop components of the shared cluster,
// so they are not parallel: Go runs them before every parallel test of the
// package, and each waits until the cluster is healthy again.

// relBigScript makes a file in the Pod and downloads it. The container gets
// a fifth of a core, so the download (tar and sha256sum in the container)
// takes longer than the API server's shutdown (about 10 s on the test
// cluster, during which established streams go on).
const relBigScript = `name: rel-big
description: reliability - a large download of random data made in the Pod.
image: shell
interpreter: sh
timeout: 10m
resources:
  limits:
    cpu: 200m
params:
  - name: out
  - name: mb
    type: int
    default: 400
files:
  download:
    - from: /work/big.bin
      to: "{{ .Params.out }}"
script: |
  head -c 10000000 /dev/urandom > /work/chunk
  i=0; while [ $i -lt {{ div .Params.mb 10 }} ]; do cat /work/chunk; i=$((i+1)); done > /work/big.bin
  rm /work/chunk
  sha256sum /work/big.bin
  echo made-big-file
`

// relKubeletScript sleeps through a kubelet restart, then makes a file to
// download.
const relKubeletScript = `name: rel-kubelet
description: reliability - a script that outlives a kubelet restart.
image: shell
interpreter: sh
timeout: 5m
params:
  - name: out
files:
  download:
    - from: /work/result.txt
      to: "{{ .Params.out }}"
script: |
  echo script-started
  sleep 8
  seq 1 200000 > /work/result.txt
  sha256sum /work/result.txt
  echo script-done
`

var sha256Line = regexp.MustCompile(`(?m)^([0-9a-f]{64}) +/work/`)

// checkFinalPath asserts that out exists only if the run succeeded, and then
// holds exactly what the Pod had (the sha256 the script printed), and that no
// temporary file is left beside it.
func checkFinalPath(t *testing.T, res cliResult, out string) {
	t.Helper()
	data, err := os.ReadFile(out)
	switch {
	case res.Code != 0 && err == nil:
		t.Errorf("the run failed (exit %d) but %s exists (%d bytes)", res.Code, out, len(data))
	case res.Code != 0 && !os.IsNotExist(err):
		t.Errorf("stat %s: %v", out, err)
	case res.Code == 0:
		m := sha256Line.FindStringSubmatch(res.Stdout)
		if err != nil || m == nil {
			t.Fatalf("the run succeeded but: read %s: %v; sha256 in the output: %v", out, err, m)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != m[1] {
			t.Errorf("%s has sha256 %s, the Pod's file %s", out, got, m[1])
		}
	}
	if left := localLeftovers(t, filepath.Dir(out)); len(left) > 0 {
		t.Errorf("temporary files left beside %s: %v", out, left)
	}
}

// TestReliabilityAPIServerRestart stops the API server during a 500 MB
// download and starts it again: cscript either fails with a message that
// says what happened and leaves no file at the destination, or (if the
// download survived) verifies it; nothing of the run is left once the API
// server is back.
func TestReliabilityAPIServerRestart(t *testing.T) {
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "rel-apiserver")
	h := newCLIHome(t, ns)
	h.file("rel/big.yaml", relBigScript)
	out := filepath.Join(h.root, "dl", "big.bin")

	p := h.start("run", "rel-big", "--deck", "e2e", "-v", "--set-string", "out="+out)
	if !p.waitOutput("s download download", 5*time.Minute) {
		t.Fatalf("the download never started:\n%s", p.wait(time.Minute).Stderr)
	}
	time.Sleep(100 * time.Millisecond)
	faultAt := time.Now()
	func() {
		// Whatever happens, the API server comes back.
		defer harnessCmd(t, "start", "kube-apiserver")
		harnessCmd(t, "stop", "kube-apiserver")
		time.Sleep(3 * time.Second)
	}()
	res := p.wait(5 * time.Minute)
	t.Logf("cscript: exit %d, %s after the fault\nstderr:\n%s", res.Code, time.Since(faultAt).Round(time.Millisecond), res.Stderr)
	waitClusterHealthy(t, cs, faultAt)

	if res.Code == 0 {
		t.Logf("the download finished before the API server went away")
	} else {
		if res.Code != 125 {
			t.Errorf("exit %d, want 125 (cscript failed around the script)", res.Code)
		}
		msg := lastLines(res.Stderr, 3)
		if !strings.Contains(msg, "download /work/big.bin") {
			t.Errorf("the message does not say which transfer failed:\n%s", msg)
		}
		if !strings.Contains(msg, "API server") {
			t.Errorf("the message does not say that the connection to the API server was lost:\n%s", msg)
		}
	}
	checkFinalPath(t, res, out)
	assertNamespaceClean(t, cs, ns, 60*time.Second)
}

// TestReliabilityKubeletRestart restarts the kubelet while a script runs:
// cscript either fails with a message that says so or returns the correct
// result; there is no partial file and nothing is left behind.
func TestReliabilityKubeletRestart(t *testing.T) {
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "rel-kubelet")
	h := newCLIHome(t, ns)
	h.file("rel/kubelet.yaml", relKubeletScript)
	out := filepath.Join(h.root, "dl", "result.txt")

	p := h.start("run", "rel-kubelet", "--deck", "e2e", "-v", "--set-string", "out="+out)
	if !p.waitOutput("script-started", 2*time.Minute) {
		t.Fatalf("the script never started:\n%s", p.wait(time.Minute).Stderr)
	}
	faultAt := time.Now()
	harnessCmd(t, "restart", "kubelet")
	res := p.wait(5 * time.Minute)
	t.Logf("cscript: exit %d, %s after the fault\nstdout:\n%s\nstderr:\n%s", res.Code, time.Since(faultAt).Round(time.Millisecond), res.Stdout, res.Stderr)
	if res.Code == 0 {
		if !strings.Contains(res.Stdout, "script-done") {
			t.Errorf("exit 0 without the script's end in its output")
		}
	} else {
		msg := lastLines(res.Stderr, 3)
		if res.Code != 125 && res.Code < 128 {
			t.Errorf("exit %d: neither cscript's failure (125) nor a signal", res.Code)
		}
		if !strings.Contains(msg, "lost") && !strings.Contains(msg, "kubelet") {
			t.Errorf("the message does not say that the connection to the container was lost:\n%s", msg)
		}
	}
	checkFinalPath(t, res, out)
	assertNamespaceClean(t, cs, ns, 2*time.Minute)
	waitClusterHealthy(t, cs, faultAt)
}

// lastLines returns the last n non-empty lines of s.
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
