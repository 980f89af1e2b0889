package runner

import (
	"errors"
	"strings"
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
		{Docker, Spec{Uploads: full.Uploads, Stdin: true}, Request{}, nil},
		{Docker, Spec{Uploads: full.Uploads}, Request{Detach: true}, nil},
		{Docker, full, Request{}, []string{"--compress", "credential PW from a Kubernetes Secret", "exclusive: true", "serviceAccount sa"}},
		{Docker, Spec{Stdin: true, Downloads: full.Uploads}, Request{Detach: true}, []string{"-i with --detach", "downloads with --detach"}},
		{KubernetesJob, Spec{}, Request{Detach: true}, nil},
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

// Docker's refusal of --compress says why and what to do.
func TestDockerRefusesCompressSayingWhy(t *testing.T) {
	err := Docker.Check(Spec{Compress: true}, Request{})
	var u *UnsupportedError
	if !errors.As(err, &u) || !strings.Contains(u.Error(), "archive API") || !strings.Contains(u.Error(), "leave --compress out") {
		t.Errorf("--compress on Docker: %v", err)
	}
}
