package paths

import (
	"path/filepath"
	"runtime"
	"testing"
)

func TestDefault(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	for _, v := range []string{"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"} {
		t.Setenv(v, "")
	}
	p := Default()
	if runtime.GOOS == "linux" {
		want := Paths{
			ConfigFile: filepath.Join(home, ".config", "cscript", "config.yaml"),
			DataDir:    filepath.Join(home, ".local", "share", "cscript"),
			StateDir:   filepath.Join(home, ".local", "state", "cscript"),
			CacheDir:   filepath.Join(home, ".cache", "cscript"),
		}
		if p != want {
			t.Errorf("Default() = %+v, want %+v", p, want)
		}
	}
	if got, want := p.RunsDir(), filepath.Join(p.StateDir, "runs"); got != want {
		t.Errorf("RunsDir = %s, want %s", got, want)
	}
	// XDG values win when absolute and are ignored when relative.
	state := filepath.Join(home, "st")
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("XDG_CACHE_HOME", "relative/cache")
	p = Default()
	if p.RunsDir() != filepath.Join(state, "cscript", "runs") {
		t.Errorf("with XDG_STATE_HOME: RunsDir %s", p.RunsDir())
	}
	if filepath.Dir(p.CacheDir) == "relative/cache" {
		t.Errorf("a relative XDG_CACHE_HOME was used: %s", p.CacheDir)
	}
}
