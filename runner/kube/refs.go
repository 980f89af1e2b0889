package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/cscript-dev/cscript/runner"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// secretRefValues returns the values behind the spec's Secret refs, so that
// the script's output can be redacted: the kubelet resolves them, and a
// script that prints one would otherwise show it. It reads the Secrets (one
// GET each, bodies kept out of client-go's log), or, when that is not
// allowed, the env of the running container through ex.
func (r *Runner) secretRefValues(ctx context.Context, spec runner.Spec, ex Executor) ([]string, error) {
	var names []string
	bySecret := map[string][]runner.Credential{}
	for _, c := range spec.Credentials {
		if c.SecretRef != nil {
			names = append(names, c.Name)
			bySecret[c.SecretRef.Name] = append(bySecret[c.SecretRef.Name], c)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	var values []string
	secrets := make([]string, 0, len(bySecret))
	for s := range bySecret {
		secrets = append(secrets, s)
	}
	sort.Strings(secrets)
	for _, name := range secrets {
		s, err := r.Client.CoreV1().Secrets(r.Namespace).Get(withoutBodies(ctx), name, metav1.GetOptions{})
		if err != nil {
			if ex == nil {
				return nil, fmt.Errorf("read secret %s: %w", name, err)
			}
			return containerEnv(ctx, ex, names)
		}
		for _, c := range bySecret[name] {
			if v, ok := s.Data[c.SecretRef.Key]; ok {
				values = append(values, string(v))
			}
		}
	}
	return values, nil
}

// printEnvScript prints each named variable followed by a NUL, with the
// shell's own builtins (an image without printenv reads them too); a name
// that is not a variable name stops it.
const printEnvScript = `for n; do
  case $n in ''|[0-9]*|*[!A-Za-z0-9_]*) echo "cscript: not a variable name: $n" >&2; exit 2;; esac
  eval "v=\${$n-}"
  printf '%s\0' "$v"
done`

// containerEnv reads env vars of the container. It fails unless it gets
// exactly one value per name: redaction never turns itself off silently.
func containerEnv(ctx context.Context, ex Executor, names []string) ([]string, error) {
	out := newCappedBuffer(maxEnvOutput(len(names)))
	stderr := runner.NewTailBuffer(maxStderrKept)
	cmd := append([]string{"sh", "-c", printEnvScript, "sh"}, names...)
	err := ex.Exec(ctx, cmd, nil, out, stderr)
	if out.over {
		return nil, fmt.Errorf("read the credentials' values in the container: %w", out.tooLarge("printenv"))
	}
	if err != nil {
		msg, _ := stderr.Tail()
		return nil, fmt.Errorf("read the credentials' values in the container: %w: %s", err, strings.TrimSpace(msg))
	}
	fields := strings.Split(out.String(), "\x00")
	if len(fields) != len(names)+1 || fields[len(names)] != "" {
		return nil, fmt.Errorf("read the credentials' values in the container: got %d values for %d names (%s): cscript cannot hide them from the output, so it does not run the script", len(fields)-1, len(names), strings.Join(names, ", "))
	}
	var values []string
	for _, v := range fields[:len(names)] {
		if v != "" {
			values = append(values, v)
		}
	}
	return values, nil
}
