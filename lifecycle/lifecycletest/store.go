// Package lifecycletest holds what the tests of lifecycle's state stores share: one
// contract every StateStore must keep, run by lifecycle's DirStore and kubestate's Store.
package lifecycletest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cscript-dev/cscript/lifecycle"
)

// Resource is a recorded resource named name, in state OK.
func Resource(name string) *lifecycle.Resource {
	return &lifecycle.Resource{Name: name, UUID: "u1", Lifecycle: "lib/demo-vm", Deck: "d", State: lifecycle.StateOK, BackendID: "b1",
		BackendMetadata: map[string]any{"cpu": 1.0}, Limits: map[string]int64{"cpu": 2}}
}

// IsConflict says whether err is a *lifecycle.ConflictError, with Exists as given.
func IsConflict(err error, exists bool) bool {
	var ce *lifecycle.ConflictError
	return errors.As(err, &ce) && ce.Exists == exists
}

// StoreContract runs the same checks on any lifecycle.StateStore: not found, create and a
// second create, get, a stale update refused and nothing overwritten, versions moving on, list.
func StoreContract(t *testing.T, s lifecycle.StateStore) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Get(ctx, "vm"); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Fatalf("Get of a missing resource = %v, want lifecycle.ErrNotFound", err)
	}
	r := Resource("vm")
	if err := s.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if r.Version() == "" {
		t.Fatal("Create did not set the version")
	}
	if err := s.Create(ctx, Resource("vm")); !IsConflict(err, true) {
		t.Fatalf("second Create = %v, want *ConflictError{Exists}", err)
	}
	got, err := s.Get(ctx, "vm")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(r, got, cmpopts.IgnoreUnexported(lifecycle.Resource{})); d != "" {
		t.Errorf("Get (-want +got):\n%s", d)
	}
	stale, _ := s.Get(ctx, "vm")
	got.State = lifecycle.StateErred
	if err := s.Update(ctx, got); err != nil {
		t.Fatalf("Update: %v", err)
	}
	stale.State = lifecycle.StateTerminated
	if err := s.Update(ctx, stale); !IsConflict(err, false) {
		t.Fatalf("Update of a stale copy = %v, want *ConflictError", err)
	}
	again, _ := s.Get(ctx, "vm")
	if again.State != lifecycle.StateErred {
		t.Errorf("state after a conflicting write = %s, want ERRED (never overwritten)", again.State)
	}
	// The version moves on with each write.
	again.State = lifecycle.StateOK
	if err := s.Update(ctx, again); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, again); err != nil {
		t.Fatalf("a second Update with the version the first returned: %v", err)
	}
	if err := s.Create(ctx, Resource("db")); err != nil {
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
