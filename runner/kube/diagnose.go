package kube

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cscript-dev/cscript/runner"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Diagnostics describe a failed run's Pod for its failure trace: the Pod as
// the API server had it (without managedFields), its events and its
// container statuses. They hold no secret values: the Pod only refers to
// Secrets by name.
type Diagnostics = runner.Diagnostics

// Diagnose collects what explains a Pod's state: its manifest, its events and
// its container statuses.
func (r *Runner) Diagnose(ctx context.Context, pod string) (*Diagnostics, error) {
	p, err := r.Client.CoreV1().Pods(r.Namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get pod %s: %w", pod, err)
	}
	p = p.DeepCopy()
	p.ManagedFields = nil
	d := &Diagnostics{}
	if b, err := yaml.Marshal(p); err == nil {
		d.PodYAML = string(b)
	}
	if b, err := yaml.Marshal(p.Status.ContainerStatuses); err == nil {
		d.ContainerStatuses = string(b)
	}
	events, err := r.podEvents(ctx, pod)
	if err != nil {
		d.Error = fmt.Sprintf("list events: %v", err)
		return d, nil
	}
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s", eventTime(e).UTC().Format(time.RFC3339), e.Type, e.Reason, strings.TrimSpace(e.Message))
		if e.Count > 1 {
			fmt.Fprintf(&b, " (x%d)", e.Count)
		}
		b.WriteByte('\n')
	}
	d.Events = b.String()
	return d, nil
}
