package kube

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/cscript-dev/cscript/runner"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func TestGC(t *testing.T) {
	now := testNow
	managed := map[string]string{runner.LabelManagedBy: runner.ManagedByValue}
	meta := func(ns, name string, created time.Time, expires string, labels map[string]string) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, CreationTimestamp: metav1.NewTime(created)}
		if expires != "" {
			m.Annotations = map[string]string{runner.AnnotationExpires: expires}
		}
		return m
	}
	past := now.Add(-time.Minute).Format(time.RFC3339)
	future := now.Add(time.Hour).Format(time.RFC3339)
	holder := "a@b/c"
	secs := int32(60)
	oldRenew := metav1.NewMicroTime(now.Add(-2 * time.Minute))
	freshRenew := metav1.NewMicroTime(now)
	objects := []runtime.Object{
		&corev1.Pod{ObjectMeta: meta("a", "cscript-expired", now.Add(-2*time.Hour), past, managed)},
		&corev1.Pod{ObjectMeta: meta("a", "cscript-running", now.Add(-10*time.Minute), future, managed)},
		&corev1.Pod{ObjectMeta: meta("b", "cscript-old", now.Add(-48*time.Hour), future, managed)},
		&corev1.Pod{ObjectMeta: meta("a", "someone-elses", now.Add(-48*time.Hour), past, nil)},
		&corev1.Secret{ObjectMeta: meta("a", "cscript-expired", now.Add(-2*time.Hour), past, managed)},
		&corev1.Secret{ObjectMeta: meta("a", "cscript-running", now.Add(-10*time.Minute), future, managed)},
		&coordinationv1.Lease{ObjectMeta: meta("a", "cscript-stale", now.Add(-time.Hour), "", managed),
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, RenewTime: &oldRenew}},
		&coordinationv1.Lease{ObjectMeta: meta("a", "cscript-held", now.Add(-time.Hour), "", managed),
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, RenewTime: &freshRenew}},
	}
	tests := []struct {
		name      string
		namespace string
		olderThan time.Duration
		dryRun    bool
		want      []string
	}{
		{"expired, all namespaces", "", 0, false, []string{"lease/a/cscript-stale", "pod/a/cscript-expired", "secret/a/cscript-expired"}},
		{"older than a day", "", 24 * time.Hour, false, []string{"lease/a/cscript-stale", "pod/a/cscript-expired", "pod/b/cscript-old", "secret/a/cscript-expired"}},
		{"one namespace", "b", 24 * time.Hour, false, []string{"pod/b/cscript-old"}},
		{"dry run", "", 0, true, []string{"lease/a/cscript-stale", "pod/a/cscript-expired", "secret/a/cscript-expired"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewSimpleClientset(objects...)
			got, err := GC(context.Background(), cs, tt.namespace, tt.olderThan, now, tt.dryRun)
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GC (-want +got):\n%s", diff)
			}
			deletes := 0
			for _, a := range cs.Actions() {
				if a.GetVerb() == "delete" {
					deletes++
				}
			}
			if deletes != len(tt.want) {
				t.Errorf("%d delete calls, want %d", deletes, len(tt.want))
			}
			pods, _ := cs.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
			left := map[string]bool{}
			for _, p := range pods.Items {
				left[p.Namespace+"/"+p.Name] = true
			}
			if !left["a/cscript-running"] || !left["a/someone-elses"] {
				t.Errorf("GC deleted a pod it must keep; left: %v", left)
			}
			// The fake clientset ignores DryRun; check the option was sent.
			if tt.dryRun {
				for _, a := range cs.Actions() {
					if d, ok := a.(interface{ GetDeleteOptions() metav1.DeleteOptions }); ok && len(d.GetDeleteOptions().DryRun) == 0 {
						t.Errorf("dry run delete without DryRun: %v", a)
					}
				}
			}
		})
	}
}
