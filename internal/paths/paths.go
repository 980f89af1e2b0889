// Package paths is the one rule for where cscript keeps its files on each
// platform: the XDG base directories when set (and absolute), else the
// platform's defaults under the home directory. store (configuration,
// libraries, the load cache) and history (run records) both use it.
package paths

import (
	"os"
	"path/filepath"
	"runtime"
)

// Paths are where cscript keeps its files. DefaultPaths computes them.
type Paths struct {
	ConfigFile string // $XDG_CONFIG_HOME/cscript/config.yaml
	DataDir    string // $XDG_DATA_HOME/cscript: libraries
	StateDir   string // $XDG_STATE_HOME/cscript: run history
	CacheDir   string // $XDG_CACHE_HOME/cscript: the load cache (safe to delete)
}

// Default computes Paths from the environment at the time of the call
// (XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_STATE_HOME, XDG_CACHE_HOME, then the platform's
// defaults under the home directory). Relative XDG values are ignored, as the
// XDG base directory specification says.
func Default() Paths {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		home = os.TempDir()
	}
	var config, data, state, cache string
	switch runtime.GOOS {
	case "darwin":
		lib := filepath.Join(home, "Library", "Application Support")
		config, data, state = lib, lib, lib
		cache = filepath.Join(home, "Library", "Caches")
	case "windows":
		config = os.Getenv("APPDATA")
		data = os.Getenv("LOCALAPPDATA")
		if config == "" {
			config = filepath.Join(home, "AppData", "Roaming")
		}
		if data == "" {
			data = filepath.Join(home, "AppData", "Local")
		}
		state = data
		cache = filepath.Join(data, "cache")
	default:
		config = filepath.Join(home, ".config")
		data = filepath.Join(home, ".local", "share")
		state = filepath.Join(home, ".local", "state")
		cache = filepath.Join(home, ".cache")
	}
	env := func(name, def string) string {
		if v := os.Getenv(name); v != "" && filepath.IsAbs(v) {
			return v
		}
		return def
	}
	return Paths{
		ConfigFile: filepath.Join(env("XDG_CONFIG_HOME", config), "cscript", "config.yaml"),
		DataDir:    filepath.Join(env("XDG_DATA_HOME", data), "cscript"),
		StateDir:   filepath.Join(env("XDG_STATE_HOME", state), "cscript"),
		CacheDir:   filepath.Join(env("XDG_CACHE_HOME", cache), "cscript"),
	}
}

// RunsDir is where the run history lives: StateDir/runs.
func (p Paths) RunsDir() string { return filepath.Join(p.StateDir, "runs") }

// LocalLibraryDir is the directory of the default library "local".
func (p Paths) LocalLibraryDir() string { return filepath.Join(p.DataDir, "library") }

// LibraryDir is where a library added by URL is cloned unless a path is given.
func (p Paths) LibraryDir(name string) string { return filepath.Join(p.DataDir, "libraries", name) }
