// Package action is cscript's application layer: what the CLI (commands/)
// and the web UI both do — plan a run and execute it, render a script,
// run a lifecycle event, create a library, list what the libraries hold.
// Helm's pkg/action is the model.
//
// Actions return data and kinded errors (internal/fail). They never write
// to a terminal and never read one: they ask through a Prompter, say what
// happens beside their result through a Log, and report a run's progress
// through a Progress. Nothing here knows urfave/cli.
package action

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/store"
)

// Configuration is what every action needs. Build one per process (the
// CLI) or per server (the web UI): actions may run concurrently on one
// Configuration. Each field's zero value has a default.
type Configuration struct {
	// Paths are where cscript keeps its files; nil: store.DefaultPaths.
	Paths func() store.Paths
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Secrets are the secret values known so far; actions add the ones
	// they learn, and everything they record or report is redacted with
	// them. nil: a fresh redactor.
	Secrets *redact.Redactor
	// Getenv reads the environment (local credential sources, DOCKER_HOST,
	// CSCRIPT_TRANSFER_AGENT); nil: os.Getenv.
	Getenv func(string) string
	// Stdin is the script's stdin with RunOptions.Interactive and the
	// values file "-"; nil: nothing.
	Stdin io.Reader
	// Force is closed by the user's second interrupt: cleanup deletes with
	// grace period 0. May be nil.
	Force <-chan struct{}
	// Prompter asks the user (protected decks, missing params); nil
	// asks nothing.
	Prompter Prompter
	// Log hears warnings and notes; nil discards them.
	Log Log
	// Host names this machine in records and Leases; "": os.Hostname.
	Host string
	// User is who runs scripts, for .Run.User and run records; "": the
	// library's git identity, else the login name (UserName).
	User string

	mu     sync.Mutex
	warned map[string]bool // team history warnings given (one per problem)
}

// Log hears what an action has to say beside its result.
type Log interface {
	// Warn is a problem that does not stop the action.
	Warn(msg string)
	// Note is information the user should see (who ran a script last on a
	// protected deck).
	Note(msg string)
}

func (c *Configuration) paths() store.Paths {
	if c.Paths == nil {
		return store.DefaultPaths()
	}
	return c.Paths()
}

func (c *Configuration) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Configuration) secrets() *redact.Redactor {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Secrets == nil {
		c.Secrets = redact.New()
	}
	return c.Secrets
}

func (c *Configuration) getenv(k string) string {
	if c.Getenv == nil {
		return os.Getenv(k)
	}
	return c.Getenv(k)
}

func (c *Configuration) host() string {
	if c.Host != "" {
		return c.Host
	}
	h, _ := os.Hostname()
	return h
}

func (c *Configuration) userName(lib *store.Index) string {
	if c.User != "" {
		return c.User
	}
	return UserName(lib)
}

func (c *Configuration) warn(msg string) {
	if c.Log != nil {
		c.Log.Warn(msg)
	}
}

func (c *Configuration) note(msg string) {
	if c.Log != nil {
		c.Log.Note(msg)
	}
}

// Config loads the configuration (the default one when no file exists).
func (c *Configuration) Config() (*store.Config, error) {
	return store.LoadConfig(c.paths().ConfigFile)
}

// Catalog loads the configuration and every configured library. With a
// ref (NAME or LIB/NAME), scripts from the load cache are decoded only
// when they have that name.
func (c *Configuration) Catalog(ref string) (*store.Catalog, *store.Config, error) {
	cfg, err := c.Config()
	if err != nil {
		return nil, nil, err
	}
	opts := store.LoadOptions{CacheDir: c.paths().CacheDir}
	if ref != "" {
		_, opts.Only = store.SplitRef(ref)
	}
	cat, err := store.OpenCatalogWith(cfg, opts)
	if err != nil {
		return nil, nil, err
	}
	return cat, cfg, nil
}

// History opens the run history keeping keep records, on this
// Configuration's clock.
func (c *Configuration) History(keep int) (*history.Store, error) {
	dir, err := history.DefaultDir()
	if err != nil {
		return nil, err
	}
	hist, err := history.Open(dir, keep)
	if err != nil {
		return nil, err
	}
	hist.Now = c.now
	return hist, nil
}
