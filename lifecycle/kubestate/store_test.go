package kubestate

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/cscript-dev/cscript/lifecycle"
	"github.com/cscript-dev/cscript/lifecycle/lifecycletest"
	"github.com/cscript-dev/cscript/runner"
)

// versionedClient is a fake clientset whose ConfigMaps get a resourceVersion
// on every write and whose updates with a stale one are a Conflict, as the
// API server does (the fake tracker alone neither sets nor checks it).
func versionedClient() *fake.Clientset {
	client := fake.NewClientset()
	var mu sync.Mutex
	next := 100
	gvr := corev1.SchemeGroupVersion.WithResource("configmaps")
	client.PrependReactor("create", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		cm := a.(k8stesting.CreateAction).GetObject().(*corev1.ConfigMap).DeepCopy()
		next++
		cm.ResourceVersion = fmt.Sprint(next)
		if err := client.Tracker().Create(gvr, cm, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, cm, nil
	})
	client.PrependReactor("update", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		cm := a.(k8stesting.UpdateAction).GetObject().(*corev1.ConfigMap).DeepCopy()
		old, err := client.Tracker().Get(gvr, a.GetNamespace(), cm.Name)
		if err != nil {
			return true, nil, err
		}
		if cm.ResourceVersion != old.(*corev1.ConfigMap).ResourceVersion {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), cm.Name, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
		}
		next++
		cm.ResourceVersion = fmt.Sprint(next)
		if err := client.Tracker().Update(gvr, cm, a.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, cm, nil
	})
	return client
}

func TestStore(t *testing.T) {
	client := versionedClient()
	s := &Store{Client: client, Namespace: "team", Deck: "d"}
	lifecycletest.StoreContract(t, s)

	cm, err := client.CoreV1().ConfigMaps("team").Get(context.Background(), "cscript-resource-vm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{runner.LabelManagedBy: "cscript", LabelKind: "resource", lifecycle.LabelResource: "vm", LabelLifecycle: "lib.demo-vm"}
	if d := cmp.Diff(wantLabels, cm.Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	var r lifecycle.Resource
	if err := json.Unmarshal([]byte(cm.Data[configMapDataKey]), &r); err != nil || r.Name != "vm" || r.BackendID != "b1" {
		t.Errorf("data = %q (%v), want the resource's JSON", cm.Data["resource.json"], err)
	}
	// A ConfigMap of something else in the namespace is not listed.
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "team"}}
	if _, err := client.CoreV1().ConfigMaps("team").Create(context.Background(), other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if list, err := s.List(context.Background()); err != nil || len(list) != 2 {
		t.Errorf("List = %d, %v; want the 2 resources only", len(list), err)
	}
}

// TestStoreConflictReactor has the API server answer Conflict, as
// it does when the resourceVersion is stale: the store reports it and does
// not retry or overwrite.
func TestStoreConflictReactor(t *testing.T) {
	client := versionedClient()
	s := &Store{Client: client, Namespace: "team", Deck: "d"}
	ctx := context.Background()
	r := lifecycletest.Resource("vm")
	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	var updates int
	var sentVersion string
	client.PrependReactor("update", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		updates++
		sentVersion = a.(k8stesting.UpdateAction).GetObject().(*corev1.ConfigMap).ResourceVersion
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, "cscript-resource-vm", errors.New("the object has been modified"))
	})
	r.State = lifecycle.StateErred
	err := s.Update(ctx, r)
	if !lifecycletest.IsConflict(err, false) {
		t.Fatalf("Update = %v, want *ConflictError", err)
	}
	if !strings.Contains(err.Error(), "nothing was overwritten") {
		t.Errorf("message %q should say nothing was overwritten", err)
	}
	if updates != 1 {
		t.Errorf("%d update calls, want 1 (no retry that could overwrite)", updates)
	}
	if sentVersion == "" || sentVersion != r.Version() {
		t.Errorf("Update sent resourceVersion %q, want the one read (%q)", sentVersion, r.Version())
	}
}

// blockingExecutor runs nothing: it reports that it started and waits for ctx.
type blockingExecutor struct{ started chan struct{} }

func (b *blockingExecutor) Run(ctx context.Context, req lifecycle.ExecRequest) (*lifecycle.ExecResult, error) {
	close(b.started)
	<-ctx.Done()
	return &lifecycle.ExecResult{Output: "half done\n", ExitCode: -1}, ctx.Err()
}

// TestInterrupted: an event interrupted by the caller leaves ERRED
// "interrupted during update", never OK; while it runs, the state says
// UPDATING and other events are refused.
func TestInterrupted(t *testing.T) {
	s := &Store{Client: versionedClient(), Namespace: "ns", Deck: "d"}
	created(t, s, "vm")
	ex := &blockingExecutor{started: make(chan struct{})}
	m := &lifecycle.Manager{States: s, Exec: ex}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var out *lifecycle.Outcome
	var err error
	wg.Add(1)
	go func() {
		defer wg.Done()
		out, err = m.Run(ctx, lifecycle.Order{Event: lifecycle.EventUpdate, Name: "vm", Definition: testDef, Deck: "d", Script: &lifecycle.ExecRequest{Interpreter: "sh"}})
	}()
	<-ex.started
	mid, gerr := s.Get(context.Background(), "vm")
	if gerr != nil || mid.State != lifecycle.StateUpdating || mid.Running == nil || mid.Running.Event != lifecycle.EventUpdate {
		t.Errorf("while running: %+v, %v", mid, gerr)
	}
	_, perr := (&lifecycle.Manager{States: s, Exec: &lifecycle.ProcessExecutor{}}).Run(context.Background(),
		lifecycle.Order{Event: lifecycle.EventPull, Name: "vm", Definition: testDef, Deck: "d"})
	var se *lifecycle.StateError
	if !errors.As(perr, &se) || !strings.Contains(perr.Error(), "update is running") {
		t.Errorf("pull during an update = %v, want a *lifecycle.StateError saying an update runs", perr)
	}
	cancel()
	wg.Wait()
	if ee := (*lifecycle.EventError)(nil); !errors.As(err, &ee) || ee.Message != "interrupted during update" {
		t.Fatalf("Run = %v", err)
	}
	got, _ := s.Get(context.Background(), "vm")
	if got.State != lifecycle.StateErred || got.ErrorMessage != "interrupted during update" || got.Running != nil || got.ErrorTraceback != "half done\n" {
		t.Errorf("after interruption: %s %q %+v %q", got.State, got.ErrorMessage, got.Running, got.ErrorTraceback)
	}
	if !out.Recorded {
		t.Error("the interruption was not recorded")
	}
}

// conflictingExecutor changes the resource's ConfigMap behind the manager's
// back while the script "runs", as another cscript would.
type conflictingExecutor struct{ s *Store }

func (c *conflictingExecutor) Run(ctx context.Context, req lifecycle.ExecRequest) (*lifecycle.ExecResult, error) {
	r, err := c.s.Get(ctx, req.Resource)
	if err != nil {
		return nil, err
	}
	r.ErrorMessage = "written by someone else"
	if err := c.s.Update(ctx, r); err != nil {
		return nil, err
	}
	return &lifecycle.ExecResult{Output: base64.StdEncoding.EncodeToString([]byte(`{"usages": []}`))}, nil
}

func TestConflictNeverOverwrites(t *testing.T) {
	s := &Store{Client: versionedClient(), Namespace: "ns", Deck: "d"}
	created(t, s, "vm")
	m := &lifecycle.Manager{States: s, Exec: &conflictingExecutor{s: s}}
	_, err := m.Run(context.Background(), lifecycle.Order{Event: lifecycle.EventPull, Name: "vm", Definition: testDef, Deck: "d", Script: &lifecycle.ExecRequest{Interpreter: "sh"}})
	if !lifecycletest.IsConflict(err, false) {
		t.Fatalf("Run = %v, want *ConflictError", err)
	}
	cm, _ := s.Client.CoreV1().ConfigMaps("ns").Get(context.Background(), ConfigMapName("vm"), metav1.GetOptions{})
	if !strings.Contains(cm.Data[configMapDataKey], "written by someone else") {
		t.Error("the other writer's state was overwritten")
	}
}

var testDef = &lifecycle.Definition{Name: "t", Library: "lib", Scripts: map[lifecycle.Event]string{lifecycle.EventUpdate: "u"}}

// created records a resource of testDef's lifecycle, in state OK.
func created(t *testing.T, s lifecycle.StateStore, name string) {
	t.Helper()
	r := lifecycletest.Resource(name)
	r.Lifecycle = "lib/t"
	if err := s.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}
