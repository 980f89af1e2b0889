package commands

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/trust"
)

var (
	flagTrustDryRun = &cli.BoolFlag{Name: "dry-run", Usage: "list what the library asks to do on this machine, trust nothing"}
	flagRevoke      = &cli.BoolFlag{Name: "revoke", Usage: "forget the trust given to the library"}
)

// trustStore is the user's consent to libraries' local-side features.
func (a *app) trustStore() *trust.Store { return a.act.TrustStore() }

// libraryTrust lists a library's local-side features and trusts them.
func (a *app) libraryTrust(c *cli.Context) error {
	name := c.Args().First()
	if name == "" || c.NArg() > 1 {
		return usageErrorf("library trust takes one library name")
	}
	ts := a.trustStore()
	if c.Bool(flagRevoke.Name) {
		if err := ts.Revoke(name); err != nil {
			return err
		}
		fmt.Fprintf(a.io.Out, "library %s is no longer trusted on this machine\n", name)
		return nil
	}
	cat, _, err := a.catalog()
	if err != nil {
		return err
	}
	lib, err := cat.Library(name)
	if err != nil {
		return err
	}
	features := trust.OfLibrary(lib)
	if len(features) == 0 {
		fmt.Fprintf(a.io.Out, "library %s asks for nothing on this machine\n", name)
	} else {
		fmt.Fprintf(a.io.Out, "library %s asks to act on this machine:\n", name)
		for _, f := range features {
			fmt.Fprintf(a.io.Out, "  %s\n", f)
		}
	}
	if c.Bool(flagTrustDryRun.Name) {
		return nil
	}
	if err := ts.Trust(name, features); err != nil {
		return err
	}
	fmt.Fprintf(a.io.Out, "trusted: %s of library %s; a change after a sync is asked about again\n", plural(len(features), "request", "requests"), name)
	return nil
}

// insecureRemote warns about a remote that anyone on the network path can
// change: what it serves is what this machine runs.
func (a *app) insecureRemote(url string) {
	for _, scheme := range []string{"git://", "http://"} {
		if strings.HasPrefix(strings.ToLower(url), scheme) {
			fmt.Fprintf(a.io.Err, "warning: %s is not authenticated: anyone on the network path can change the scripts you run; use https:// or ssh\n", url)
			return
		}
	}
}
