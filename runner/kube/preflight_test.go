package kube

import (
	"errors"
	"strings"
	"testing"

	"github.com/cscript-dev/cscript/runner"
)

// A user who may get pods/exec but not create it (enough before Kubernetes
// 1.35) is told so, and what to ask for.
func TestPreflightExecGetOnly(t *testing.T) {
	for _, getAllowed := range []bool{true, false} {
		h := newHarness(t)
		h.denied["create pods/exec"] = true
		h.denied["get pods/exec"] = !getAllowed
		_, err := h.run(minimalSpec())
		var pe *runner.PermissionError
		if !errors.As(err, &pe) {
			t.Fatalf("err = %v, want *PermissionError", err)
		}
		msg := err.Error()
		for _, want := range []string{
			"cannot create pods/exec in namespace team-a",
			`ask a cluster admin to add the verb "create" on "pods/exec" to your Role or ClusterRole for namespace team-a`,
			`resources: ["pods/exec"], verbs: ["create"]`,
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("get allowed %v: message %q lacks %q", getAllowed, msg, want)
			}
		}
		if got := strings.Contains(msg, "you may get pods/exec but not create it"); got != getAllowed {
			t.Errorf("get allowed %v: message %q says get-only: %v", getAllowed, msg, got)
		}
	}
}
