package action

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/cscript-dev/cscript/credentials"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/runner"
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

// podYAML is the Pod and Secret a run of spec would create in namespace
// ns, as YAML documents; the Secret's data and every secret value are
// replaced by ***.
func podYAML(spec runner.Spec, ns string, c *Configuration) ([]byte, error) {
	pod, secret, err := kube.BuildPod(spec, ns, c.now(), "xxxxxx")
	if err != nil {
		return nil, err
	}
	docs := []any{pod}
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
	red := redact.New(spec.Redact...)
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
