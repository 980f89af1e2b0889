package credentials

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cscript-dev/cscript/store"
)

func TestMerge(t *testing.T) {
	script := []store.Credential{
		{Name: "PGPASSWORD", Description: "db", Secret: &store.SecretRef{Name: "pg", Key: "password"}},
		{Name: "TOKEN", FromEnv: "TOKEN"},
	}
	deck := []store.Credential{
		{Name: "PGPASSWORD", FromCommand: "pass show db"},
		{Name: "EXTRA", FromFile: "/x"},
	}
	got := Merge(script, deck)
	want := []store.Credential{
		{Name: "PGPASSWORD", Description: "db", FromCommand: "pass show db"},
		{Name: "TOKEN", FromEnv: "TOKEN"},
		{Name: "EXTRA", FromFile: "/x"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Merge (-want +got):\n%s", d)
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TOKEN": "tok-123", "HOME": dir}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name    string
		cred    store.Credential
		want    string
		wantErr string
	}{
		{"env", store.Credential{Name: "A", FromEnv: "TOKEN"}, "tok-123", ""},
		{"env unset", store.Credential{Name: "A", FromEnv: "NOPE"}, "", "credential A (fromEnv NOPE): the environment variable is empty or unset"},
		{"file", store.Credential{Name: "B", FromFile: file}, "s3cret", ""},
		{"file home", store.Credential{Name: "B", FromFile: "~/pw"}, "s3cret", ""},
		{"file missing", store.Credential{Name: "B", FromFile: filepath.Join(dir, "nope")}, "", "no such file or directory"},
		{"command", store.Credential{Name: "C", FromCommand: "printf 'from-cmd\\n'"}, "from-cmd", ""},
		{"command fails", store.Credential{Name: "C", FromCommand: "echo oops >&2; exit 3"}, "", "oops"},
		{"secret ref", store.Credential{Name: "D", Secret: &store.SecretRef{Name: "x", Key: "y"}}, "", "not a local source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(context.Background(), tt.cred, getenv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Read error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Read = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
