// Package credentials reads the local sources of script credentials (an
// environment variable, a file or a command such as a password manager call)
// and merges a deck's credential sources over a script's.
package credentials

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
)

// CommandTimeout bounds a fromCommand source.
const CommandTimeout = 2 * time.Minute

// SourceError is a credential whose local source could not be read. It never
// contains the value.
type SourceError struct {
	Credential string
	Source     string
	Message    string
}

func (e *SourceError) Error() string {
	return fmt.Sprintf("credential %s (%s): %s", e.Credential, e.Source, e.Message)
}

// Kind is fail.Invalid: a credential source is input.
func (e *SourceError) Kind() fail.Kind { return fail.Invalid }

// Merge returns the script's credentials with the deck's sources replacing
// those of the same name; deck credentials the script does not name are added.
func Merge(script, deck []store.Credential) []store.Credential {
	out := make([]store.Credential, 0, len(script)+len(deck))
	byName := map[string]int{}
	for _, c := range script {
		byName[c.Name] = len(out)
		out = append(out, c)
	}
	for _, c := range deck {
		if i, ok := byName[c.Name]; ok {
			desc := out[i].Description
			out[i] = c
			if out[i].Description == "" {
				out[i].Description = desc
			}
			continue
		}
		out = append(out, c)
	}
	return out
}

// Read returns the value of a local credential source. Secret refs are not
// local: they are resolved in the cluster, and Read returns an error for them.
func Read(ctx context.Context, c store.Credential, getenv func(string) string) (string, error) {
	switch {
	case c.FromEnv != "":
		v := getenv(c.FromEnv)
		if v == "" {
			return "", &SourceError{Credential: c.Name, Source: "fromEnv " + c.FromEnv, Message: "the environment variable is empty or unset: export it, or change the deck's source"}
		}
		return v, nil
	case c.FromFile != "":
		path := expandHome(c.FromFile, getenv)
		data, err := os.ReadFile(path)
		if err != nil {
			return "", &SourceError{Credential: c.Name, Source: "fromFile " + path, Message: errors.Unwrap(err).Error() + ": create the file (mode 0600) or change the source"}
		}
		return strings.TrimRight(string(data), "\r\n"), nil
	case c.FromCommand != "":
		ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
		defer cancel()
		var out, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "sh", "-c", c.FromCommand)
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			msg := strings.TrimSpace(stderr.String())
			if len(msg) > 300 {
				msg = msg[:300] + "…"
			}
			return "", &SourceError{Credential: c.Name, Source: "fromCommand", Message: fmt.Sprintf("the command failed (%v): %s", err, msg)}
		}
		v := strings.TrimRight(out.String(), "\r\n")
		if v == "" {
			return "", &SourceError{Credential: c.Name, Source: "fromCommand", Message: "the command printed nothing"}
		}
		return v, nil
	}
	return "", &SourceError{Credential: c.Name, Source: "secret", Message: "not a local source"}
}

func expandHome(p string, getenv func(string) string) string {
	if strings.HasPrefix(p, "~/") {
		if h := getenv("HOME"); h != "" {
			return h + p[1:]
		}
	}
	return p
}
