package kube

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/cscript-dev/cscript/runner"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// LeaseName is the Lease an exclusive script takes in its namespace.
func LeaseName(script string) string { return objectName(script, "") }

// lock is a held Lease.
type lock struct {
	name, namespace string
	resourceVersion string // deleting only this version leaves a take-over alone
}

// acquireLease takes the script's Lease for holder, for d. A Lease held by
// someone else whose time has not run out is a *LockedError; an expired one
// is taken over (optimistically: a concurrent taker makes one of the two
// fail with a conflict, reported as locked).
func acquireLease(ctx context.Context, client kubernetes.Interface, ns, script, runID, holder string, d time.Duration, now time.Time) (*lock, error) {
	name := LeaseName(script)
	secs := int32(math.Min(math.Ceil(d.Seconds()), math.MaxInt32))
	t := metav1.NewMicroTime(now)
	want := coordinationv1.LeaseSpec{
		HolderIdentity:       &holder,
		LeaseDurationSeconds: &secs,
		AcquireTime:          &t,
		RenewTime:            &t,
	}
	leases := client.CoordinationV1().Leases(ns)
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: ns,
			Labels:    map[string]string{runner.LabelManagedBy: runner.ManagedByValue, runner.LabelScript: labelValue(script), runner.LabelRunID: labelValue(runID)},
		},
		Spec: want,
	}
	created, err := leases.Create(ctx, l, metav1.CreateOptions{})
	if err == nil {
		return &lock{name: name, namespace: ns, resourceVersion: created.ResourceVersion}, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create lease %s: %w", name, err)
	}
	cur, err := leases.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get lease %s: %w", name, err)
	}
	if !leaseExpired(cur, now) {
		return nil, lockedError(cur)
	}
	cur.Spec = want
	if cur.Labels == nil {
		cur.Labels = map[string]string{}
	}
	cur.Labels[runner.LabelRunID] = labelValue(runID)
	updated, err := leases.Update(ctx, cur, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		if again, gerr := leases.Get(ctx, name, metav1.GetOptions{}); gerr == nil {
			return nil, lockedError(again)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("take over expired lease %s: %w", name, err)
	}
	return &lock{name: name, namespace: ns, resourceVersion: updated.ResourceVersion}, nil
}

func leaseExpired(l *coordinationv1.Lease, now time.Time) bool {
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return true
	}
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return false
	}
	end := l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
	return !now.Before(end)
}

func lockedError(l *coordinationv1.Lease) *runner.LockedError {
	e := &runner.LockedError{Lease: l.Name, Namespace: l.Namespace, Holder: "someone"}
	if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
		e.Holder = *l.Spec.HolderIdentity
	}
	if l.Spec.AcquireTime != nil {
		e.Since = l.Spec.AcquireTime.Time
	}
	return e
}

// release deletes the Lease if it is still the one this run took.
func (l *lock) release(ctx context.Context, client kubernetes.Interface) error {
	err := client.CoordinationV1().Leases(l.namespace).Delete(ctx, l.name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{ResourceVersion: &l.resourceVersion},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("release lease %s: %w", l.name, err)
	}
	return nil
}
