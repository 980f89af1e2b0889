package kube

import (
	"context"
	"fmt"
	"sync"

	"github.com/cscript-dev/cscript/runner"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Permission is one thing a run needs to be allowed to do in its namespace.
type Permission struct {
	Verb, Group, Resource, Subresource string
}

// Permissions lists what a run of spec needs: create, watch and delete Pods,
// create pods/exec (the verb Kubernetes 1.35+ checks for exec over
// WebSocket), create and delete Secrets when the run has local credentials or
// secret params, and create and delete Leases when it is exclusive.
func Permissions(spec runner.Spec) []Permission {
	perms := []Permission{
		{Verb: "create", Resource: "pods"},
		{Verb: "watch", Resource: "pods"},
		{Verb: "delete", Resource: "pods"},
		execPermission,
	}
	if needsSecret(spec) {
		perms = append(perms,
			Permission{Verb: "create", Resource: "secrets"},
			Permission{Verb: "delete", Resource: "secrets"})
	}
	if spec.Exclusive {
		perms = append(perms,
			Permission{Verb: "create", Group: "coordination.k8s.io", Resource: "leases"},
			Permission{Verb: "delete", Group: "coordination.k8s.io", Resource: "leases"})
	}
	return perms
}

// execPermission is what an exec needs: create on pods/exec.
var execPermission = Permission{Verb: "create", Resource: "pods", Subresource: "exec"}

// allowed says whether a SelfSubjectAccessReview allows p (false on error).
func allowed(ctx context.Context, client kubernetes.Interface, namespace string, p Permission) bool {
	got, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: namespace, Verb: p.Verb, Group: p.Group, Resource: p.Resource, Subresource: p.Subresource,
		}},
	}, metav1.CreateOptions{})
	return err == nil && got.Status.Allowed
}

func needsSecret(spec runner.Spec) bool {
	if len(spec.SecretParams) > 0 {
		return true
	}
	for _, c := range spec.Credentials {
		if c.SecretRef == nil {
			return true
		}
	}
	return false
}

// Preflight asks the API server (SelfSubjectAccessReview, all at once)
// whether the current user may do each of perms in namespace. It returns a
// *PermissionError for the first one denied, in the order given.
func Preflight(ctx context.Context, client kubernetes.Interface, namespace string, perms []Permission) error {
	errs := make([]error, len(perms))
	var wg sync.WaitGroup
	for i, p := range perms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			review := &authorizationv1.SelfSubjectAccessReview{
				Spec: authorizationv1.SelfSubjectAccessReviewSpec{
					ResourceAttributes: &authorizationv1.ResourceAttributes{
						Namespace:   namespace,
						Verb:        p.Verb,
						Group:       p.Group,
						Resource:    p.Resource,
						Subresource: p.Subresource,
					},
				},
			}
			got, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("check permission to %s %s: %w", p.Verb, p.Resource, err)
			case !got.Status.Allowed:
				reason := got.Status.Reason
				if got.Status.EvaluationError != "" && reason == "" {
					reason = got.Status.EvaluationError
				}
				pe := &runner.PermissionError{
					Namespace: namespace, Verb: p.Verb, Group: p.Group,
					Resource: p.Resource, Subresource: p.Subresource, Reason: reason,
				}
				if p == execPermission && allowed(ctx, client, namespace, Permission{Verb: "get", Resource: "pods", Subresource: "exec"}) {
					pe.Note = "you may get pods/exec but not create it, and Kubernetes 1.35 and later check create on pods/exec for every exec (WebSocket and SPDY alike); get alone worked only with older clusters"
				}
				errs[i] = pe
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
