//go:build e2e

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/test/cluster"
)

// Team history on the real cluster, with two real users: alice and bob have
// client certificates of their own (CN=alice, CN=bob, signed by the cluster
// through the CertificateSigningRequest API) and a Role in the namespace, and
// each runs cscript from a home and library of their own.

const (
	teamHelloScript = `name: team-hello
description: e2e - says hello after reading an uploaded file.
image: shell
interpreter: sh
params:
  - name: in
    type: file
    required: true
files:
  upload:
    - from: "{{ .Params.in }}"
      to: /work/in.txt
script: |
  echo "hello from the team: $(cat /work/in.txt)"
`
	teamFailScript = `name: team-fail
description: e2e - fails with exit code 3.
image: shell
interpreter: sh
script: |
  echo "going to fail" >&2
  exit 3
`
	teamSleepScript = `name: team-sleep
description: e2e - prints a marker, then sleeps.
image: shell
interpreter: sh
timeout: 5m
script: |
  echo "team-sleep-marker"
  sleep 120
`
	teamRetainScript = `name: team-retain
description: e2e - a quick run, for retention.
image: shell
interpreter: sh
script: echo retained
`
)

// teamRules is what a cscript user needs in a namespace (Pods, exec, logs,
// Secrets, Jobs, Leases, events for diagnostics), with or without
// ConfigMaps.
func teamRules(configMaps bool) []rbacv1.PolicyRule {
	core := []string{"pods", "pods/exec", "pods/log", "pods/attach", "secrets", "events"}
	if configMaps {
		core = append(core, "configmaps")
	}
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: core, Verbs: []string{"*"}},
		{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"*"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"*"}},
	}
}

// teamGrant gives users the Role of teamRules in ns.
func teamGrant(t *testing.T, cs kubernetes.Interface, ns string, configMaps bool, users ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "cscript-user"},
		Rules:      teamRules(configMaps),
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var subjects []rbacv1.Subject
	for _, u := range users {
		subjects = append(subjects, rbacv1.Subject{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: u})
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "cscript-user"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "cscript-user"},
		Subjects:   subjects,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// teamUserKubeconfig makes a client certificate for CN=name, signed by the
// cluster (a CertificateSigningRequest for kube-apiserver-client, approved by
// the admin), and writes a kubeconfig that uses it.
func teamUserKubeconfig(t *testing.T, cs kubernetes.Interface, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}}, key)
	if err != nil {
		t.Fatal(err)
	}
	expiry := int32(3600)
	csr, err := cs.CertificatesV1().CertificateSigningRequests().Create(ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "cscript-e2e-" + name + "-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName:        certificatesv1.KubeAPIServerClientSignerName,
			Usages:            []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			ExpirationSeconds: &expiry,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create the CSR of %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cs.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), csr.Name, metav1.DeleteOptions{})
	})
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "CscriptE2E", Message: "a user of the team history test",
	})
	if _, err := cs.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("approve the CSR of %s: %v", name, err)
	}
	var cert []byte
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		got, err := cs.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		cert = got.Status.Certificate
		return len(cert) > 0, nil
	})
	if err != nil {
		t.Fatalf("the controller manager did not sign the CSR of %s: %v", name, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}

	admin := cluster.RESTConfig(t)
	ca := admin.CAData
	if len(ca) == 0 && admin.CAFile != "" {
		if ca, err = os.ReadFile(admin.CAFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: ca, TLSServerName: admin.ServerName}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cert,
		ClientKeyData:         pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: name, Namespace: "default"}
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// teamHome is a cscript home for user: its kubeconfig, its git identity
// (name@example.com) and the test scripts, committed as that user.
func teamHome(t *testing.T, ns, user, kubeconfig string) (*cliHome, string) {
	t.Helper()
	h := newCLIHome(t, ns)
	h.kubeconfig = kubeconfig
	h.setenv("KUBECONFIG", kubeconfig)
	identity := fmt.Sprintf("[user]\n\tname = %s\n\temail = %s@example.com\n", user, user)
	for _, f := range []string{"gitconfig", ".gitconfig"} { // git's and go-git's global config
		if err := os.WriteFile(filepath.Join(h.root, f), []byte(identity), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{"team-hello": teamHelloScript, "team-fail": teamFailScript, "team-sleep": teamSleepScript, "team-retain": teamRetainScript} {
		h.file("team/"+name+".yaml", body)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = h.lib(), h.env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("add", "-A")
	git("commit", "-q", "-m", user+"'s team scripts")
	return h, git("rev-parse", "HEAD")
}

// teamRecords is `cscript runs --cluster -o json ARGS…` as h, in h's namespace.
func teamRecords(t *testing.T, h *cliHome, args ...string) []kube.TeamRecord {
	t.Helper()
	res := h.must(append([]string{"runs", "--cluster", "-n", h.ns, "-o", "json", "--limit", "0"}, args...)...)
	var recs []kube.TeamRecord
	if err := json.Unmarshal([]byte(res.Stdout), &recs); err != nil {
		t.Fatalf("runs --cluster -o json: %v\n%s", err, res.Stdout)
	}
	return recs
}

func teamFind(recs []kube.TeamRecord, id string) *kube.TeamRecord {
	for i := range recs {
		if recs[i].ID == id {
			return &recs[i]
		}
	}
	return nil
}

// TestTeamHistoryTwoUsers: alice and bob each see the other's runs, with the
// right Kubernetes user, git identity, library commit and outcome; a run in
// progress shows as running and, once its cscript is killed, stays so until
// `cscript gc` marks it abandoned; a protected deck names the last one who
// ran the script; a deck's teamHistory.keep bounds the records of a script.
func TestTeamHistoryTwoUsers(t *testing.T) {
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "team")
	teamGrant(t, cs, ns, true, "alice", "bob")
	alice, aliceCommit := teamHome(t, ns, "alice", teamUserKubeconfig(t, cs, "alice"))
	bob, bobCommit := teamHome(t, ns, "bob", teamUserKubeconfig(t, cs, "bob"))
	if aliceCommit == bobCommit {
		t.Fatalf("alice and bob have the same library commit %s", aliceCommit)
	}
	in := filepath.Join(alice.root, "greeting.txt")
	if err := os.WriteFile(in, []byte("hi bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// RBAC objects take effect within a moment: the first run may retry.
	var res cliResult
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		res = alice.run("run", "team-hello", "--deck", "e2e", "--set", "in="+in)
		if res.Code == 0 || time.Now().After(deadline) {
			break
		}
	}
	if res.Code != 0 || !strings.Contains(res.Stdout, "hello from the team: hi bob") {
		t.Fatalf("alice's run: exit %d\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	if strings.Contains(res.Stderr, "warning:") {
		t.Errorf("alice's run warned:\n%s", res.Stderr)
	}
	aliceRun := cliMustRunID(t, res)
	res = bob.run("run", "team-fail", "--deck", "e2e")
	if res.Code != 3 {
		t.Fatalf("bob's run: exit %d, want 3\nstderr: %s", res.Code, res.Stderr)
	}
	bobRun := cliMustRunID(t, res)
	res = alice.must("run", "team-retain", "--deck", "e2e", "--mode", "job")
	aliceJob := cliMustRunID(t, res)

	// Each sees the other's runs.
	for _, viewer := range []*cliHome{alice, bob} {
		recs := teamRecords(t, viewer)
		a, b, j := teamFind(recs, aliceRun), teamFind(recs, bobRun), teamFind(recs, aliceJob)
		if a == nil || b == nil || j == nil {
			t.Fatalf("runs --cluster as %s lacks a run: %+v", viewer.kubeconfig, recs)
		}
		if a.KubernetesUser != "alice" || a.User != "alice@example.com" || a.LibraryCommit != aliceCommit || a.State != history.StateSucceeded ||
			a.ExitCode != 0 || a.Script != "team-hello" || a.Deck != "e2e" || a.Namespace != ns || a.Mode != history.ModePod || a.End.IsZero() {
			t.Errorf("alice's run as seen by %s: %+v", viewer.kubeconfig, a)
		}
		if b.KubernetesUser != "bob" || b.User != "bob@example.com" || b.LibraryCommit != bobCommit || b.State != history.StateFailed ||
			b.ExitCode != 3 || b.Script != "team-fail" {
			t.Errorf("bob's run as seen by %s: %+v", viewer.kubeconfig, b)
		}
		if j.Mode != history.ModeJob || j.KubernetesUser != "alice" || j.State != history.StateSucceeded || !strings.HasPrefix(j.Name, "cscript-team-retain") {
			t.Errorf("alice's job run: %+v", j)
		}
		sum := cliFileSHA256(t, in)
		if len(a.Uploads) != 1 || a.Uploads[0].Path != "/work/in.txt" || a.Uploads[0].Local != "greeting.txt" || a.Uploads[0].Bytes != 7 || a.Uploads[0].SHA256 != sum {
			t.Errorf("alice's upload: %+v, want /work/in.txt from greeting.txt, 7 bytes, sha256 %s", a.Uploads, sum)
		}
		if len(a.ScriptSHA256) != 64 || a.Host == "" {
			t.Errorf("alice's run: script sha256 %q host %q", a.ScriptSHA256, a.Host)
		}
	}
	if recs := teamRecords(t, bob, "--user", "alice"); len(recs) != 2 || teamFind(recs, aliceRun) == nil {
		t.Errorf("--user alice: %+v", recs)
	}
	if recs := teamRecords(t, bob, "--script", "team-fail", "--since", "1h"); len(recs) != 1 || recs[0].ID != bobRun {
		t.Errorf("--script team-fail --since 1h: %+v", recs)
	}
	table := bob.must("runs", "--cluster", "--deck", "e2e").Stdout
	t.Logf("bob's runs --cluster --deck e2e:\n%s", table)
	for _, want := range []string{"USER", "alice", "alice@example.com", aliceRun, bobRun, "failed", aliceCommit[:12]} {
		if !strings.Contains(table, want) {
			t.Errorf("runs --cluster table lacks %q:\n%s", want, table)
		}
	}
	// bob has no local record of alice's run: show finds it in the namespace.
	res = bob.run("runs", "show", aliceRun, "-o", "json") // the current context's namespace
	if res.Code != 4 || !strings.Contains(res.Stderr, "nor in the team history of namespace default") {
		t.Errorf("runs show of alice's run outside its namespace: exit %d\n%s", res.Code, res.Stderr)
	}
	res = bob.must("runs", "show", aliceRun, "-o", "json", "--deck", "e2e")
	var shown kube.TeamRecord
	if err := json.Unmarshal([]byte(res.Stdout), &shown); err != nil || shown.KubernetesUser != "alice" || shown.ID != aliceRun {
		t.Errorf("bob's runs show %s: %v\n%s", aliceRun, err, res.Stdout)
	}
	// The record is found with kubectl's selector and holds no output.
	cms, err := cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "cscript.dev/record=run"})
	if err != nil || len(cms.Items) != 3 {
		t.Fatalf("configmaps -l cscript.dev/record=run: %d, %v", len(cms.Items), err)
	}
	for _, cm := range cms.Items {
		if strings.Contains(cm.Data[kube.TeamRecordKey], "hello from the team") || strings.Contains(cm.Data[kube.TeamRecordKey], "going to fail") {
			t.Errorf("a record holds the script's output: %s", cm.Data[kube.TeamRecordKey])
		}
		if cm.Labels["app.kubernetes.io/managed-by"] != "cscript" || cm.Labels["cscript.dev/state"] == "" || cm.Labels["cscript.dev/deck"] != "e2e" {
			t.Errorf("labels of %s: %v", cm.Name, cm.Labels)
		}
	}

	// A protected deck says who ran the script there last.
	bob.file("decks/prod.yaml", cliDeck(ns, "protected: true\n"))
	res = bob.run("run", "team-fail", "--deck", "prod", "--yes")
	if res.Code != 3 || !strings.Contains(res.Stderr, "last run of team-fail in namespace "+ns+": by bob (bob@example.com)") {
		t.Errorf("protected deck banner: exit %d\n%s", res.Code, res.Stderr)
	}
	res = alice.run("run", "team-hello", "--deck", "e2e", "--set", "in="+in) // not protected: no banner
	if strings.Contains(res.Stderr, "last run of") {
		t.Errorf("banner on an unprotected deck:\n%s", res.Stderr)
	}
	alice.file("decks/prod.yaml", cliDeck(ns, "protected: true\n"))
	res = alice.run("run", "team-fail", "--deck", "prod", "--yes")
	t.Logf("alice on the protected deck:\n%s", res.Stderr)
	if !strings.Contains(res.Stderr, "last run of team-fail in namespace "+ns+": by bob (bob@example.com)") || !strings.Contains(res.Stderr, "failed, exit 3") {
		t.Errorf("alice's banner on the protected deck does not name bob's run:\n%s", res.Stderr)
	}

	// A run in progress is visible; killed with SIGKILL it stays unfinished
	// until gc finds its Pod gone.
	p := bob.start("run", "team-sleep", "--deck", "e2e")
	if !p.waitOutput("team-sleep-marker", 2*time.Minute) {
		res := p.wait(time.Second)
		t.Fatalf("no marker: exit %d\n%s", res.Code, res.Stderr)
	}
	sleepRun := runIDOf(p.stderr.String())
	if r := teamFind(teamRecords(t, alice, "--script", "team-sleep"), sleepRun); r == nil || r.State != history.StateRunning || r.KubernetesUser != "bob" {
		t.Fatalf("bob's run in progress as alice sees it: %+v", r)
	}
	p.signal(syscall.SIGKILL)
	if res := p.wait(30 * time.Second); !res.Signaled {
		t.Fatalf("cscript was not killed: exit %d", res.Code)
	}
	if r := teamFind(teamRecords(t, alice, "--script", "team-sleep"), sleepRun); r == nil || r.State != history.StateRunning || !r.End.IsZero() {
		t.Errorf("the killed run: %+v, want it running with no end", r)
	}
	res = alice.must("gc", "--deck", "e2e", "--older-than", "1s")
	t.Logf("gc:\n%s", res.Stdout)
	if !strings.Contains(res.Stdout, "marked team record "+ns+"/"+kube.TeamRecordName(sleepRun)+" abandoned") {
		t.Errorf("gc:\n%s", res.Stdout)
	}
	if r := teamFind(teamRecords(t, bob, "--script", "team-sleep"), sleepRun); r == nil || r.State != history.StateAbandoned || r.Reason != kube.ReasonTeamGone {
		t.Errorf("after gc: %+v, want abandoned", r)
	}
	if res := alice.must("gc", "--deck", "e2e", "--older-than", "1s"); strings.Contains(res.Stdout, "team record") {
		t.Errorf("a second gc marked again:\n%s", res.Stdout)
	}

	// Retention: a deck keeping 2 leaves exactly the 2 newest finished
	// records of the script (the job run above counts as one).
	alice.file("decks/kept.yaml", cliDeck(ns, "teamHistory:\n  keep: 2\n"))
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, cliMustRunID(t, alice.must("run", "team-retain", "--deck", "kept")))
	}
	cms, err = cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "cscript.dev/record=run,cscript.dev/script=team-retain"})
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, cm := range cms.Items {
		kept = append(kept, cm.Name)
	}
	sort.Strings(kept)
	if want := []string{kube.TeamRecordName(ids[1]), kube.TeamRecordName(ids[2])}; strings.Join(kept, " ") != strings.Join(want, " ") {
		t.Errorf("kept %v, want the two newest %v", kept, want)
	}
	// Other scripts' records are untouched.
	if n := len(teamRecords(t, bob, "--script", "team-fail")); n != 3 {
		t.Errorf("%d records of team-fail, want 3", n)
	}

	// A detached Job run is running until `runs attach` follows it to its end.
	res = bob.must("run", "team-fail", "--deck", "e2e", "--mode", "job", "--detach")
	detached := strings.TrimSpace(res.Stdout)
	if r := teamFind(teamRecords(t, alice, "--script", "team-fail"), detached); r == nil || r.State != history.StateRunning || r.Mode != history.ModeJob {
		t.Errorf("the detached run: %+v, want it running", r)
	}
	if res := bob.run("runs", "attach", detached); res.Code != 3 {
		t.Errorf("runs attach: exit %d, want 3\n%s", res.Code, res.Stderr)
	}
	if r := teamFind(teamRecords(t, alice, "--script", "team-fail"), detached); r == nil || r.State != history.StateFailed || r.ExitCode != 3 || len(r.ScriptSHA256) != 64 || r.KubernetesUser != "bob" {
		t.Errorf("the attached run: %+v, want it failed with exit 3, its script's sum and user kept", r)
	}

	// Ctrl-C: the record says interrupted, although the run's context ended.
	p = bob.start("run", "team-sleep", "--deck", "e2e")
	if !p.waitOutput("team-sleep-marker", 2*time.Minute) {
		t.Fatalf("no marker:\n%s", p.wait(time.Second).Stderr)
	}
	interrupted := runIDOf(p.stderr.String())
	p.signal(syscall.SIGINT)
	if res := p.wait(time.Minute); res.Code != 130 {
		t.Errorf("interrupted run: exit %d, want 130", res.Code)
	}
	if r := teamFind(teamRecords(t, alice, "--script", "team-sleep"), interrupted); r == nil || r.State != history.StateInterrupted || r.ExitCode != 130 {
		t.Errorf("the interrupted run: %+v", r)
	}

	// A lifecycle event's script leaves a record too.
	alice.must("resource", "create", "id1", "--lifecycle", "demo-id", "--deck", "e2e")
	var ev *kube.TeamRecord
	for _, r := range teamRecords(t, bob) {
		if r.Event == "create" {
			ev = &r
		}
	}
	if ev == nil || ev.Resource != "id1" || ev.Mode != history.ModeJob || ev.State != history.StateSucceeded || ev.KubernetesUser != "alice" {
		t.Errorf("the lifecycle create's record: %+v", ev)
	}
}

// TestTeamHistoryWithoutPermission: a user who may not create ConfigMaps in
// the namespace gets one warning naming the permission and the run succeeds;
// on a deck that requires team history the run is refused before anything
// is created, with what to do.
func TestTeamHistoryWithoutPermission(t *testing.T) {
	cs := cluster.Clientset(t)
	ns := cluster.Namespace(t, cs, "team-locked")
	teamGrant(t, cs, ns, false, "carol")
	carol, _ := teamHome(t, ns, "carol", teamUserKubeconfig(t, cs, "carol"))

	var res cliResult
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		res = carol.run("run", "team-fail", "--deck", "e2e")
		if res.Code == 3 || time.Now().After(deadline) {
			break
		}
	}
	if res.Code != 3 {
		t.Fatalf("exit %d, want the script's 3\nstderr: %s", res.Code, res.Stderr)
	}
	in := filepath.Join(carol.root, "in.txt")
	if err := os.WriteFile(in, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res = carol.run("run", "team-hello", "--deck", "e2e", "--set", "in="+in)
	if res.Code != 0 {
		t.Fatalf("exit %d, want 0\nstderr: %s", res.Code, res.Stderr)
	}
	if n := strings.Count(res.Stderr, "warning:"); n != 1 || !strings.Contains(res.Stderr, "create configmaps in namespace "+ns) {
		t.Errorf("%d warnings, want one naming create configmaps in namespace %s:\n%s", n, ns, res.Stderr)
	}
	cms, err := cs.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "cscript.dev/record=run"})
	if err != nil || len(cms.Items) != 0 {
		t.Errorf("records in a namespace carol may not write: %d, %v", len(cms.Items), err)
	}
	if recs := cliRunRecords(carol); len(recs) != 2 || recs[0].State != history.StateSucceeded {
		t.Errorf("carol's local records: %+v", recs)
	}

	cliAwaitNamespaceEmpty(t, cs, ns, time.Minute)
	carol.file("decks/audited.yaml", cliDeck(ns, "teamHistory: required\n"))
	res = carol.run("run", "team-hello", "--deck", "audited", "--set", "in="+in)
	if res.Code != 125 || strings.Contains(res.Stdout, "hello from the team") {
		t.Fatalf("required: exit %d, want 125 and no run\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	for _, want := range []string{"deck audited requires team history", "create configmaps in namespace " + ns, "ask for a Role", "nothing was run"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, res.Stderr)
		}
	}
	if left := cliNamespaceObjects(t, cs, ns); len(left) != 0 {
		t.Errorf("created although refused: %v", left)
	}
	if recs := cliRunRecords(carol); len(recs) != 2 {
		t.Errorf("the refused run left a local record: %+v", recs)
	}
}
