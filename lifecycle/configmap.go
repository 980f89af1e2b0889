package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// StateStore keeps the state of the resources of one deck.
//
// Update writes only over the version the resource was read (or last
// written) at, and fails with a *ConflictError otherwise; Create fails with
// a *ConflictError (Exists) when the resource is recorded already. Lock
// serialises events on one resource between processes where the store can
// (a local lock file); it may be a no-op where the optimistic concurrency of
// Update is the only guard (Kubernetes).
type StateStore interface {
	Get(ctx context.Context, name string) (*Resource, error)
	List(ctx context.Context) ([]*Resource, error)
	Create(ctx context.Context, r *Resource) error
	Update(ctx context.Context, r *Resource) error
	Lock(ctx context.Context, name string) (unlock func(), err error)
	// Delete removes r's state if it is still at the version r was read at
	// (else a *ConflictError): `resource forget`.
	Delete(ctx context.Context, r *Resource) error
}

// Labels and names of the ConfigMaps that hold resource state.
const (
	configMapPrefix  = "cscript-resource-"
	configMapDataKey = "resource.json"
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	LabelKind        = "cscript.dev/kind"
	LabelResource    = "cscript.dev/resource"
	LabelLifecycle   = "cscript.dev/lifecycle"
	kindResource     = "resource"
	managedBy        = "cscript"
)

// ConfigMapName is the ConfigMap that holds a resource's state.
func ConfigMapName(name string) string { return configMapPrefix + name }

// ConfigMapStore keeps each resource in a ConfigMap of Namespace, so a team
// sharing the cluster shares the state. Writes use the resourceVersion read:
// a concurrent change is a *ConflictError, never overwritten.
type ConfigMapStore struct {
	Client    kubernetes.Interface
	Namespace string
	Deck      string
}

var _ StateStore = (*ConfigMapStore)(nil)

// Get reads one resource.
func (s *ConfigMapStore) Get(ctx context.Context, name string) (*Resource, error) {
	cm, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Get(ctx, ConfigMapName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, &NotFoundError{Name: name, Deck: s.Deck}
	}
	if err != nil {
		return nil, fmt.Errorf("read the state of resource %s: %w", name, err)
	}
	return fromConfigMap(cm)
}

func fromConfigMap(cm *corev1.ConfigMap) (*Resource, error) {
	var r Resource
	if err := json.Unmarshal([]byte(cm.Data[configMapDataKey]), &r); err != nil {
		return nil, fmt.Errorf("configmap %s/%s: the state is not valid JSON: %w", cm.Namespace, cm.Name, err)
	}
	r.version = cm.ResourceVersion
	return &r, nil
}

// List reads every resource of the namespace, sorted by name.
func (s *ConfigMapStore) List(ctx context.Context) ([]*Resource, error) {
	list, err := s.Client.CoreV1().ConfigMaps(s.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: LabelManagedBy + "=" + managedBy + "," + LabelKind + "=" + kindResource,
	})
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	var out []*Resource
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

func (s *ConfigMapStore) configMap(r *Resource) (*corev1.ConfigMap, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the state of resource %s: %w", r.Name, err)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      ConfigMapName(r.Name),
			Namespace: s.Namespace,
			Labels: map[string]string{
				LabelManagedBy: managedBy,
				LabelKind:      kindResource,
				LabelResource:  r.Name,
				LabelLifecycle: labelValue(r.Lifecycle),
			},
			ResourceVersion: r.version,
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

// Create records a new resource; one recorded already is a *ConflictError.
func (s *ConfigMapStore) Create(ctx context.Context, r *Resource) error {
	r.version = ""
	cm, err := s.configMap(r)
	if err != nil {
		return err
	}
	got, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return &ConflictError{Name: r.Name, Exists: true}
	}
	if err != nil {
		return fmt.Errorf("record resource %s: %w", r.Name, err)
	}
	r.version = got.ResourceVersion
	return nil
}

// Update writes r over the version it was read at.
func (s *ConfigMapStore) Update(ctx context.Context, r *Resource) error {
	if r.version == "" {
		return fmt.Errorf("update resource %s: no version was read (a bug)", r.Name)
	}
	cm, err := s.configMap(r)
	if err != nil {
		return err
	}
	got, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
	switch {
	case apierrors.IsConflict(err):
		return &ConflictError{Name: r.Name}
	case apierrors.IsNotFound(err):
		return &ConflictError{Name: r.Name}
	case err != nil:
		return fmt.Errorf("record resource %s: %w", r.Name, err)
	}
	r.version = got.ResourceVersion
	return nil
}

// Delete removes r's ConfigMap if it is still at the version r was read at.
func (s *ConfigMapStore) Delete(ctx context.Context, r *Resource) error {
	if r.version == "" {
		return fmt.Errorf("delete resource %s: no version was read (a bug)", r.Name)
	}
	err := s.Client.CoreV1().ConfigMaps(s.Namespace).Delete(ctx, ConfigMapName(r.Name), metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{ResourceVersion: &r.version},
	})
	switch {
	case apierrors.IsConflict(err), apierrors.IsNotFound(err):
		return &ConflictError{Name: r.Name}
	case err != nil:
		return fmt.Errorf("forget resource %s: %w", r.Name, err)
	}
	return nil
}

// Lock is a no-op: the ConfigMap's resourceVersion guards every write.
func (s *ConfigMapStore) Lock(context.Context, string) (func(), error) { return func() {}, nil }
