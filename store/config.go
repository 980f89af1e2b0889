package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/cscript-dev/cscript/internal/paths"
	"gopkg.in/yaml.v3"
)

// Paths are where cscript keeps its files; internal/paths has the one rule
// that computes them, which every package uses.
type Paths = paths.Paths

// DefaultPaths computes Paths from the environment at the time of the call.
func DefaultPaths() Paths { return paths.Default() }

// DefaultLibrary is the name of the library used when no config exists.
const DefaultLibrary = "local"

// Config is cscript's configuration file: the libraries, in search order.
type Config struct {
	Libraries []LibraryRef `yaml:"libraries" json:"libraries"`
	// Default is true when no config file existed and this is DefaultConfig.
	Default bool `yaml:"-" json:"-"`
}

// LibraryRef configures one library.
type LibraryRef struct {
	Name string `yaml:"name" json:"name"`
	// Path is the library's directory (for a git library, the clone).
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// URL is the git remote; empty for a plain local directory.
	URL    string `yaml:"url,omitempty" json:"url,omitempty"`
	Branch string `yaml:"branch,omitempty" json:"branch,omitempty"`
	// VerifySignatures makes sync refuse a head commit not signed by a key in Keyring.
	VerifySignatures bool   `yaml:"verifySignatures,omitempty" json:"verifySignatures,omitempty"`
	Keyring          string `yaml:"keyring,omitempty" json:"keyring,omitempty"`
}

// DefaultConfig is the configuration used when no config file exists: one
// plain-directory library named "local".
func DefaultConfig(p Paths) *Config {
	return &Config{
		Libraries: []LibraryRef{{Name: DefaultLibrary, Path: p.LocalLibraryDir()}},
		Default:   true,
	}
}

// Library returns the library called name.
func (c *Config) Library(name string) (*LibraryRef, bool) {
	for i := range c.Libraries {
		if c.Libraries[i].Name == name {
			return &c.Libraries[i], true
		}
	}
	return nil, false
}

// LoadConfig reads the config file at path. When it does not exist the
// result is DefaultConfig(DefaultPaths()). Relative paths in the file are
// relative to its directory; a library without a path gets
// DefaultPaths().LibraryDir(name). Problems are a *ValidationError.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultConfig(DefaultPaths()), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	d := newFileDecoder(path)
	var cfg Config
	root := d.parseDocument(data)
	if root == nil {
		return nil, problemsErr(d.problems)
	}
	d.decode(root, reflect.ValueOf(&cfg).Elem(), "")
	base := filepath.Dir(path)
	paths := DefaultPaths()
	seen := map[string]bool{}
	for i := range cfg.Libraries {
		l := &cfg.Libraries[i]
		f := fmt.Sprintf("libraries[%d]", i)
		if d.isBad(f) {
			continue
		}
		switch {
		case d.isBad(f + ".name"):
		case l.Name == "":
			d.addf(node(root, "libraries", i), f+".name", "%s.name is required: run `cscript library add NAME …` rather than editing the file", f)
		case !ValidName(l.Name):
			d.addf(node(root, "libraries", i, "name"), f+".name", "library name %q is not a valid name: %s", l.Name, nameRule)
		case seen[l.Name]:
			d.addf(node(root, "libraries", i, "name"), f+".name", "library %q is configured twice: keep one", l.Name)
		}
		seen[l.Name] = true
		if l.URL == "" && l.Branch != "" {
			d.addf(keyNode(root, "libraries", i, "branch"), f+".branch", "library %q has a branch but no url: remove branch, or add the git url", l.Name)
		}
		if l.VerifySignatures && l.Keyring == "" {
			d.addf(keyNode(root, "libraries", i, "verifySignatures"), f+".keyring", "library %q verifies signatures but has no keyring: set keyring to an armored OpenPGP public key file", l.Name)
		}
		l.Path = expandPath(l.Path, base)
		l.Keyring = expandPath(l.Keyring, base)
		if l.Path == "" && l.Name != "" {
			l.Path = paths.LibraryDir(l.Name)
		}
	}
	if len(d.problems) > 0 {
		return nil, problemsErr(d.problems)
	}
	return &cfg, nil
}

func expandPath(p, base string) string {
	if p == "" {
		return ""
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[1:])
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	return filepath.Clean(p)
}

// Save writes the config to path atomically with mode 0600, creating its directory.
func (c *Config) Save(path string) error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	data = append([]byte("# cscript configuration: the libraries, in search order.\n# Managed by `cscript library add|rm`.\n"), data...)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	if err := WriteFileAtomic(path, data, 0o600); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

// AddLibrary appends ref to the search order. The name must be valid and new;
// a ref without a path gets DefaultPaths().LibraryDir(name).
func (c *Config) AddLibrary(ref LibraryRef) error {
	if !ValidName(ref.Name) {
		return fmt.Errorf("library name %q is not valid: %s", ref.Name, nameRule)
	}
	if _, ok := c.Library(ref.Name); ok {
		return fmt.Errorf("library %q %w: choose another name or remove it with `cscript library rm %s`", ref.Name, ErrExists, ref.Name)
	}
	if ref.VerifySignatures && ref.Keyring == "" {
		return fmt.Errorf("library %q: verifying signatures needs a keyring (--keyring FILE)", ref.Name)
	}
	if ref.Path == "" {
		ref.Path = DefaultPaths().LibraryDir(ref.Name)
	}
	c.Libraries = append(c.Libraries, ref)
	c.Default = false
	return nil
}

// RemoveLibrary drops the library called name from the config (its files stay
// where they are). An unknown name is a *NotFoundError.
func (c *Config) RemoveLibrary(name string) (LibraryRef, error) {
	for i, l := range c.Libraries {
		if l.Name == name {
			c.Libraries = append(c.Libraries[:i:i], c.Libraries[i+1:]...)
			c.Default = false
			return l, nil
		}
	}
	var names []string
	for _, l := range c.Libraries {
		names = append(names, l.Name)
	}
	return LibraryRef{}, &NotFoundError{What: "library", Name: name, Suggestions: suggest(name, names),
		Hint: "list libraries with `cscript library list`"}
}
