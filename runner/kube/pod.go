package kube

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/cscript-dev/cscript/runner"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Paths inside the container.
const (
	ContainerName = "script"
	WorkDir       = "/work"
	ScriptPath    = "/work/.cscript/script"
)

// deadlineMargin is how much longer the server-side backstop
// (activeDeadlineSeconds) allows than the run's own timeout, so the runner
// notices its timeout first and can say so.
const deadlineMargin = 60 * time.Second

// BuildPod builds the run's Pod and, when the run has local credentials or
// secret params, the Secret that holds them. It has no side effects. No secret
// value appears in the Pod: it refers to the Secret by name, and the Secret
// carries no owner yet (the runner adds the Pod as owner once it exists).
func BuildPod(spec runner.Spec, ns string, now time.Time, suffix string) (*corev1.Pod, *corev1.Secret, error) {
	if err := validateSpec(spec); err != nil {
		return nil, nil, err
	}
	name := objectName(spec.Script, suffix)
	labels := map[string]string{
		runner.LabelManagedBy: runner.ManagedByValue,
		runner.LabelRunID:     labelValue(spec.RunID),
		runner.LabelScript:    labelValue(spec.Script),
	}
	annotations := map[string]string{
		runner.AnnotationExpires: now.Add(spec.EffectiveExpiry()).UTC().Format(time.RFC3339),
	}
	for k, v := range map[string]string{
		runner.AnnotationDeck:    spec.Deck,
		runner.AnnotationLibrary: spec.Library,
		runner.AnnotationCommit:  spec.LibraryCommit,
		runner.AnnotationUser:    spec.User,
	} {
		if v != "" {
			annotations[k] = v
		}
	}

	env, secretData, err := buildEnv(spec, name)
	if err != nil {
		return nil, nil, err
	}
	resources, err := ResourceRequirements(spec.Resources)
	if err != nil {
		return nil, nil, fmt.Errorf("script %s: %w", spec.Script, err)
	}

	deadline := int64(math.Ceil((spec.EffectiveTimeout() + deadlineMargin).Seconds()))
	token := spec.ServiceAccount != ""
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   ns,
			Labels:      labels,
			Annotations: annotations,
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:        &deadline,
			ServiceAccountName:           spec.ServiceAccount,
			AutomountServiceAccountToken: &token,
			EnableServiceLinks:           ptr(false),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   nonRoot(spec.RunAsNonRoot),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:  ContainerName,
				Image: spec.Image,
				// The main process only keeps the container up, so it is still
				// running for downloads after the script; it ends at once on
				// SIGTERM (pid 1 ignores signals it does not trap).
				Command:         []string{"sh", "-c", fmt.Sprintf(`trap "exit 0" TERM; sleep %d & wait`, deadline)},
				WorkingDir:      WorkDir,
				Env:             env,
				Resources:       resources,
				ImagePullPolicy: corev1.PullIfNotPresent,
				VolumeMounts:    []corev1.VolumeMount{{Name: "work", MountPath: WorkDir}},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					RunAsNonRoot:             nonRoot(spec.RunAsNonRoot),
					SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
			}},
			Volumes: []corev1.Volume{{
				Name:         "work",
				VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
			}},
		},
	}

	if len(secretData) == 0 {
		return pod, nil, nil
	}
	secret := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   ns,
			Labels:      copyMap(labels),
			Annotations: map[string]string{runner.AnnotationExpires: annotations[runner.AnnotationExpires]},
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: ptr(true),
		Data:      secretData,
	}
	return pod, secret, nil
}

// buildEnv returns the container's env (plain values, then credentials, then
// secret params, each sorted or in the given order) and the run Secret's data.
func buildEnv(spec runner.Spec, secretName string) ([]corev1.EnvVar, map[string][]byte, error) {
	var env []corev1.EnvVar
	seen := map[string]string{}
	add := func(v corev1.EnvVar, what string) error {
		if errs := validation.IsEnvVarName(v.Name); len(errs) > 0 {
			return fmt.Errorf("%s %q is not a valid env var name: %s", what, v.Name, strings.Join(errs, "; "))
		}
		if prev, ok := seen[v.Name]; ok {
			return fmt.Errorf("env var %s is set twice: by %s and by %s", v.Name, prev, what)
		}
		seen[v.Name] = what
		env = append(env, v)
		return nil
	}
	fromSecret := func(name, key string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: name},
			Key:                  key,
		}}
	}

	builtin := map[string]string{"CSCRIPT_RUN_ID": spec.RunID, "CSCRIPT_SCRIPT": spec.Script, "CSCRIPT_DECK": spec.Deck}
	for _, k := range sortedKeys(builtin) {
		if err := add(corev1.EnvVar{Name: k, Value: builtin[k]}, "cscript"); err != nil {
			return nil, nil, err
		}
	}
	for _, k := range sortedKeys(spec.Env) {
		if err := add(corev1.EnvVar{Name: k, Value: spec.Env[k]}, "env"); err != nil {
			return nil, nil, err
		}
	}
	data := map[string][]byte{}
	for _, c := range spec.Credentials {
		v := corev1.EnvVar{Name: c.Name}
		if c.SecretRef != nil {
			if c.SecretRef.Name == "" || c.SecretRef.Key == "" {
				return nil, nil, fmt.Errorf("credential %s: secret ref needs a name and a key", c.Name)
			}
			v.ValueFrom = fromSecret(c.SecretRef.Name, c.SecretRef.Key)
		} else {
			v.ValueFrom = fromSecret(secretName, c.Name)
			data[c.Name] = []byte(c.Value)
		}
		if err := add(v, "credential "+c.Name); err != nil {
			return nil, nil, err
		}
	}
	for _, k := range sortedKeys(spec.SecretParams) {
		name := runner.SecretParamEnv(k)
		if err := add(corev1.EnvVar{Name: name, ValueFrom: fromSecret(secretName, name)}, "secret param "+k); err != nil {
			return nil, nil, err
		}
		data[name] = []byte(spec.SecretParams[k])
	}
	return env, data, nil
}

func validateSpec(spec runner.Spec) error {
	switch {
	case spec.Script == "":
		return fmt.Errorf("spec has no script name")
	case spec.Image == "":
		return fmt.Errorf("script %s has no image", spec.Script)
	}
	switch spec.Interpreter {
	case runner.InterpreterBash, runner.InterpreterSh, runner.InterpreterPython:
	default:
		return fmt.Errorf("script %s: unknown interpreter %q (want bash, sh or python)", spec.Script, spec.Interpreter)
	}
	return nil
}

// objectName is cscript-<script>-<suffix>, a DNS label of at most 63
// characters: the script part is cleaned and shortened as needed.
func objectName(script, suffix string) string {
	s := dnsLabel(script)
	suffix = dnsLabel(suffix)
	max := validation.DNS1123LabelMaxLength - len("cscript-") - len(suffix) - 1
	if len(s) > max {
		s = strings.TrimRight(s[:max], "-")
	}
	parts := []string{"cscript"}
	for _, p := range []string{s, suffix} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "-")
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

func dnsLabel(s string) string {
	s = nonDNS.ReplaceAllString(strings.ToLower(s), "-")
	return strings.Trim(s, "-")
}

var nonLabel = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// labelValue makes s a valid label value: at most 63 characters of
// [A-Za-z0-9._-], starting and ending with an alphanumeric.
func labelValue(s string) string {
	s = nonLabel.ReplaceAllString(s, "_")
	if len(s) > validation.LabelValueMaxLength {
		s = s[:validation.LabelValueMaxLength]
	}
	return strings.Trim(s, "._-")
}

// ExpiresAt reads the expiry annotation of a cscript object.
func ExpiresAt(meta metav1.Object) (time.Time, bool) {
	v, ok := meta.GetAnnotations()[runner.AnnotationExpires]
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	return t, err == nil
}

func nonRoot(b bool) *bool {
	if !b {
		return nil
	}
	return ptr(true)
}

func ptr[T any](v T) *T { return &v }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ResourceRequirements turns the script's requests and limits into
// Kubernetes' form; a value that is not a quantity is an error naming it.
func ResourceRequirements(r runner.Resources) (corev1.ResourceRequirements, error) {
	var out corev1.ResourceRequirements
	conv := func(m map[string]string) (corev1.ResourceList, error) {
		if len(m) == 0 {
			return nil, nil
		}
		l := corev1.ResourceList{}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			q, err := resource.ParseQuantity(m[k])
			if err != nil {
				return nil, fmt.Errorf("resources: %s: %q is not a quantity (e.g. 500m, 256Mi)", k, m[k])
			}
			l[corev1.ResourceName(k)] = q
		}
		return l, nil
	}
	var err error
	if out.Requests, err = conv(r.Requests); err != nil {
		return out, err
	}
	out.Limits, err = conv(r.Limits)
	return out, err
}
