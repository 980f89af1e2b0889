package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kubeconfigA = `apiVersion: v1
kind: Config
current-context: ctx-a
clusters:
- name: c1
  cluster: {server: "https://127.0.0.1:6443"}
- name: c2
  cluster: {server: "https://127.0.0.2:6443"}
users:
- name: u
  user: {token: abc}
contexts:
- name: ctx-a
  context: {cluster: c1, user: u, namespace: ns-a}
- name: ctx-b
  context: {cluster: c2, user: u}
`

const kubeconfigC = `apiVersion: v1
kind: Config
current-context: ctx-c
clusters:
- name: c3
  cluster: {server: "https://127.0.0.3:6443"}
users:
- name: u
  user: {token: abc}
contexts:
- name: ctx-c
  context: {cluster: c3, user: u, namespace: ns-c}
`

func TestLoadTarget(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	c := filepath.Join(dir, "c")
	for p, s := range map[string]string{a: kubeconfigA, c: kubeconfigC} {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		kubeconfig string // KUBECONFIG
		opts       TargetOptions
		want       string // context/namespace
		wantHost   string
		wantErr    string
	}{
		{name: "current context and its namespace", kubeconfig: a, want: "ctx-a/ns-a", wantHost: "https://127.0.0.1:6443"},
		{name: "context without namespace is default", kubeconfig: a, opts: TargetOptions{Context: "ctx-b"}, want: "ctx-b/default", wantHost: "https://127.0.0.2:6443"},
		{name: "deck pins", kubeconfig: a, opts: TargetOptions{DeckContext: "ctx-b", DeckNamespace: "deck-ns"}, want: "ctx-b/deck-ns"},
		{name: "flags beat deck", kubeconfig: a, opts: TargetOptions{Context: "ctx-a", Namespace: "flag-ns", DeckContext: "ctx-b", DeckNamespace: "deck-ns"}, want: "ctx-a/flag-ns"},
		{name: "KUBECONFIG list merges, first wins", kubeconfig: c + string(os.PathListSeparator) + a, want: "ctx-c/ns-c"},
		{name: "context from the second file", kubeconfig: c + string(os.PathListSeparator) + a, opts: TargetOptions{Context: "ctx-a"}, want: "ctx-a/ns-a"},
		{name: "--kubeconfig beats KUBECONFIG", kubeconfig: c, opts: TargetOptions{Kubeconfig: a}, want: "ctx-a/ns-a"},
		{name: "unknown context", kubeconfig: a, opts: TargetOptions{Context: "nope"}, wantErr: `context "nope" (--context) is not in ` + a + ` ($KUBECONFIG): its contexts are ctx-a, ctx-b`},
		{name: "unknown deck context", kubeconfig: c, opts: TargetOptions{DeckContext: "prod"}, wantErr: `context "prod" (the deck's context) is not in ` + c + ` ($KUBECONFIG): its contexts are ctx-c`},
		{name: "no kubeconfig at all", kubeconfig: filepath.Join(dir, "none"), wantErr: "no kubeconfig file: tried " + filepath.Join(dir, "none") + " ($KUBECONFIG)"},
		{name: "missing explicit file", kubeconfig: a, opts: TargetOptions{Kubeconfig: filepath.Join(dir, "none")}, wantErr: "load kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.kubeconfig)
			got, err := LoadTarget(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadTarget error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("target = %s, want %s", got, tt.want)
			}
			if tt.wantHost != "" && got.Config.Host != tt.wantHost {
				t.Errorf("host = %s, want %s", got.Config.Host, tt.wantHost)
			}
			if got.Client == nil {
				t.Error("no client")
			}
		})
	}
}
