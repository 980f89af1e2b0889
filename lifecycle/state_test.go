package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestBeginFinish(t *testing.T) {
	tests := []struct {
		from    State
		exists  bool
		ev      Event
		begin   State // "" with wantErr
		wantErr string
		ok, bad State // Finish on success and failure
	}{
		{"", false, EventCreate, StateCreating, "", StateOK, StateErred},
		{"", false, EventUpdate, "", "does not exist", "", ""},
		{"", false, EventTerminate, "", "does not exist", "", ""},
		{"", false, EventPull, "", "does not exist", "", ""},
		{StateOK, true, EventCreate, "", "resource exists", "", ""},
		{StateErred, true, EventCreate, "", "resource exists", "", ""},
		{StateTerminated, true, EventCreate, StateCreating, "", StateOK, StateErred},
		{StateOK, true, EventUpdate, StateUpdating, "", StateOK, StateErred},
		{StateErred, true, EventUpdate, StateUpdating, "", StateOK, StateErred},
		{StateOK, true, EventTerminate, StateTerminating, "", StateTerminated, StateErred},
		{StateErred, true, EventTerminate, StateTerminating, "", StateTerminated, StateErred},
		{StateOK, true, EventPull, StateOK, "", StateOK, StateErred},
		// A successful pull returns an ERRED resource to OK.
		{StateErred, true, EventPull, StateErred, "", StateOK, StateErred},
		{StateTerminated, true, EventUpdate, "", "terminated", "", ""},
		{StateTerminated, true, EventTerminate, "", "terminated", "", ""},
		{StateTerminated, true, EventPull, "", "terminated", "", ""},
		{StateCreating, true, EventPull, "", "another event is running", "", ""},
		{StateUpdating, true, EventUpdate, "", "another event is running", "", ""},
		{StateTerminating, true, EventCreate, "", "another event is running", "", ""},
		{StateCreating, true, EventTerminate, "", "another event is running", "", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%s", orDash(string(tt.from)), tt.ev), func(t *testing.T) {
			got, err := Begin(tt.from, tt.exists, tt.ev)
			if tt.wantErr != "" {
				var se *StateError
				if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Begin = %q, %v; want a *StateError with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.begin {
				t.Fatalf("Begin = %q, %v; want %q", got, err, tt.begin)
			}
			if got := Finish(tt.ev, true); got != tt.ok {
				t.Errorf("Finish(%s, ok) = %s, want %s", tt.ev, got, tt.ok)
			}
			if got := Finish(tt.ev, false); got != tt.bad {
				t.Errorf("Finish(%s, failed) = %s, want %s", tt.ev, got, tt.bad)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "vm-1", strings.Repeat("a", MaxNameLength)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "A", "-a", "a-", "a_b", "a/b", "../x", strings.Repeat("a", MaxNameLength+1)} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("ValidateName(%q) = nil, want an error", bad)
		}
	}
}

func sampleResource(name string) *Resource {
	return &Resource{Name: name, UUID: "u1", Lifecycle: "lib/demo-vm", Deck: "d", State: StateOK, BackendID: "b1",
		BackendMetadata: map[string]any{"cpu": 1.0}, Limits: map[string]int64{"cpu": 2}}
}

// storeContract runs the same checks on any StateStore.
func storeContract(t *testing.T, s StateStore) {
	ctx := context.Background()
	if _, err := s.Get(ctx, "vm"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a missing resource = %v, want ErrNotFound", err)
	}
	r := sampleResource("vm")
	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.Version() == "" {
		t.Fatal("Create did not set the version")
	}
	if err := s.Create(ctx, sampleResource("vm")); !isConflict(err, true) {
		t.Fatalf("second Create = %v, want *ConflictError{Exists}", err)
	}
	got, err := s.Get(ctx, "vm")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(r, got, cmpopts.IgnoreUnexported(Resource{})); d != "" {
		t.Errorf("Get (-want +got):\n%s", d)
	}
	stale, _ := s.Get(ctx, "vm")
	got.State = StateErred
	if err := s.Update(ctx, got); err != nil {
		t.Fatalf("Update: %v", err)
	}
	stale.State = StateTerminated
	if err := s.Update(ctx, stale); !isConflict(err, false) {
		t.Fatalf("Update of a stale copy = %v, want *ConflictError", err)
	}
	again, _ := s.Get(ctx, "vm")
	if again.State != StateErred {
		t.Errorf("state after a conflicting write = %s, want ERRED (never overwritten)", again.State)
	}
	// The version moves on with each write.
	again.State = StateOK
	if err := s.Update(ctx, again); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, again); err != nil {
		t.Fatalf("a second Update with the version the first returned: %v", err)
	}
	if err := s.Create(ctx, sampleResource("db")); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range list {
		names = append(names, r.Name)
	}
	if d := cmp.Diff([]string{"db", "vm"}, names); d != "" {
		t.Errorf("List names (-want +got):\n%s", d)
	}
}

func isConflict(err error, exists bool) bool {
	var ce *ConflictError
	return errors.As(err, &ce) && ce.Exists == exists
}

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

func TestConfigMapStore(t *testing.T) {
	client := versionedClient()
	s := &ConfigMapStore{Client: client, Namespace: "team", Deck: "d"}
	storeContract(t, s)

	cm, err := client.CoreV1().ConfigMaps("team").Get(context.Background(), "cscript-resource-vm", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{LabelManagedBy: "cscript", LabelKind: "resource", LabelResource: "vm", LabelLifecycle: "lib.demo-vm"}
	if d := cmp.Diff(wantLabels, cm.Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	var r Resource
	if err := json.Unmarshal([]byte(cm.Data["resource.json"]), &r); err != nil || r.Name != "vm" || r.BackendID != "b1" {
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

// TestConfigMapStoreConflictReactor has the API server answer Conflict, as
// it does when the resourceVersion is stale: the store reports it and does
// not retry or overwrite.
func TestConfigMapStoreConflictReactor(t *testing.T) {
	client := versionedClient()
	s := &ConfigMapStore{Client: client, Namespace: "team", Deck: "d"}
	ctx := context.Background()
	r := sampleResource("vm")
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
	r.State = StateErred
	err := s.Update(ctx, r)
	if !isConflict(err, false) {
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

func TestDirStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "resources", "d")
	storeContract(t, &DirStore{Dir: dir, Deck: "d"})
	// No temp files are left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
	if got := LocalDir("/state/cscript", "dev"); got != "/state/cscript/resources/dev" {
		t.Errorf("LocalDir = %q", got)
	}
}

// TestDirStoreAtomic races writers with stale versions and readers: exactly
// one writer of each round wins, and a reader never sees a partial file.
func TestDirStoreAtomic(t *testing.T) {
	s := &DirStore{Dir: t.TempDir(), Deck: "d"}
	ctx := context.Background()
	r := sampleResource("vm")
	r.ErrorTraceback = strings.Repeat("x", 200<<10) // big enough that a torn write would show
	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var readErrs []error
	var mu sync.Mutex
	for i := 0; i < 2; i++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Get(ctx, "vm"); err != nil {
					mu.Lock()
					readErrs = append(readErrs, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	for round := 0; round < 10; round++ {
		base, err := s.Get(ctx, "vm")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		results := make([]error, 4)
		for w := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := *base
				c.ErrorMessage = fmt.Sprintf("writer %d", w)
				results[w] = s.Update(ctx, &c)
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range results {
			switch {
			case err == nil:
				wins++
			case !isConflict(err, false):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d writers won, want exactly 1", round, wins)
		}
	}
	close(stop)
	readers.Wait()
	if len(readErrs) > 0 {
		t.Fatalf("a reader saw a broken file: %v", readErrs[0])
	}
}

func TestDirStoreLock(t *testing.T) {
	s := &DirStore{Dir: t.TempDir(), Deck: "d"}
	ctx := context.Background()
	unlock, err := s.Lock(ctx, "vm")
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file: a second open, even in this
	// process, is refused as another process would be.
	var busy *BusyError
	if _, err := s.Lock(ctx, "vm"); !errors.As(err, &busy) {
		t.Fatalf("second Lock = %v, want *BusyError", err)
	}
	other, err := s.Lock(ctx, "db")
	if err != nil {
		t.Fatalf("a lock on another resource: %v", err)
	}
	other()
	unlock()
	again, err := s.Lock(ctx, "vm")
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	again()
	if _, err := s.Lock(ctx, "../x"); err == nil {
		t.Error("Lock of an invalid name must fail")
	}
}
