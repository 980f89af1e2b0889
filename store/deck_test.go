package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCredentials(t *testing.T) {
	s := &Script{Credentials: []Credential{
		{Name: "PGPASSWORD", Description: "db password", Secret: &SecretRef{Name: "db", Key: "password"}},
		{Name: "TOKEN", FromEnv: "TOKEN"},
	}}
	d := &Deck{Credentials: []Credential{
		{Name: "PGPASSWORD", FromCommand: "pass show staging/db"},
		{Name: "UNUSED", FromEnv: "X"},
	}}
	want := []Credential{
		{Name: "PGPASSWORD", Description: "db password", FromCommand: "pass show staging/db"},
		{Name: "TOKEN", FromEnv: "TOKEN"},
	}
	if diff := cmp.Diff(want, Credentials(s, d)); diff != "" {
		t.Errorf("Credentials (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(s.Credentials, Credentials(s, nil)); diff != "" {
		t.Errorf("Credentials without a deck (-want +got):\n%s", diff)
	}
	if s.Credentials[0].Secret == nil {
		t.Error("Credentials changed the script")
	}
	if got := (&Deck{}).BackendName(); got != BackendKubernetes {
		t.Errorf("default backend = %q", got)
	}
}
