package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/runner"
)

// teamClient is a fake clientset whose SelfSubjectReview answers user.
func teamClient(user string, objects ...runtime.Object) *fake.Clientset {
	cs := fake.NewClientset(objects...)
	cs.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authenticationv1.SelfSubjectReview{Status: authenticationv1.SelfSubjectReviewStatus{
			UserInfo: authenticationv1.UserInfo{Username: user},
		}}, nil
	})
	return cs
}

func forbid(cs *fake.Clientset, verb string) {
	cs.PrependReactor(verb, "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", errors.New("RBAC: no"))
	})
}

func getRecord(t *testing.T, cs *fake.Clientset, ns, id string) (*corev1.ConfigMap, *TeamRecord) {
	t.Helper()
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(context.Background(), TeamRecordName(id), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("record of %s: %v", id, err)
	}
	r, err := ParseTeamRecord(cm)
	if err != nil {
		t.Fatal(err)
	}
	return cm, r
}

func TestTeamRecordOf(t *testing.T) {
	start := testNow
	rec := &history.Record{
		ID: "20260101-120000-abcdef", Script: "db-restore", Library: "team", LibraryCommit: "0123abc", Deck: "prod",
		Namespace: "prod", Mode: history.ModePod, User: "ann@example.com", Pod: "cscript-db-restore-x1", Image: "postgres:15",
		Start: start, Event: "create", Resource: "vm1",
		Uploads:   []history.TransferRecord{{From: "/home/ann/dumps/prod.sql.gz", To: "/work/in.sql.gz", Bytes: 42, SHA256: "aa"}},
		Downloads: []history.TransferRecord{{From: "/work/out", To: "out/", Bytes: 7, SHA256: "bb"}},
	}
	body := "pg_restore /work/in.sql.gz\n"
	got := TeamRecordOf(rec, body)
	sum := sha256.Sum256([]byte(body))
	want := TeamRecord{
		ID: rec.ID, Script: "db-restore", Library: "team", LibraryCommit: "0123abc", ScriptSHA256: hex.EncodeToString(sum[:]),
		Deck: "prod", Namespace: "prod", Mode: history.ModePod, Event: "create", Resource: "vm1", User: "ann@example.com",
		Name: "cscript-db-restore-x1", Image: "postgres:15", Start: start, State: history.StateRunning,
		Uploads:   []TeamFile{{Path: "/work/in.sql.gz", Local: "prod.sql.gz", Bytes: 42, SHA256: "aa"}},
		Downloads: []TeamFile{{Path: "/work/out", Local: "out", Bytes: 7, SHA256: "bb"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TeamRecordOf (-want +got):\n%s", diff)
	}
}

func TestTeamRecordName(t *testing.T) {
	for id, want := range map[string]string{
		"20260101-120000-abcdef": "cscript-run-20260101-120000-abcdef",
		"My_Run.1":               "cscript-run-my-run.1",
		strings.Repeat("a", 300): "cscript-run-" + strings.Repeat("a", 253-len("cscript-run-")),
	} {
		if got := TeamRecordName(id); got != want {
			t.Errorf("TeamRecordName(%q) = %q, want %q", id, got, want)
		}
	}
}

// A run's record is written when it begins (running, labelled, with the
// Kubernetes user and host) and rewritten with its outcome when it ends.
func TestTeamHistoryBeginFinish(t *testing.T) {
	ctx := context.Background()
	cs := teamClient("alice")
	h := &TeamHistory{Client: cs, Namespace: "team", Host: "laptop"}
	rec := TeamRecord{ID: "20260101-120000-abcdef", Script: "db-restore", Deck: "prod", User: "ann@example.com", Start: testNow, Mode: history.ModeJob}
	if err := h.Begin(ctx, rec); err != nil {
		t.Fatal(err)
	}
	cm, got := getRecord(t, cs, "team", rec.ID)
	wantLabels := map[string]string{
		runner.LabelManagedBy: runner.ManagedByValue, LabelRecord: RecordRun, runner.LabelRunID: rec.ID,
		runner.LabelScript: "db-restore", LabelDeck: "prod", LabelState: "running",
	}
	if diff := cmp.Diff(wantLabels, cm.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if got.State != history.StateRunning || got.KubernetesUser != "alice" || got.Host != "laptop" || got.Namespace != "team" || got.User != "ann@example.com" {
		t.Errorf("begun record = %+v", got)
	}

	rec.State, rec.ExitCode, rec.Reason, rec.End = history.StateFailed, 3, "Error", testNow.Add(time.Minute)
	if err := h.Finish(ctx, rec); err != nil {
		t.Fatal(err)
	}
	cm, got = getRecord(t, cs, "team", rec.ID)
	if cm.Labels[LabelState] != "failed" || got.State != history.StateFailed || got.ExitCode != 3 || got.Reason != "Error" || got.Duration() != time.Minute || got.KubernetesUser != "alice" {
		t.Errorf("finished record = %+v, labels %v", got, cm.Labels)
	}
	// One SelfSubjectReview for both writes.
	n := 0
	for _, a := range cs.Actions() {
		if a.GetResource().Resource == "selfsubjectreviews" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d SelfSubjectReviews, want 1", n)
	}
}

// Nothing in the stored record or its labels carries a secret value.
func TestTeamHistoryRedacts(t *testing.T) {
	ctx := context.Background()
	secret := "s3cr3t-VALUE-42"
	cs := teamClient("alice")
	h := &TeamHistory{Client: cs, Namespace: "team", Redactor: redact.New(secret)}
	rec := TeamRecord{ID: "r1", Script: "dump", Deck: "prod", Resource: "vm-" + secret, Reason: "failed with " + secret,
		Image: "reg/" + secret + ":1", Start: testNow, State: history.StateFailed, ExitCode: 1,
		Uploads: []TeamFile{{Path: "/work/" + secret, Local: secret + ".txt", Bytes: 1}}}
	if err := h.Begin(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := h.Finish(ctx, rec); err != nil {
		t.Fatal(err)
	}
	cm, got := getRecord(t, cs, "team", "r1")
	if strings.Contains(fmt.Sprint(cm.Data, cm.Labels, cm.Annotations), secret) {
		t.Errorf("the secret is in the record: %v", cm.Data)
	}
	if got.Resource != "vm-***" || got.Uploads[0].Path != "/work/***" {
		t.Errorf("redacted record = %+v", got)
	}
}

// Retention keeps the newest Keep finished records of the script that just
// ran; running records and other scripts' records stay.
func TestTeamHistoryPrune(t *testing.T) {
	ctx := context.Background()
	cs := teamClient("bob")
	seed := &TeamHistory{Client: cs, Namespace: "team", Keep: 1000}
	for i := 0; i < 5; i++ {
		r := TeamRecord{ID: fmt.Sprintf("a-%d", i), Script: "a", Start: testNow.Add(time.Duration(i) * time.Minute), State: history.StateSucceeded}
		if i == 0 {
			r.State = history.StateRunning // the oldest, still running
		}
		if err := seed.Finish(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		if err := seed.Finish(ctx, TeamRecord{ID: fmt.Sprintf("b-%d", i), Script: "b", Start: testNow, State: history.StateFailed}); err != nil {
			t.Fatal(err)
		}
	}
	// Someone else's ConfigMap in the namespace is none of cscript's business.
	if _, err := cs.CoreV1().ConfigMaps("team").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app-config"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	h := &TeamHistory{Client: cs, Namespace: "team", Keep: 2}
	if err := h.Finish(ctx, TeamRecord{ID: "a-5", Script: "a", Start: testNow.Add(5 * time.Minute), State: history.StateAbandoned}); err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().ConfigMaps("team").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cm := range list.Items {
		names = append(names, cm.Name)
	}
	sort.Strings(names)
	want := []string{"app-config", "cscript-run-a-0", "cscript-run-a-4", "cscript-run-a-5", "cscript-run-b-0", "cscript-run-b-1", "cscript-run-b-2"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("after pruning to 2 (-want +got):\n%s", diff)
	}
	// The default keeps 100.
	if (&TeamHistory{}).keep() != DefaultTeamKeep || DefaultTeamKeep != 100 {
		t.Errorf("default keep %d", (&TeamHistory{}).keep())
	}
}

// Without permission the errors name it; the dry-run check asks without
// creating anything.
func TestTeamHistoryForbidden(t *testing.T) {
	ctx := context.Background()
	cs := teamClient("carol")
	forbid(cs, "create")
	h := &TeamHistory{Client: cs, Namespace: "locked"}
	for name, err := range map[string]error{
		"Check": h.Check(ctx),
		"Begin": h.Begin(ctx, TeamRecord{ID: "r", Script: "s", Start: testNow}),
	} {
		var pe *runner.PermissionError
		if !errors.As(err, &pe) || pe.Verb != "create" || pe.Resource != "configmaps" || !strings.Contains(err.Error(), "create configmaps in namespace locked") {
			t.Errorf("%s: err = %v, want a PermissionError for create configmaps in namespace locked", name, err)
		}
	}

	cs = teamClient("carol")
	h = &TeamHistory{Client: cs, Namespace: "ok"}
	if err := h.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	var dry bool
	for _, a := range cs.Actions() {
		if c, ok := a.(k8stesting.CreateActionImpl); ok && c.GetResource().Resource == "configmaps" {
			dry = len(c.CreateOptions.DryRun) == 1 && c.CreateOptions.DryRun[0] == metav1.DryRunAll
		}
	}
	if !dry {
		t.Error("Check did not create with dryRun=All")
	}

	// May create, may not update or delete: the finish names the verb.
	cs = teamClient("dan")
	forbid(cs, "update")
	h = &TeamHistory{Client: cs, Namespace: "half"}
	if err := h.Begin(ctx, TeamRecord{ID: "r", Script: "s", Start: testNow}); err != nil {
		t.Fatal(err)
	}
	err := h.Finish(ctx, TeamRecord{ID: "r", Script: "s", Start: testNow, State: history.StateSucceeded})
	var pe *runner.PermissionError
	if !errors.As(err, &pe) || pe.Verb != "update" {
		t.Errorf("Finish: err = %v, want a PermissionError for update", err)
	}
}

func TestListAndGetTeamRecords(t *testing.T) {
	ctx := context.Background()
	cs := teamClient("")
	put := func(ns string, r TeamRecord) {
		t.Helper()
		if err := (&TeamHistory{Client: cs, Namespace: ns}).Finish(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	put("team", TeamRecord{ID: "20260101-100000-aaaaaa", Script: "dump", Deck: "prod", User: "ann@example.com", KubernetesUser: "alice", Start: testNow, State: history.StateSucceeded})
	put("team", TeamRecord{ID: "20260101-110000-bbbbbb", Script: "dump", Deck: "staging", User: "bob@example.com", KubernetesUser: "bob", Start: testNow.Add(time.Hour), State: history.StateFailed})
	put("team", TeamRecord{ID: "20260101-120000-cccccc", Script: "restore", Deck: "prod", User: "bob@example.com", KubernetesUser: "bob", Start: testNow.Add(2 * time.Hour), State: history.StateRunning})
	put("other", TeamRecord{ID: "20260101-130000-dddddd", Script: "dump", Deck: "prod", User: "ann@example.com", Start: testNow.Add(3 * time.Hour), State: history.StateSucceeded})

	ids := func(f TeamFilter, ns string) []string {
		t.Helper()
		recs, err := ListTeamRecords(ctx, cs, ns, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range recs {
			out = append(out, r.ID[len(r.ID)-6:])
		}
		return out
	}
	for _, tc := range []struct {
		name string
		ns   string
		f    TeamFilter
		want []string
	}{
		{"all of team, newest first", "team", TeamFilter{}, []string{"cccccc", "bbbbbb", "aaaaaa"}},
		{"every namespace", "", TeamFilter{}, []string{"dddddd", "cccccc", "bbbbbb", "aaaaaa"}},
		{"deck", "team", TeamFilter{Deck: "prod"}, []string{"cccccc", "aaaaaa"}},
		{"script", "team", TeamFilter{Script: "dump"}, []string{"bbbbbb", "aaaaaa"}},
		{"kubernetes user", "team", TeamFilter{User: "ALICE"}, []string{"aaaaaa"}},
		{"git identity, in part", "team", TeamFilter{User: "bob@"}, []string{"cccccc", "bbbbbb"}},
		{"since", "team", TeamFilter{Since: testNow.Add(30 * time.Minute)}, []string{"cccccc", "bbbbbb"}},
	} {
		if diff := cmp.Diff(tc.want, ids(tc.f, tc.ns)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}

	r, err := GetTeamRecord(ctx, cs, "team", "20260101-110000-bbbbbb")
	if err != nil || r.KubernetesUser != "bob" || r.Namespace != "team" {
		t.Errorf("get by ID: %+v, %v", r, err)
	}
	if r, err := GetTeamRecord(ctx, cs, "team", "20260101-12"); err != nil || r.Script != "restore" {
		t.Errorf("get by prefix: %+v, %v", r, err)
	}
	if _, err := GetTeamRecord(ctx, cs, "team", "20260101"); !errors.Is(err, ErrNoTeamRecord) || !strings.Contains(err.Error(), "3 runs") {
		t.Errorf("ambiguous prefix: %v", err)
	}
	if _, err := GetTeamRecord(ctx, cs, "team", "nope"); !errors.Is(err, ErrNoTeamRecord) {
		t.Errorf("unknown: %v", err)
	}
	last, err := LastTeamRecord(ctx, cs, "team", "dump")
	if err != nil || last == nil || last.KubernetesUser != "bob" {
		t.Errorf("last dump: %+v, %v", last, err)
	}
	if last, err := LastTeamRecord(ctx, cs, "team", "never-ran"); last != nil || err != nil {
		t.Errorf("last of a script never run: %+v, %v", last, err)
	}
}

// gc closes the running records whose Pod and Job are gone (or going) and
// that are older than the grace; a live run, a young one and a finished one
// stay as they are.
func TestMarkAbandoned(t *testing.T) {
	ctx := context.Background()
	now := testNow
	runLabels := func(id string) map[string]string {
		return map[string]string{runner.LabelManagedBy: runner.ManagedByValue, runner.LabelRunID: id}
	}
	deleting := metav1.NewTime(now)
	cs := teamClient("",
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "cscript-live-x", Labels: runLabels("live-pod")}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "cscript-job-x", Labels: runLabels("live-job")}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "cscript-going-x", Labels: runLabels("going"),
			DeletionTimestamp: &deleting, Finalizers: []string{"test"}}},
	)
	h := &TeamHistory{Client: cs, Namespace: "team"}
	old := now.Add(-time.Hour)
	for _, r := range []TeamRecord{
		{ID: "killed", Script: "s", Start: old},
		{ID: "going", Script: "s", Start: old},
		{ID: "live-pod", Script: "s", Start: old},
		{ID: "live-job", Script: "s", Start: old},
		{ID: "young", Script: "s", Start: now.Add(-10 * time.Second)},
	} {
		if err := h.Begin(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Finish(ctx, TeamRecord{ID: "done", Script: "s", Start: old, State: history.StateSucceeded}); err != nil {
		t.Fatal(err)
	}

	dry, err := MarkAbandoned(ctx, cs, "team", TeamAbandonGrace, now, true)
	if err != nil || len(dry) != 2 {
		t.Fatalf("dry run: %v, %v", dry, err)
	}
	if _, r := getRecord(t, cs, "team", "killed"); r.State != history.StateRunning {
		t.Errorf("the dry run changed a record: %s", r.State)
	}
	closed, err := MarkAbandoned(ctx, cs, "", TeamAbandonGrace, now, false)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(closed)
	want := []string{
		"team/cscript-run-going",
		"team/cscript-run-killed",
	}
	if diff := cmp.Diff(want, closed); diff != "" {
		t.Errorf("closed (-want +got):\n%s", diff)
	}
	for id, state := range map[string]history.State{
		"killed": history.StateAbandoned, "going": history.StateAbandoned, "live-pod": history.StateRunning,
		"live-job": history.StateRunning, "young": history.StateRunning, "done": history.StateSucceeded,
	} {
		cm, r := getRecord(t, cs, "team", id)
		if r.State != state || cm.Labels[LabelState] != string(state) {
			t.Errorf("%s: state %s (label %s), want %s", id, r.State, cm.Labels[LabelState], state)
		}
		if state == history.StateAbandoned && r.Reason != ReasonTeamGone {
			t.Errorf("%s: reason %q", id, r.Reason)
		}
	}
}
