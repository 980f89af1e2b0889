package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
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

func isConflict(err error, exists bool) bool {
	var ce *ConflictError
	return errors.As(err, &ce) && ce.Exists == exists
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
