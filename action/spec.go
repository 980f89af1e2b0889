package action

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/cscript-dev/cscript/credentials"
	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/runner"
	dockerbackend "github.com/cscript-dev/cscript/runner/docker"
	"github.com/cscript-dev/cscript/runner/kube"
	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/templates"
)

// buildSpec turns a rendered definition into what a backend runs. With
// readLocal false, local credential sources are not read (render --pod).
func (c *Configuration) buildSpec(ctx context.Context, r *Resolved, out *templates.Rendered, runID, user string, readLocal bool) (runner.Spec, error) {
	s := out.Script
	commit, _ := store.HeadCommit(r.Library.Library.Root)
	spec := runner.Spec{
		RunID: runID, Script: s.Name, Library: s.Source.Library, LibraryCommit: commit, Deck: deckName(r.Deck), User: user,
		Image: s.Image, Interpreter: s.Interpreter, ServiceAccount: s.ServiceAccount,
		Body: out.Body, Env: s.Env, Timeout: s.Timeout.Duration,
		RunAsNonRoot: s.RunAsNonRoot, Exclusive: s.Exclusive,
		Redact: append([]string(nil), out.Secrets...),
	}
	if readLocal {
		if err := c.checkTrust(r, out); err != nil {
			return spec, err
		}
	}
	var deckCreds []store.Credential
	if r.Deck != nil {
		deckCreds = r.Deck.Credentials
	}
	for _, cr := range credentials.Merge(s.Credentials, deckCreds) {
		rc := runner.Credential{Name: cr.Name}
		switch {
		case cr.Secret != nil:
			rc.SecretRef = &runner.SecretKeyRef{Name: cr.Secret.Name, Key: cr.Secret.Key}
		case readLocal:
			v, err := credentials.Read(ctx, cr, c.getenv)
			if err != nil {
				return spec, err
			}
			rc.Value = v
			spec.Redact = append(spec.Redact, v)
		default:
			rc.Value = "(read at run time)"
		}
		spec.Credentials = append(spec.Credentials, rc)
	}
	// An env var whose value carries a secret param goes through the run's
	// Secret like a credential, never into the Pod spec in clear.
	for name, v := range spec.Env {
		if containsAny(v, out.Secrets) {
			if _, dup := credentialNamed(spec.Credentials, name); dup {
				return spec, fmt.Errorf("script %s: env %s carries a secret param and is a credential too: rename one of them", s.Name, name)
			}
			env := maps.Clone(spec.Env)
			delete(env, name)
			spec.Env = env
			spec.Credentials = append(spec.Credentials, runner.Credential{Name: name, Value: v})
			spec.Redact = append(spec.Redact, v)
		}
	}
	for _, p := range s.Params {
		if p.Secret {
			if spec.SecretParams == nil {
				spec.SecretParams = map[string]string{}
			}
			spec.SecretParams[p.Name] = fmt.Sprint(out.Params[p.Name])
		}
	}
	for _, f := range s.Files.Upload {
		spec.Uploads = append(spec.Uploads, runner.FileCopy{Local: f.From, Remote: f.To})
	}
	for _, f := range s.Files.Download {
		spec.Downloads = append(spec.Downloads, runner.FileCopy{Local: f.To, Remote: f.From})
	}
	spec.Resources = runner.Resources{Requests: s.Resources.Requests, Limits: s.Resources.Limits}
	if _, err := kube.ResourceRequirements(spec.Resources); err != nil {
		return spec, err
	}
	return spec, nil
}

// Formats of a manifest (RenderOptions.Format).
const (
	formatYAML = "yaml"
	formatJSON = "json"
)

// kubeObjects are the Pod (mode job: the Job) and the run's Secret, its
// data replaced by ***, that a run of spec would create in namespace ns.
func kubeObjects(spec runner.Spec, ns, mode string, c *Configuration) ([]any, error) {
	var obj any
	var secret *corev1.Secret
	var err error
	if mode == history.ModeJob {
		obj, secret, err = kube.BuildJob(spec, ns, c.now(), "xxxxxx", kube.JobOptions{})
	} else {
		obj, secret, err = kube.BuildPod(spec, ns, c.now(), "xxxxxx")
	}
	if err != nil {
		return nil, err
	}
	docs := []any{obj}
	if secret != nil {
		s := secret.DeepCopy()
		for k := range s.Data {
			s.Data[k] = []byte("***")
		}
		for k := range s.StringData {
			s.StringData[k] = "***"
		}
		docs = append(docs, s)
	}
	return docs, nil
}

// ContainerManifest is what `render --pod` shows of a run on a Docker
// deck: the container cscript would create, taken from the configuration
// the Docker backend sends the engine, each secret env value replaced by
// ***.
type ContainerManifest struct {
	Kind       string            `json:"kind" yaml:"kind"`
	Image      string            `json:"image" yaml:"image"`
	Entrypoint []string          `json:"entrypoint" yaml:"entrypoint"`
	Command    []string          `json:"command" yaml:"command"`
	WorkingDir string            `json:"workingDir" yaml:"workingDir"`
	User       string            `json:"user,omitempty" yaml:"user,omitempty"`
	Env        []string          `json:"env" yaml:"env"`
	Labels     map[string]string `json:"labels" yaml:"labels"`
	// Mounts are the host's paths the container sees: none, the script and
	// the files are copied in and out.
	Mounts []string `json:"mounts" yaml:"mounts"`
	// CopyIn and CopyOut are the copies, LOCAL -> CONTAINER and
	// CONTAINER -> LOCAL; the script is copied in first.
	CopyIn  []string `json:"copyIn" yaml:"copyIn"`
	CopyOut []string `json:"copyOut,omitempty" yaml:"copyOut,omitempty"`
	// The hardening: capabilities dropped, security options, privileged.
	CapDrop     []string `json:"capDrop" yaml:"capDrop"`
	SecurityOpt []string `json:"securityOpt" yaml:"securityOpt"`
	Privileged  bool     `json:"privileged" yaml:"privileged"`
	// MemoryBytes is the memory limit (swap included); 0: none.
	MemoryBytes int64  `json:"memoryBytes,omitempty" yaml:"memoryBytes,omitempty"`
	Timeout     string `json:"timeout" yaml:"timeout"`
}

// containerOf is the container a run of spec on a Docker deck would create.
func containerOf(spec runner.Spec, c *Configuration) (*ContainerManifest, error) {
	ds, err := dockerbackend.SpecOf(spec, runner.RunOptions{})
	if err != nil {
		return nil, err
	}
	ds.Now = c.now
	cfg, host := dockerbackend.Config(ds)
	secret := map[string]bool{}
	for _, n := range ds.SecretEnv {
		secret[n] = true
	}
	m := &ContainerManifest{
		Kind: "DockerContainer", Image: cfg.Image, Entrypoint: cfg.Entrypoint, Command: cfg.Cmd, WorkingDir: cfg.WorkingDir,
		User: cfg.User, Env: []string{}, Labels: cfg.Labels, Mounts: append([]string{}, host.Binds...),
		CopyIn:  []string{"(the rendered script) -> " + dockerbackend.ScriptPath(ds.WorkDir)},
		CapDrop: host.CapDrop, SecurityOpt: host.SecurityOpt, Privileged: host.Privileged,
		MemoryBytes: host.Resources.Memory, Timeout: ds.Timeout.String(),
	}
	for _, e := range cfg.Env {
		if k, _, _ := strings.Cut(e, "="); secret[k] {
			e = k + "=***"
		}
		m.Env = append(m.Env, e)
	}
	for _, mt := range host.Mounts {
		m.Mounts = append(m.Mounts, mt.Source+":"+mt.Target)
	}
	for _, f := range ds.Uploads {
		m.CopyIn = append(m.CopyIn, f.Local+" -> "+f.Remote)
	}
	for _, f := range ds.Downloads {
		m.CopyOut = append(m.CopyOut, f.Remote+" -> "+f.Local)
	}
	return m, nil
}

// manifest is docs as YAML documents, or as JSON (several: a v1 List, as
// kubectl prints them), with every value of secrets replaced by ***.
func manifest(docs []any, format string, secrets []string) ([]byte, error) {
	red := redact.New(secrets...)
	if format == formatJSON {
		var v any = docs[0]
		if len(docs) > 1 {
			v = map[string]any{"apiVersion": "v1", "kind": "List", "items": docs}
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return nil, err
		}
		return red.Bytes(append(b, '\n')), nil
	}
	var out []byte
	for i, d := range docs {
		b, err := yaml.Marshal(d)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out = append(out, "---\n"...)
		}
		out = append(out, red.Bytes(b)...)
	}
	return out, nil
}

// containsAny says whether s contains one of the non-empty subs.
func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func credentialNamed(creds []runner.Credential, name string) (runner.Credential, bool) {
	for _, c := range creds {
		if c.Name == name {
			return c, true
		}
	}
	return runner.Credential{}, false
}
