package action

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/runner/kube"
)

// bufLog is a Log that writes as the CLI does.
type bufLog struct{ w *bytes.Buffer }

func (l *bufLog) Warn(msg string) { fmt.Fprintf(l.w, "warning: %s\n", msg) }
func (l *bufLog) Note(msg string) { fmt.Fprintln(l.w, msg) }

// Without permission to create ConfigMaps, runs warn once per process and
// go on; a deck that requires team history refuses them with what to do.
func TestTeamRunWithoutPermission(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", errors.New("RBAC"))
	})
	var stderr bytes.Buffer
	log := &bufLog{w: &stderr}
	a := &Configuration{Now: time.Now, Secrets: redact.New(), Log: log}
	hist, err := history.Open(t.TempDir(), 10)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		rec := &history.Record{Script: "hello", Namespace: "locked"}
		hrun, err := hist.Begin(rec)
		if err != nil {
			t.Fatal(err)
		}
		tr := &teamRun{c: a, h: &kube.TeamHistory{Client: cs, Namespace: "locked"}, deck: "dev"}
		if err := tr.begin(ctx, hrun, rec, "echo hi"); err != nil {
			t.Fatalf("run %d: %v, want it to go on", i, err)
		}
		tr.finish(ctx, rec)
		if err := hrun.Finish(rec); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(stderr.String(), "warning:"); n != 1 || !strings.Contains(stderr.String(), "create configmaps in namespace locked") {
		t.Errorf("%d warnings, want 1 naming create configmaps in namespace locked:\n%s", n, stderr.String())
	}

	rec := &history.Record{Script: "hello", Namespace: "locked"}
	hrun, err := hist.Begin(rec)
	if err != nil {
		t.Fatal(err)
	}
	tr := &teamRun{c: a, h: &kube.TeamHistory{Client: cs, Namespace: "locked"}, deck: "prod", required: true}
	err = tr.begin(ctx, hrun, rec, "echo hi")
	var req *teamRequiredError
	if !errors.As(err, &req) || !strings.Contains(err.Error(), "deck prod requires team history") ||
		!strings.Contains(err.Error(), "create configmaps in namespace locked") || !strings.Contains(err.Error(), "nothing was run") {
		t.Fatalf("required: %v", err)
	}
	got, err := hist.Get(rec.ID)
	if err != nil || got.State != history.StateFailed || !strings.Contains(got.Message, "requires team history") {
		t.Errorf("the refused run's local record: %+v, %v", got, err)
	}
	if err := tr.h.Check(ctx); err == nil {
		t.Error("Check: no error without permission")
	}
}
