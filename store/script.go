// Package store loads, validates and saves the script library: script
// definitions, decks, presets and library configuration, on disk and in git.
package store

import "time"

// Interpreters a script may name.
const (
	InterpreterBash   = "bash"
	InterpreterSh     = "sh"
	InterpreterPython = "python"
)

// Param types.
const (
	ParamString = "string"
	ParamInt    = "int"
	ParamBool   = "bool"
	ParamFile   = "file"
	ParamEnum   = "enum"
)

// Script is one script definition: a YAML file in a library.
type Script struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Image is a full image reference or the name of a preset.
	Image       string `yaml:"image" json:"image"`
	Interpreter string `yaml:"interpreter" json:"interpreter"`

	Author   string     `yaml:"author,omitempty" json:"author,omitempty"`
	Created  *time.Time `yaml:"created,omitempty" json:"created,omitempty"`
	Modified *time.Time `yaml:"modified,omitempty" json:"modified,omitempty"`

	ServiceAccount string       `yaml:"serviceAccount,omitempty" json:"serviceAccount,omitempty"`
	Credentials    []Credential `yaml:"credentials,omitempty" json:"credentials,omitempty"`
	Params         []Param      `yaml:"params,omitempty" json:"params,omitempty"`
	Files          Files        `yaml:"files,omitempty" json:"files,omitempty"`
	// Env holds plain (non-secret) environment values; values are templates.
	Env       map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	Timeout   Duration          `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Resources Resources         `yaml:"resources,omitempty" json:"resources,omitempty"`
	// RunAsNonRoot makes the container run as a non-root user (the image must allow it).
	RunAsNonRoot bool `yaml:"runAsNonRoot,omitempty" json:"runAsNonRoot,omitempty"`
	// Exclusive makes runs of this script in one namespace take a Lease, so two never overlap.
	Exclusive bool `yaml:"exclusive,omitempty" json:"exclusive,omitempty"`

	// Script is the inline body; ScriptFile a path relative to the definition. Exactly one is set.
	Script     string   `yaml:"script,omitempty" json:"script,omitempty"`
	ScriptFile string   `yaml:"scriptFile,omitempty" json:"scriptFile,omitempty"`
	Tags       []string `yaml:"tags,omitempty" json:"tags,omitempty"`

	// Set by the loader, never read from YAML.
	Source Source `yaml:"-" json:"-"`
}

// Source says where a definition was loaded from.
type Source struct {
	Library string // library name
	Path    string // absolute path of the YAML file
	RelPath string // path relative to the library root
	// Body is the script body: Script, or the contents of ScriptFile.
	Body string
	// BodyPath is the file the body came from (Path for inline scripts), for template errors.
	BodyPath string
	// BodyLine is the 1-based line of the body's first line in BodyPath.
	BodyLine int
}

// Credential is one secret the script needs, exposed to it as the env var Name.
// Exactly one source is set. Secret refs are resolved in the cluster and never
// read by cscript; local sources are read at run time and never stored.
type Credential struct {
	Name        string     `yaml:"name" json:"name"`
	Description string     `yaml:"description,omitempty" json:"description,omitempty"`
	Secret      *SecretRef `yaml:"secret,omitempty" json:"secret,omitempty"`
	FromEnv     string     `yaml:"fromEnv,omitempty" json:"fromEnv,omitempty"`
	FromFile    string     `yaml:"fromFile,omitempty" json:"fromFile,omitempty"`
	FromCommand string     `yaml:"fromCommand,omitempty" json:"fromCommand,omitempty"`
}

// SecretRef names a key of a Kubernetes Secret in the run's namespace.
type SecretRef struct {
	Name string `yaml:"name" json:"name"`
	Key  string `yaml:"key" json:"key"`
}

// Param is a typed parameter of a script, given with --set NAME=VALUE.
type Param struct {
	Name        string   `yaml:"name" json:"name"`
	Type        string   `yaml:"type,omitempty" json:"type,omitempty"` // default string
	Description string   `yaml:"description,omitempty" json:"description,omitempty"`
	Default     any      `yaml:"default,omitempty" json:"default,omitempty"`
	Required    bool     `yaml:"required,omitempty" json:"required,omitempty"`
	Pattern     string   `yaml:"pattern,omitempty" json:"pattern,omitempty"`
	Values      []string `yaml:"values,omitempty" json:"values,omitempty"` // for enum
	Secret      bool     `yaml:"secret,omitempty" json:"secret,omitempty"`
}

// Files lists what is copied into the container before the script and out of it after.
type Files struct {
	Upload   []FileMapping `yaml:"upload,omitempty" json:"upload,omitempty"`
	Download []FileMapping `yaml:"download,omitempty" json:"download,omitempty"`
}

// FileMapping copies From to To; both are templates. For uploads From is local
// and To is in the container; for downloads the other way round.
type FileMapping struct {
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
}

// Resources are the container's requests and limits (quantities as strings).
type Resources struct {
	Requests map[string]string `yaml:"requests,omitempty" json:"requests,omitempty"`
	Limits   map[string]string `yaml:"limits,omitempty" json:"limits,omitempty"`
}

// Deck is a named target environment: decks/<name>.yaml in a library.
type Deck struct {
	Name        string `yaml:"-" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Backend is "kubernetes" (default) or "docker".
	Backend   string         `yaml:"backend,omitempty" json:"backend,omitempty"`
	Context   string         `yaml:"context,omitempty" json:"context,omitempty"`
	Namespace string         `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	Protected bool           `yaml:"protected,omitempty" json:"protected,omitempty"`
	Values    map[string]any `yaml:"values,omitempty" json:"values,omitempty"`
	// Credentials override the sources of a script's credentials by name for this deck.
	Credentials []Credential `yaml:"credentials,omitempty" json:"credentials,omitempty"`
	// TeamHistory tunes the records this deck's Kubernetes runs leave in
	// its namespace (nil: the defaults).
	TeamHistory *TeamHistory `yaml:"teamHistory,omitempty" json:"teamHistory,omitempty"`

	Source Source `yaml:"-" json:"-"`
}

// TeamHistory tunes the team history of a deck: the record of every
// Kubernetes run that cscript keeps in the run's namespace (a ConfigMap
// labelled cscript.dev/record=run). In YAML it is a mapping ({keep: 20,
// required: true}) or the word "required" (the default count, required).
type TeamHistory struct {
	// Keep is how many finished records of each script the namespace keeps
	// (0: DefaultTeamHistoryKeep); cscript removes older ones after a run.
	Keep int `yaml:"keep,omitempty" json:"keep,omitempty"`
	// Required refuses a run, before it starts, when its record cannot be
	// written (no permission to create ConfigMaps in the namespace);
	// otherwise such a run warns once and goes on without a record.
	Required bool `yaml:"required,omitempty" json:"required,omitempty"`
}

// Bounds of TeamHistory.Keep.
const (
	DefaultTeamHistoryKeep = 100
	MaxTeamHistoryKeep     = 10000
)

// TeamHistoryKeep is the deck's count of finished records kept per script
// (DefaultTeamHistoryKeep unless set). d may be nil.
func (d *Deck) TeamHistoryKeep() int {
	if d == nil || d.TeamHistory == nil || d.TeamHistory.Keep <= 0 {
		return DefaultTeamHistoryKeep
	}
	return d.TeamHistory.Keep
}

// TeamHistoryRequired reports whether a run on the deck must write its team
// record. d may be nil.
func (d *Deck) TeamHistoryRequired() bool {
	return d != nil && d.TeamHistory != nil && d.TeamHistory.Required
}

// Duration is a time.Duration written as a Go duration string ("90s", "1h").
type Duration struct{ time.Duration }
