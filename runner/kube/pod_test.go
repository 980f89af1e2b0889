package kube

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/runner"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func minimalSpec() runner.Spec {
	return runner.Spec{
		RunID:       "20260301T120000-ab12",
		Script:      "hello",
		Library:     "examples",
		Deck:        "local",
		User:        "alice",
		Image:       "busybox:1.36",
		Interpreter: runner.InterpreterSh,
		Body:        "echo hello\n",
	}
}

func fullSpec() runner.Spec {
	s := minimalSpec()
	s.Script = "db-restore"
	s.LibraryCommit = "0123456789abcdef0123456789abcdef01234567"
	s.Image = "postgres:15"
	s.Interpreter = runner.InterpreterBash
	s.ServiceAccount = "restorer"
	s.Env = map[string]string{"PGHOST": "db.prod", "PGDATABASE": "app"}
	s.Credentials = []runner.Credential{
		{Name: "PGPASSWORD", SecretRef: &runner.SecretKeyRef{Name: "db", Key: "password"}},
		{Name: "API_TOKEN", Value: "tok-SUPERSECRET-1"},
	}
	s.SecretParams = map[string]string{"admin-pass": "hunter2-SUPERSECRET"}
	s.Timeout = 90 * time.Second
	s.Resources = runner.Resources{
		Requests: map[string]string{"cpu": "100m", "memory": "64Mi"},
		Limits:   map[string]string{"memory": "256Mi"},
	}
	s.RunAsNonRoot = true
	s.Redact = []string{"tok-SUPERSECRET-1", "hunter2-SUPERSECRET"}
	return s
}

func TestBuildPodGolden(t *testing.T) {
	tests := []struct {
		name string
		spec runner.Spec
	}{
		{"minimal", minimalSpec()},
		{"full", fullSpec()},
		{"python-long-name", func() runner.Spec {
			s := minimalSpec()
			s.Script = strings.Repeat("very-long-script-name-", 5)
			s.Interpreter = runner.InterpreterPython
			s.Image = "python:3.11-slim"
			s.Expiry = 2 * time.Hour
			return s
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod, secret, err := BuildPod(tt.spec, "team-a", testNow, "x7k2p9")
			if err != nil {
				t.Fatal(err)
			}
			got := marshalYAML(t, pod)
			if secret != nil {
				got += "---\n" + marshalYAML(t, secret)
			}
			golden := filepath.Join("testdata", "pod-"+tt.name+".yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("BuildPod mismatch (-golden +got):\n%s", diff)
			}
			// The golden file decodes back to the same Pod.
			var decoded corev1.Pod
			if err := yaml.Unmarshal([]byte(strings.SplitN(string(want), "---\n", 2)[0]), &decoded); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(pod, &decoded); diff != "" {
				t.Errorf("golden pod decodes differently (-got +golden):\n%s", diff)
			}
		})
	}
}

func marshalYAML(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// No secret value (nor its base64) appears anywhere in the Pod; every one is
// in the Secret.
func TestBuildPodHasNoSecretValues(t *testing.T) {
	spec := fullSpec()
	pod, secret, err := BuildPod(spec, "team-a", testNow, "x7k2p9")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	podJSON := string(b)
	for _, v := range spec.Redact {
		for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
			if strings.Contains(podJSON, form) {
				t.Errorf("pod contains secret value %q", form)
			}
		}
	}
	if secret == nil {
		t.Fatal("no secret built for local credentials and secret params")
	}
	want := map[string]string{"API_TOKEN": "tok-SUPERSECRET-1", "CSCRIPT_PARAM_ADMIN_PASS": "hunter2-SUPERSECRET"}
	got := map[string]string{}
	for k, v := range secret.Data {
		got[k] = string(v)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("secret data (-want +got):\n%s", diff)
	}
	// Every env var that is not plain refers to a Secret key.
	refs := map[string]string{}
	for _, e := range pod.Spec.Containers[0].Env {
		if e.ValueFrom != nil {
			refs[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	wantRefs := map[string]string{
		"PGPASSWORD":               "db/password",
		"API_TOKEN":                secret.Name + "/API_TOKEN",
		"CSCRIPT_PARAM_ADMIN_PASS": secret.Name + "/CSCRIPT_PARAM_ADMIN_PASS",
	}
	if diff := cmp.Diff(wantRefs, refs); diff != "" {
		t.Errorf("secret refs (-want +got):\n%s", diff)
	}
}

func TestBuildPodNoSecretWhenOnlyRefs(t *testing.T) {
	spec := minimalSpec()
	spec.Credentials = []runner.Credential{{Name: "TOKEN", SecretRef: &runner.SecretKeyRef{Name: "s", Key: "k"}}}
	_, secret, err := BuildPod(spec, "ns", testNow, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if secret != nil {
		t.Errorf("got a run secret %s, want none", secret.Name)
	}
	if needsSecret(spec) {
		t.Error("needsSecret = true, want false")
	}
}

func TestBuildPodErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*runner.Spec)
		want   string
	}{
		{"no image", func(s *runner.Spec) { s.Image = "" }, "has no image"},
		{"no script", func(s *runner.Spec) { s.Script = "" }, "no script name"},
		{"bad interpreter", func(s *runner.Spec) { s.Interpreter = "perl" }, `unknown interpreter "perl"`},
		{"bad env name", func(s *runner.Spec) { s.Env = map[string]string{"1X": "v"} }, "not a valid env var name"},
		{"env twice", func(s *runner.Spec) {
			s.Env = map[string]string{"TOKEN": "v"}
			s.Credentials = []runner.Credential{{Name: "TOKEN", Value: "x"}}
		}, "env var TOKEN is set twice"},
		{"builtin clash", func(s *runner.Spec) { s.Env = map[string]string{"CSCRIPT_RUN_ID": "v"} }, "set twice"},
		{"empty ref", func(s *runner.Spec) {
			s.Credentials = []runner.Credential{{Name: "T", SecretRef: &runner.SecretKeyRef{Name: "s"}}}
		}, "needs a name and a key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := minimalSpec()
			tt.modify(&spec)
			_, _, err := BuildPod(spec, "ns", testNow, "abc")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("BuildPod error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestObjectName(t *testing.T) {
	tests := []struct {
		script, suffix, want string
	}{
		{"hello", "abc123", "cscript-hello-abc123"},
		{"DB_Restore.v2", "abc123", "cscript-db-restore-v2-abc123"},
		{strings.Repeat("a", 80), "abc123", "cscript-" + strings.Repeat("a", 48) + "-abc123"},
		{strings.Repeat("ab-", 30), "abc123", "cscript-" + strings.TrimRight(strings.Repeat("ab-", 16), "-") + "-abc123"},
		{"hello", "", "cscript-hello"},
	}
	for _, tt := range tests {
		got := objectName(tt.script, tt.suffix)
		if got != tt.want {
			t.Errorf("objectName(%q, %q) = %q, want %q", tt.script, tt.suffix, got, tt.want)
		}
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("objectName(%q) = %q is not a DNS label: %v", tt.script, got, errs)
		}
	}
}

func TestSecretParamEnv(t *testing.T) {
	for in, want := range map[string]string{"password": "CSCRIPT_PARAM_PASSWORD", "admin-pass": "CSCRIPT_PARAM_ADMIN_PASS", "a.b": "CSCRIPT_PARAM_A_B"} {
		if got := runner.SecretParamEnv(in); got != want {
			t.Errorf("SecretParamEnv(%q) = %q, want %q", in, got, want)
		}
	}
}
