package runner

import (
	"fmt"
	"strings"

	"github.com/cscript-dev/cscript/internal/fail"
)

// Capabilities say what a backend (in one mode) does beyond running a
// script. A request for more is refused before anything is created, with a
// message that says what to do instead: never a silent no-op.
type Capabilities struct {
	Name       string // as a user names it: "pod mode", "job mode", "a Docker deck"
	Files      bool   // uploads and downloads
	Stdin      bool   // -i: the terminal's stdin to the script
	Compress   bool   // --compress of file transfers
	Detach     bool   // --detach, then `cscript runs attach`
	SecretRefs bool   // credentials from a Secret of the cluster
	Exclusive  bool   // exclusive: one run of the script at a time
	Identity   bool   // serviceAccount: a cluster identity for the script
}

// The backends' capabilities.
var (
	KubernetesPod = Capabilities{Name: "pod mode", Files: true, Stdin: true, Compress: true, SecretRefs: true, Exclusive: true, Identity: true}
	KubernetesJob = Capabilities{Name: "job mode", Detach: true, SecretRefs: true, Exclusive: true, Identity: true}
	// Docker: --compress is refused (see Check), not ignored.
	Docker = Capabilities{Name: "a Docker deck", Files: true, Stdin: true, Detach: true}
)

// Request is what a run asks of its backend beyond the script itself.
type Request struct {
	Detach bool
}

// UnsupportedError is a request a backend cannot carry out.
type UnsupportedError struct {
	Backend string
	What    string // the flag or field
	Hint    string // what to do instead
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: not available on %s; %s", e.What, e.Backend, e.Hint)
}

// Check refuses every part of spec and req that c cannot carry out, all at
// once.
func (c Capabilities) Check(spec Spec, req Request) error {
	var errs []*UnsupportedError
	add := func(ok bool, what, hint string) {
		if !ok {
			errs = append(errs, &UnsupportedError{Backend: c.Name, What: what, Hint: hint})
		}
	}
	add(c.Files || len(spec.Uploads)+len(spec.Downloads) == 0, "files (uploads and downloads)", "run it in pod mode (the default)")
	add(c.Stdin || !spec.Stdin, "-i (stdin to the script)", "run it in pod mode on a Kubernetes deck, or pass the input as a file param")
	compressHint := "leave --compress out (it only applies to pod mode's file transfers)"
	if c.Name == Docker.Name {
		// The Engine's archive API sends downloads as plain tar (it takes
		// compressed uploads only), and a local engine gains nothing from
		// compressing: there is nothing --compress could honestly do.
		compressHint = "leave --compress out: the Docker engine's archive API moves files uncompressed (it cannot compress downloads), and a local engine would gain nothing"
	}
	add(c.Compress || !spec.Compress, "--compress", compressHint)
	add(c.Detach || !req.Detach, "--detach", "use --mode job --detach on a Kubernetes deck or --detach on a Docker deck, or leave --detach out")
	add(!req.Detach || !spec.Stdin, "-i with --detach", "a detached run has no terminal to read: leave -i or --detach out")
	add(!req.Detach || len(spec.Downloads) == 0, "downloads with --detach", "a detached run downloads nothing: leave --detach out to get its files")
	secretRef := ""
	for _, cr := range spec.Credentials {
		if cr.SecretRef != nil {
			secretRef = cr.Name
			break
		}
	}
	add(c.SecretRefs || secretRef == "", "credential "+secretRef+" from a Kubernetes Secret", "give the deck a local source for it (fromEnv, fromFile or fromCommand)")
	add(c.Exclusive || !spec.Exclusive, "exclusive: true", "run it on a Kubernetes deck (the lock is a Lease in the namespace), or drop exclusive")
	add(c.Identity || spec.ServiceAccount == "", "serviceAccount "+spec.ServiceAccount, "run it on a Kubernetes deck, or drop serviceAccount")
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return &UnsupportedErrors{Errs: errs}
}

// Kind is fail.Usage: the command line asks for what the backend cannot do.
func (e *UnsupportedError) Kind() fail.Kind { return fail.Usage }

// Kind is fail.Usage, as for one refusal.
func (e *UnsupportedErrors) Kind() fail.Kind { return fail.Usage }

// UnsupportedErrors are several refused requests of one run.
type UnsupportedErrors struct{ Errs []*UnsupportedError }

func (e *UnsupportedErrors) Error() string {
	lines := make([]string, len(e.Errs))
	for i, u := range e.Errs {
		lines[i] = "  " + u.What + ": " + u.Hint
	}
	return fmt.Sprintf("%d requests are not available on %s:\n%s", len(e.Errs), e.Errs[0].Backend, strings.Join(lines, "\n"))
}

// Unwrap lets errors.As find each refusal.
func (e *UnsupportedErrors) Unwrap() []error {
	out := make([]error, len(e.Errs))
	for i, u := range e.Errs {
		out[i] = u
	}
	return out
}
