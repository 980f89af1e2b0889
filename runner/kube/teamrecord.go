package kube

// Team history: every Kubernetes run leaves a small record in the namespace
// it ran in, a ConfigMap per run, as Helm keeps a release's history in the
// release's namespace. Whoever may list ConfigMaps there sees who ran which
// script, from which library commit, and how it ended. A record never holds
// the script's output or a secret value: every string goes through the run's
// redactor before it leaves this machine.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/runner"
)

// Labels and names of team records.
const (
	// LabelRecord marks a team record: cscript.dev/record=run.
	LabelRecord = "cscript.dev/record"
	RecordRun   = "run"
	// LabelDeck and LabelState carry the record's deck and state, so that
	// `kubectl get cm -l cscript.dev/state=running` finds runs in progress.
	LabelDeck  = "cscript.dev/deck"
	LabelState = "cscript.dev/state"
	// TeamRecordKey is the ConfigMap data key that holds the record as JSON.
	TeamRecordKey = "run.json"
	// TeamRecordPrefix starts the name of every record's ConfigMap.
	TeamRecordPrefix = "cscript-run-"
	// DefaultTeamKeep is how many finished records per script a namespace
	// keeps when the deck does not say.
	DefaultTeamKeep = 100
	// TeamAbandonGrace is how old a running record whose Pod or Job is gone
	// must be before MarkAbandoned closes it: a run writes its record before
	// it creates its Pod.
	TeamAbandonGrace = time.Minute
	// ReasonTeamGone is the reason of a record MarkAbandoned closed.
	ReasonTeamGone = "its Pod or Job is gone and cscript never finished the run (closed by cscript gc)"
)

// TeamRecord is one run as the namespace remembers it.
type TeamRecord struct {
	ID            string `json:"id" yaml:"id"`
	Script        string `json:"script" yaml:"script"`
	Library       string `json:"library,omitempty" yaml:"library,omitempty"`
	LibraryCommit string `json:"libraryCommit,omitempty" yaml:"libraryCommit,omitempty"`
	// ScriptSHA256 is the sha256 of the rendered script as cscript records
	// it locally (secret values masked), so two runs of the same script
	// with the same inputs have the same sum.
	ScriptSHA256 string `json:"scriptSHA256,omitempty" yaml:"scriptSHA256,omitempty"`
	Deck         string `json:"deck,omitempty" yaml:"deck,omitempty"`
	Namespace    string `json:"namespace" yaml:"namespace"`
	Mode         string `json:"mode,omitempty" yaml:"mode,omitempty"` // history.ModePod or history.ModeJob
	// Event, Resource and DryRun describe a lifecycle script's run.
	Event    string `json:"event,omitempty" yaml:"event,omitempty"`
	Resource string `json:"resource,omitempty" yaml:"resource,omitempty"`
	DryRun   bool   `json:"dryRun,omitempty" yaml:"dryRun,omitempty"`
	// User is the git identity cscript ran as (as in the local record);
	// KubernetesUser is who the API server says the client is
	// (SelfSubjectReview), when the cluster tells.
	User           string `json:"user,omitempty" yaml:"user,omitempty"`
	KubernetesUser string `json:"kubernetesUser,omitempty" yaml:"kubernetesUser,omitempty"`
	Host           string `json:"host,omitempty" yaml:"host,omitempty"`
	// Name is the run's Pod or Job.
	Name  string        `json:"name,omitempty" yaml:"name,omitempty"`
	Image string        `json:"image,omitempty" yaml:"image,omitempty"`
	Start time.Time     `json:"start" yaml:"start"`
	End   time.Time     `json:"end,omitzero" yaml:"end,omitempty"`
	State history.State `json:"state" yaml:"state"`
	// ExitCode and Reason are the outcome, once the run has ended.
	ExitCode  int        `json:"exitCode" yaml:"exitCode"`
	Reason    string     `json:"reason,omitempty" yaml:"reason,omitempty"`
	Uploads   []TeamFile `json:"uploads,omitempty" yaml:"uploads,omitempty"`
	Downloads []TeamFile `json:"downloads,omitempty" yaml:"downloads,omitempty"`
}

// TeamFile is a file or directory the run moved in or out: its path in the
// container, the base name of the local side, size and sha256.
type TeamFile struct {
	Path   string `json:"path" yaml:"path"`
	Local  string `json:"local,omitempty" yaml:"local,omitempty"`
	Bytes  int64  `json:"bytes" yaml:"bytes"`
	SHA256 string `json:"sha256,omitempty" yaml:"sha256,omitempty"`
}

// Finished reports whether the record has an outcome (any state but running).
func (r *TeamRecord) Finished() bool { return r.State != history.StateRunning }

// Duration is End - Start, or zero while the run has no end.
func (r *TeamRecord) Duration() time.Duration {
	if r.End.IsZero() || r.Start.IsZero() {
		return 0
	}
	return r.End.Sub(r.Start)
}

// TeamRecordOf makes the team record of a local run record. body is the
// rendered script as recorded locally (redacted); the host, Kubernetes user
// and namespace are filled in by TeamHistory.
func TeamRecordOf(rec *history.Record, body string) TeamRecord {
	t := TeamRecord{
		ID: rec.ID, Script: rec.Script, Library: rec.Library, LibraryCommit: rec.LibraryCommit,
		Deck: rec.Deck, Namespace: rec.Namespace, Mode: rec.Mode, Event: rec.Event, Resource: rec.Resource, DryRun: rec.DryRun,
		User: rec.User, Name: rec.Pod, Image: rec.Image, Start: rec.Start, End: rec.End,
		State: rec.State, ExitCode: rec.ExitCode, Reason: rec.Reason,
	}
	if body != "" {
		sum := sha256.Sum256([]byte(body))
		t.ScriptSHA256 = hex.EncodeToString(sum[:])
	}
	for _, u := range rec.Uploads {
		t.Uploads = append(t.Uploads, TeamFile{Path: u.To, Local: localName(u.From), Bytes: u.Bytes, SHA256: u.SHA256})
	}
	for _, d := range rec.Downloads {
		t.Downloads = append(t.Downloads, TeamFile{Path: d.From, Local: localName(d.To), Bytes: d.Bytes, SHA256: d.SHA256})
	}
	if t.State == "" {
		t.State = history.StateRunning
	}
	return t
}

// localName is the last element of a local path (either separator): the
// record names the file, not where it lives on someone's machine.
func localName(p string) string {
	p = strings.TrimRight(strings.ReplaceAll(p, `\`, "/"), "/")
	if p == "" {
		return ""
	}
	return path.Base(p)
}

// redacted returns a copy of r with every free-text field redacted.
func (r TeamRecord) redacted(red *redact.Redactor) TeamRecord {
	s := red.String
	for _, f := range []*string{&r.Script, &r.Library, &r.LibraryCommit, &r.Deck, &r.Namespace, &r.Mode, &r.Event,
		&r.Resource, &r.User, &r.KubernetesUser, &r.Host, &r.Name, &r.Image, &r.Reason} {
		*f = s(*f)
	}
	files := func(in []TeamFile) []TeamFile {
		if in == nil {
			return nil
		}
		out := make([]TeamFile, len(in))
		for i, f := range in {
			out[i] = TeamFile{Path: s(f.Path), Local: s(f.Local), Bytes: f.Bytes, SHA256: f.SHA256}
		}
		return out
	}
	r.Uploads, r.Downloads = files(r.Uploads), files(r.Downloads)
	return r
}

var nonDNSName = regexp.MustCompile(`[^a-z0-9.-]+`)

// TeamRecordName is the name of the ConfigMap that holds run id's record.
func TeamRecordName(id string) string {
	s := strings.Trim(nonDNSName.ReplaceAllString(strings.ToLower(id), "-"), "-.")
	if max := 253 - len(TeamRecordPrefix); len(s) > max {
		s = strings.TrimRight(s[:max], "-.")
	}
	return TeamRecordPrefix + s
}

// teamSelector selects the team records (of one script when script != "").
func teamSelector(extra labels.Set) string {
	set := labels.Set{runner.LabelManagedBy: runner.ManagedByValue, LabelRecord: RecordRun}
	for k, v := range extra {
		set[k] = v
	}
	return labels.SelectorFromSet(set).String()
}

// teamConfigMap builds the ConfigMap of a record (already redacted).
func teamConfigMap(ns string, r TeamRecord) (*corev1.ConfigMap, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	l := map[string]string{
		runner.LabelManagedBy: runner.ManagedByValue,
		LabelRecord:           RecordRun,
		runner.LabelRunID:     labelValue(r.ID),
		runner.LabelScript:    labelValue(r.Script),
		LabelState:            labelValue(string(r.State)),
	}
	if r.Deck != "" {
		l[LabelDeck] = labelValue(r.Deck)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: TeamRecordName(r.ID), Namespace: ns, Labels: l},
		Data:       map[string]string{TeamRecordKey: string(b)},
	}, nil
}

// ParseTeamRecord reads the record a ConfigMap holds.
func ParseTeamRecord(cm *corev1.ConfigMap) (*TeamRecord, error) {
	data, ok := cm.Data[TeamRecordKey]
	if !ok {
		return nil, fmt.Errorf("configmap %s/%s holds no %s", cm.Namespace, cm.Name, TeamRecordKey)
	}
	var r TeamRecord
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return nil, fmt.Errorf("configmap %s/%s: %s: %w", cm.Namespace, cm.Name, TeamRecordKey, err)
	}
	r.Namespace = cm.Namespace
	return &r, nil
}

// teamError names what the API server refused: a *runner.PermissionError for
// a forbidden request on configmaps, else err with what was being done.
func teamError(err error, verb, ns string) error {
	if apierrors.IsForbidden(err) {
		return &runner.PermissionError{Namespace: ns, Verb: verb, Resource: "configmaps"}
	}
	return fmt.Errorf("team history: %s configmaps in namespace %s: %w", verb, ns, err)
}

// TeamHistory writes and prunes the team records of one namespace. Only
// Client and Namespace are required. It is not safe for concurrent use.
type TeamHistory struct {
	Client    kubernetes.Interface
	Namespace string
	// Keep is how many finished records of each script to keep; <= 0:
	// DefaultTeamKeep.
	Keep int
	// Redactor hides the run's secret values in everything written; nil
	// writes as given.
	Redactor *redact.Redactor
	// Host names this machine in the records.
	Host string

	userDone bool
	user     string
}

func (h *TeamHistory) keep() int {
	if h.Keep <= 0 {
		return DefaultTeamKeep
	}
	return h.Keep
}

// KubernetesUser asks the API server who the client is (a SelfSubjectReview
// of authentication.k8s.io/v1), once; "" when the server does not tell.
func (h *TeamHistory) KubernetesUser(ctx context.Context) string {
	if h.userDone {
		return h.user
	}
	h.userDone = true
	if review, err := h.Client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{}); err == nil {
		h.user = review.Status.UserInfo.Username
	}
	return h.user
}

// Check asks the API server (a server-side dry run) whether the current user
// may create a record: nil, a *runner.PermissionError, or another error.
func (h *TeamHistory) Check(ctx context.Context) error {
	cm, err := teamConfigMap(h.Namespace, TeamRecord{ID: "check", Script: "check", State: history.StateRunning})
	if err != nil {
		return err
	}
	cm.Name, cm.GenerateName = "", TeamRecordPrefix
	_, err = h.Client.CoreV1().ConfigMaps(h.Namespace).Create(ctx, cm, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return teamError(err, "create", h.Namespace)
	}
	return nil
}

// prepare fills in what the history knows and redacts.
func (h *TeamHistory) prepare(ctx context.Context, r TeamRecord) TeamRecord {
	r.Namespace = h.Namespace
	if r.Host == "" {
		r.Host = h.Host
	}
	if r.KubernetesUser == "" {
		r.KubernetesUser = h.KubernetesUser(ctx)
	}
	return r.redacted(h.Redactor)
}

// Begin writes the record of a run that starts (its state is running).
// Errors on configmaps are *runner.PermissionError when forbidden.
func (h *TeamHistory) Begin(ctx context.Context, r TeamRecord) error {
	r.State = history.StateRunning
	cm, err := teamConfigMap(h.Namespace, h.prepare(ctx, r))
	if err != nil {
		return err
	}
	_, err = h.Client.CoreV1().ConfigMaps(h.Namespace).Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// The same run again (a resumed one): its record is rewritten.
		_, err = h.Client.CoreV1().ConfigMaps(h.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
		if err != nil {
			return teamError(err, "update", h.Namespace)
		}
		return nil
	}
	if err != nil {
		return teamError(err, "create", h.Namespace)
	}
	return nil
}

// Finish rewrites the record with the run's outcome (a record still marked
// running is written as it is: a detached run), then prunes the script's
// records. The outcome wins over what `cscript gc` may have written
// meanwhile: the update is unconditional.
func (h *TeamHistory) Finish(ctx context.Context, r TeamRecord) error {
	cm, err := teamConfigMap(h.Namespace, h.prepare(ctx, r))
	if err != nil {
		return err
	}
	cms := h.Client.CoreV1().ConfigMaps(h.Namespace)
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		if err != nil {
			return teamError(err, "create", h.Namespace)
		}
	} else if err != nil {
		return teamError(err, "update", h.Namespace)
	}
	if !r.Finished() {
		return nil
	}
	_, err = h.Prune(ctx, r.Script)
	return err
}

// Prune removes the finished records of script beyond the newest Keep ones
// (by start time); running records are never removed. It returns the names
// of the ConfigMaps it removed.
func (h *TeamHistory) Prune(ctx context.Context, script string) ([]string, error) {
	if h.Redactor != nil {
		script = h.Redactor.String(script)
	}
	cms := h.Client.CoreV1().ConfigMaps(h.Namespace)
	list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: teamSelector(labels.Set{runner.LabelScript: labelValue(script)})})
	if err != nil {
		return nil, teamError(err, "list", h.Namespace)
	}
	type entry struct {
		cm    *corev1.ConfigMap
		start time.Time
	}
	var finished []entry
	for i := range list.Items {
		cm := &list.Items[i]
		r, err := ParseTeamRecord(cm)
		if err != nil {
			continue // not cscript's to judge: left alone
		}
		if r.Finished() {
			finished = append(finished, entry{cm, r.Start})
		}
	}
	sort.SliceStable(finished, func(i, j int) bool {
		if !finished[i].start.Equal(finished[j].start) {
			return finished[i].start.After(finished[j].start)
		}
		return finished[i].cm.Name > finished[j].cm.Name
	})
	var removed []string
	var errs []error
	for _, e := range finished[min(len(finished), h.keep()):] {
		uid, rv := e.cm.UID, e.cm.ResourceVersion
		err := cms.Delete(ctx, e.cm.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		switch {
		case err == nil:
			removed = append(removed, e.cm.Name)
		case apierrors.IsNotFound(err), apierrors.IsConflict(err):
			// Someone else pruned it, or it changed: theirs to decide.
		case apierrors.IsForbidden(err):
			return removed, teamError(err, "delete", h.Namespace)
		default:
			errs = append(errs, teamError(err, "delete", h.Namespace))
		}
	}
	return removed, errors.Join(errs...)
}

// TeamFilter selects records for ListTeamRecords; zero fields select all.
type TeamFilter struct {
	Deck, Script string
	// User matches the git identity or the Kubernetes user, ignoring case,
	// whole or in part.
	User  string
	Since time.Time
}

func (f TeamFilter) match(r *TeamRecord) bool {
	if f.Deck != "" && r.Deck != f.Deck {
		return false
	}
	if f.Script != "" && r.Script != f.Script {
		return false
	}
	if u := strings.ToLower(f.User); u != "" && !strings.Contains(strings.ToLower(r.User), u) && !strings.Contains(strings.ToLower(r.KubernetesUser), u) {
		return false
	}
	return f.Since.IsZero() || !r.Start.Before(f.Since)
}

// ListTeamRecords returns the records of namespace ("" for every namespace)
// that f selects, newest first.
func ListTeamRecords(ctx context.Context, client kubernetes.Interface, namespace string, f TeamFilter) ([]TeamRecord, error) {
	extra := labels.Set{}
	if f.Script != "" {
		extra[runner.LabelScript] = labelValue(f.Script)
	}
	if f.Deck != "" {
		extra[LabelDeck] = labelValue(f.Deck)
	}
	list, err := client.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{LabelSelector: teamSelector(extra)})
	if err != nil {
		return nil, teamError(err, "list", orAll(namespace))
	}
	var out []TeamRecord
	for i := range list.Items {
		r, err := ParseTeamRecord(&list.Items[i])
		if err != nil || !f.match(r) {
			continue
		}
		out = append(out, *r)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.After(out[j].Start)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

func orAll(ns string) string {
	if ns == "" {
		return "(all namespaces)"
	}
	return ns
}

// GetTeamRecord finds the record of run id in namespace: by its exact name,
// else the one record whose ID starts with id.
func GetTeamRecord(ctx context.Context, client kubernetes.Interface, namespace, id string) (*TeamRecord, error) {
	cm, err := client.CoreV1().ConfigMaps(namespace).Get(ctx, TeamRecordName(id), metav1.GetOptions{})
	if err == nil && cm.Labels[LabelRecord] == RecordRun {
		return ParseTeamRecord(cm)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, teamError(err, "get", namespace)
	}
	all, err := ListTeamRecords(ctx, client, namespace, TeamFilter{})
	if err != nil {
		return nil, err
	}
	var found []TeamRecord
	for _, r := range all {
		if strings.HasPrefix(r.ID, id) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("%w: no run %q in namespace %s", ErrNoTeamRecord, id, namespace)
	case 1:
		return &found[0], nil
	}
	return nil, fmt.Errorf("%w: %q names %d runs in namespace %s (%s, %s, …): give more of the ID", ErrNoTeamRecord, id, len(found), namespace, found[0].ID, found[1].ID)
}

// ErrNoTeamRecord is returned by GetTeamRecord for an unknown or ambiguous ID.
var ErrNoTeamRecord = fail.New(fail.NotFound, "no such team record")

// LastTeamRecord returns the newest record of script in namespace (running or
// not), or nil when there is none.
func LastTeamRecord(ctx context.Context, client kubernetes.Interface, namespace, script string) (*TeamRecord, error) {
	recs, err := ListTeamRecords(ctx, client, namespace, TeamFilter{Script: script})
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	return &recs[0], nil
}

// MarkAbandoned closes the records of namespace ("" for all) that are still
// running although no Pod or Job of their run exists any more (or only one
// being deleted) and that started at least grace before now: their cscript
// was killed. They are stored as abandoned with ReasonTeamGone, with an
// update that loses to any concurrent one (the run finishing after all). It
// returns "NS/NAME" of each ConfigMap closed (or that would be, with dryRun).
func MarkAbandoned(ctx context.Context, client kubernetes.Interface, namespace string, grace time.Duration, now time.Time, dryRun bool) ([]string, error) {
	list, err := client.CoreV1().ConfigMaps(namespace).List(ctx, metav1.ListOptions{LabelSelector: teamSelector(labels.Set{LabelState: string(history.StateRunning)})})
	if err != nil {
		return nil, teamError(err, "list", orAll(namespace))
	}
	var closed []string
	var errs []error
	for i := range list.Items {
		cm := &list.Items[i]
		r, err := ParseTeamRecord(cm)
		if err != nil || r.Finished() || now.Sub(r.Start) < grace {
			continue
		}
		alive, err := runAlive(ctx, client, cm.Namespace, r.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if alive {
			continue
		}
		if !dryRun {
			r.State, r.Reason = history.StateAbandoned, ReasonTeamGone
			upd, err := teamConfigMap(cm.Namespace, *r)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			upd.ResourceVersion = cm.ResourceVersion
			if _, err := client.CoreV1().ConfigMaps(cm.Namespace).Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
				if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
					continue // written meanwhile: the run's own word wins
				}
				errs = append(errs, teamError(err, "update", cm.Namespace))
				continue
			}
		}
		closed = append(closed, cm.Namespace+"/"+cm.Name)
	}
	return closed, errors.Join(errs...)
}

// runAlive reports whether a Pod or Job of run id exists in ns and is not
// being deleted.
func runAlive(ctx context.Context, client kubernetes.Interface, ns, id string) (bool, error) {
	sel := metav1.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{runner.LabelManagedBy: runner.ManagedByValue, runner.LabelRunID: labelValue(id)}).String()}
	pods, err := client.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil {
		return false, fmt.Errorf("look for the pods of run %s in namespace %s: %w", id, ns, err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			return true, nil
		}
	}
	jobs, err := client.BatchV1().Jobs(ns).List(ctx, sel)
	if err != nil {
		return false, fmt.Errorf("look for the job of run %s in namespace %s: %w", id, ns, err)
	}
	for _, j := range jobs.Items {
		if j.DeletionTimestamp == nil {
			return true, nil
		}
	}
	return false, nil
}
