package commands

import (
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/internal/fail"
	"github.com/cscript-dev/cscript/store"
)

var (
	flagBranch   = &cli.StringFlag{Name: "branch", Usage: "the git `BRANCH` to follow (default: the remote's default branch)"}
	flagVerify   = &cli.BoolFlag{Name: "verify-signatures", Usage: "refuse to sync to any new commit that is not signed by a key in --keyring, and to a remote branch that was rewound"}
	flagKeyring  = &cli.StringFlag{Name: "keyring", Usage: "armored OpenPGP public keyring `FILE` for --verify-signatures"}
	flagSSHKey   = &cli.StringFlag{Name: "ssh-key", Usage: "SSH private key `FILE` (default: the SSH agent)", EnvVars: []string{"CSCRIPT_SSH_KEY"}}
	flagTokenEnv = &cli.StringFlag{Name: "token-env", Value: store.DefaultTokenEnv, Usage: "environment `VARIABLE` holding an HTTPS token"}
)

func (a *app) libraryCommand() *cli.Command {
	return &cli.Command{
		Name:    "library",
		Aliases: []string{"lib"},
		Usage:   "add, list and remove script libraries (local directories or git repositories)",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "add a library: clone a git URL, or register a local directory",
				ArgsUsage: "NAME URL|DIR",
				Flags:     []cli.Flag{flagBranch, flagVerify, flagKeyring, flagSSHKey, flagTokenEnv},
				Action:    a.libraryAdd,
			},
			a.libraryRemoteCommand(),
			{
				Name:      "trust",
				Usage:     "review and trust what a shared library asks to do on this machine (local credential commands, files and variables; local paths)",
				ArgsUsage: "NAME",
				Flags:     []cli.Flag{flagTrustDryRun, flagRevoke},
				Action:    a.libraryTrust,
			},
			{
				Name:  "list",
				Usage: "list the configured libraries in search order",
				Flags: []cli.Flag{flagOutput},
				Action: func(c *cli.Context) error {
					cfg, err := a.config()
					if err != nil {
						return err
					}
					if f := c.String(flagOutput.Name); f != outputTable {
						return writeStructured(a.io.Out, f, cfg.Libraries)
					}
					tw := tabwriter.NewWriter(a.io.Out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tPATH\tURL\tBRANCH\tCOMMIT")
					for _, l := range cfg.Libraries {
						head, _ := store.HeadCommit(l.Path)
						if len(head) > 12 {
							head = head[:12]
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Name, l.Path, orDash(l.URL), orDash(l.Branch), orDash(head))
					}
					return tw.Flush()
				},
			},
			{
				Name:      "rm",
				Usage:     "remove a library from the config (its directory is kept)",
				ArgsUsage: "NAME",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageErrorf("library rm needs exactly one library name")
					}
					cfg, err := a.config()
					if err != nil {
						return err
					}
					name := c.Args().First()
					ref, ok := cfg.Library(name)
					if !ok {
						return &store.NotFoundError{What: "library", Name: name, Hint: "see `cscript library list`"}
					}
					path := ref.Path
					kept := cfg.Libraries[:0]
					for _, l := range cfg.Libraries {
						if l.Name != name {
							kept = append(kept, l)
						}
					}
					cfg.Libraries = kept
					if err := cfg.Save(a.paths().ConfigFile); err != nil {
						return err
					}
					fmt.Fprintf(a.io.Out, "Removed library %q from the config; its files are still at %s\n", name, path)
					return nil
				},
			},
		},
	}
}

func gitOptions(c *cli.Context, ref store.LibraryRef) store.GitOptions {
	return store.GitOptions{
		Branch:           ref.Branch,
		VerifySignatures: ref.VerifySignatures,
		Keyring:          ref.Keyring,
		Auth: store.AuthOptions{
			SSHKeyFile: c.String(flagSSHKey.Name),
			TokenEnv:   c.String(flagTokenEnv.Name),
		},
	}
}

func (a *app) libraryAdd(c *cli.Context) error {
	if c.NArg() != 2 {
		return usageErrorf("library add needs NAME and URL (or a local DIR), got %d arguments", c.NArg())
	}
	name, src := c.Args().Get(0), c.Args().Get(1)
	a.insecureRemote(src)
	if !store.ValidName(name) {
		return usageErrorf("library name %q is not a DNS-1123 label: use lower-case letters, digits and '-'", name)
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if cfg.Default {
		// The implicit default library stays configured when it exists.
		if _, err := os.Stat(a.paths().LocalLibraryDir()); err != nil {
			cfg.Libraries = nil
		}
		cfg.Default = false
	}
	if _, ok := cfg.Library(name); ok {
		return usageErrorf("a library called %q is already configured: remove it first with `cscript library rm %s`", name, name)
	}
	ref := store.LibraryRef{Name: name, Branch: c.String(flagBranch.Name), VerifySignatures: c.Bool(flagVerify.Name), Keyring: c.String(flagKeyring.Name)}
	if ref.VerifySignatures && ref.Keyring == "" {
		return usageErrorf("--verify-signatures needs --keyring FILE (armored public keys of the signers)")
	}
	if ref.Keyring != "" {
		if ref.Keyring, err = filepath.Abs(ref.Keyring); err != nil {
			return err
		}
	}
	if st, err := os.Stat(src); err == nil && st.IsDir() {
		ref.Path, _ = filepath.Abs(src)
		if _, err := store.LoadLibrary(name, ref.Path); err != nil {
			return err
		}
	} else {
		ref.URL = src
		ref.Path = a.paths().LibraryDir(name)
		reuse, err := a.reuseOrMoveAside(ref.Path, src, ref.VerifySignatures)
		if err != nil {
			return err
		}
		if !reuse {
			fmt.Fprintf(a.io.Err, "Cloning %s into %s …\n", src, ref.Path)
			if err := store.CloneLibrary(c.Context, src, ref.Path, gitOptions(c, ref)); err != nil {
				return err
			}
		}
	}
	cfg.Libraries = append(cfg.Libraries, ref)
	if err := cfg.Save(a.paths().ConfigFile); err != nil {
		return err
	}
	fmt.Fprintf(a.io.Out, "Added library %q at %s\n", name, ref.Path)
	return nil
}

func (a *app) syncCommand() *cli.Command {
	return &cli.Command{
		Name:      "sync",
		Usage:     "fetch git libraries and push local commits, put on top of the remote's new ones; local work that changed the same lines as the remote, and local commits a rewound remote dropped, are kept on a branch (exit 5)",
		ArgsUsage: "[LIB]",
		Flags:     []cli.Flag{flagSSHKey, flagTokenEnv},
		Action: func(c *cli.Context) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			only := c.Args().First()
			if only != "" {
				if _, ok := cfg.Library(only); !ok {
					return &store.NotFoundError{What: "library", Name: only, Hint: "see `cscript library list`"}
				}
			}
			var firstErr error
			synced := 0
			for _, ref := range cfg.Libraries {
				if (only != "" && ref.Name != only) || (only == "" && ref.URL == "") {
					continue
				}
				if ref.URL == "" {
					return usageErrorf("library %q is a local directory without a git remote: nothing to sync", ref.Name)
				}
				synced++
				res, err := store.Sync(c.Context, ref.Path, gitOptions(c, ref))
				if err != nil {
					fmt.Fprintf(a.io.Err, "%s: %v\n", ref.Name, err)
					if firstErr == nil {
						firstErr = silent(err)
					}
					continue
				}
				fmt.Fprintf(a.io.Out, "%s: %s\n", ref.Name, res.Message())
				if (res.Diverged || res.Rewound) && firstErr == nil {
					firstErr = silent(&divergedError{lib: ref.Name, rewound: res.Rewound})
				}
			}
			if synced == 0 && only == "" {
				fmt.Fprintln(a.io.Out, "No git libraries configured: add one with `cscript library add NAME URL`")
			}
			return firstErr
		},
	}
}

// divergedError makes sync exit with ExitConflict after it kept local work on a branch.
type divergedError struct {
	lib     string
	rewound bool
}

func (e *divergedError) Error() string {
	if e.rewound {
		return fmt.Sprintf("the remote of library %s was rewound: local commits it no longer has were kept on a branch, not pushed", e.lib)
	}
	return fmt.Sprintf("library %s had diverged: local commits were kept on a branch", e.lib)
}
func (e *divergedError) Kind() fail.Kind { return fail.Conflict }
