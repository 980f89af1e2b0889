package runner

import (
	"errors"
	"testing"
)

func TestCapabilitiesCheck(t *testing.T) {
	full := Spec{
		Uploads: []FileCopy{{Local: "a", Remote: "b"}}, Stdin: true, Compress: true, Exclusive: true, ServiceAccount: "sa",
		Credentials: []Credential{{Name: "PW", SecretRef: &SecretKeyRef{Name: "db", Key: "pw"}}},
	}
	for _, tc := range []struct {
		caps    Capabilities
		spec    Spec
		req     Request
		refused []string
	}{
		{KubernetesPod, Spec{}, Request{}, nil},
		{KubernetesPod, full, Request{}, nil},
		{KubernetesPod, Spec{}, Request{Detach: true}, []string{"--detach"}},
		{KubernetesJob, Spec{Exclusive: true, ServiceAccount: "sa"}, Request{Detach: true}, nil},
		{KubernetesJob, full, Request{}, []string{"files (uploads and downloads)", "-i (stdin to the script)", "--compress"}},
		{Docker, Spec{Uploads: full.Uploads}, Request{}, nil},
		{Docker, full, Request{Detach: true}, []string{"-i (stdin to the script)", "--compress", "--detach", "credential PW from a Kubernetes Secret", "exclusive: true", "serviceAccount sa"}},
	} {
		err := tc.caps.Check(tc.spec, tc.req)
		var got []string
		var one *UnsupportedError
		var many *UnsupportedErrors
		switch {
		case errors.As(err, &many):
			for _, u := range many.Errs {
				got = append(got, u.What)
			}
		case errors.As(err, &one):
			got = []string{one.What}
		case err != nil:
			t.Fatalf("%s: %v", tc.caps.Name, err)
		}
		if len(got) != len(tc.refused) {
			t.Errorf("%s refused %q, want %q", tc.caps.Name, got, tc.refused)
			continue
		}
		for i := range got {
			if got[i] != tc.refused[i] {
				t.Errorf("%s refused %q, want %q", tc.caps.Name, got, tc.refused)
			}
		}
	}
}
