// Package kubestate keeps the state of lifecycle resources in ConfigMaps of the deck's
// namespace, so a team sharing a cluster shares it (lifecycle.DirStore is the local one).
// Kept apart from package lifecycle so that the lifecycle engine, its parsers and their fuzz
// targets build without a Kubernetes client.
package kubestate

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/runner"
)

// Labels and names of the ConfigMaps that hold resource state (besides
// runner.LabelManagedBy, which every object cscript makes carries).
const (
	configMapDataKey = "resource.json"
	LabelKind        = "cscript.dev/kind"
	LabelLifecycle   = "cscript.dev/lifecycle"
	kindResource     = "resource"
)

// ConfigMapName is the ConfigMap that holds a resource's state.
func ConfigMapName(name string) string { return lifecycle.StateObjectPrefix + name }

// Store keeps each resource in a ConfigMap of Namespace, so a team
// sharing the cluster shares the state. Writes use the resourceVersion read:
// a concurrent change is a *lifecycle.ConflictError, never overwritten.
type Store struct {
	Client    kubernetes.Interface
	Namespace string
	Deck      string
}

var _ lifecycle.StateStore = (*Store)(nil)

// Get reads one resource.
func (s *Store) Get(ctx context.Context, name string) (*lifecycle.Resource, error) {
	cm, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Get(ctx, ConfigMapName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, &lifecycle.NotFoundError{Name: name, Deck: s.Deck}
	}
	if err != nil {
		return nil, fmt.Errorf("read the state of resource %s: %w", name, err)
	}
	return fromConfigMap(cm)
}

func fromConfigMap(cm *corev1.ConfigMap) (*lifecycle.Resource, error) {
	var r lifecycle.Resource
	if err := json.Unmarshal([]byte(cm.Data[configMapDataKey]), &r); err != nil {
		return nil, fmt.Errorf("configmap %s/%s: the state is not valid JSON: %w", cm.Namespace, cm.Name, err)
	}
	r.SetVersion(cm.ResourceVersion)
	return &r, nil
}

// List reads every resource of the namespace, sorted by name.
func (s *Store) List(ctx context.Context) ([]*lifecycle.Resource, error) {
	list, err := s.Client.CoreV1().ConfigMaps(s.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: runner.LabelManagedBy + "=" + runner.ManagedByValue + "," + LabelKind + "=" + kindResource,
	})
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	var out []*lifecycle.Resource
	for i := range list.Items {
		r, err := fromConfigMap(&list.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *Store) configMap(r *lifecycle.Resource) (*corev1.ConfigMap, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the state of resource %s: %w", r.Name, err)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      ConfigMapName(r.Name),
			Namespace: s.Namespace,
			Labels: map[string]string{
				runner.LabelManagedBy:   runner.ManagedByValue,
				LabelKind:               kindResource,
				lifecycle.LabelResource: r.Name,
				LabelLifecycle:          labelValue(r.Lifecycle),
			},
			ResourceVersion: r.Version(),
		},
		Data: map[string]string{configMapDataKey: string(data)},
	}, nil
}

// labelValue makes a LIB/NAME reference fit a label value.
func labelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '.'
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	return string(b)
}

// Create records a new resource; one recorded already is a *lifecycle.ConflictError.
func (s *Store) Create(ctx context.Context, r *lifecycle.Resource) error {
	r.SetVersion("")
	cm, err := s.configMap(r)
	if err != nil {
		return err
	}
	got, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return &lifecycle.ConflictError{Name: r.Name, Exists: true}
	}
	if err != nil {
		return fmt.Errorf("record resource %s: %w", r.Name, err)
	}
	r.SetVersion(got.ResourceVersion)
	return nil
}

// Update writes r over the version it was read at.
func (s *Store) Update(ctx context.Context, r *lifecycle.Resource) error {
	if r.Version() == "" {
		return fmt.Errorf("update resource %s: no version was read (a bug)", r.Name)
	}
	cm, err := s.configMap(r)
	if err != nil {
		return err
	}
	got, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
	switch {
	case apierrors.IsConflict(err), apierrors.IsNotFound(err):
		return &lifecycle.ConflictError{Name: r.Name}
	case err != nil:
		return fmt.Errorf("record resource %s: %w", r.Name, err)
	}
	r.SetVersion(got.ResourceVersion)
	return nil
}

// Delete removes r's ConfigMap if it is still at the version r was read at.
func (s *Store) Delete(ctx context.Context, r *lifecycle.Resource) error {
	if r.Version() == "" {
		return fmt.Errorf("delete resource %s: no version was read (a bug)", r.Name)
	}
	version := r.Version()
	err := s.Client.CoreV1().ConfigMaps(s.Namespace).Delete(ctx, ConfigMapName(r.Name), metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{ResourceVersion: &version},
	})
	switch {
	case apierrors.IsConflict(err), apierrors.IsNotFound(err):
		return &lifecycle.ConflictError{Name: r.Name}
	case err != nil:
		return fmt.Errorf("forget resource %s: %w", r.Name, err)
	}
	return nil
}

// Lock is a no-op: the ConfigMap's resourceVersion guards every write.
func (s *Store) Lock(context.Context, string) (func(), error) { return func() {}, nil }
