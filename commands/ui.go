package commands

import (
	"fmt"
	"os/exec"
	"runtime"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/store"
	"github.com/cscript-dev/cscript/ui"
)

// uiShutdownWait is how long stopping `cscript ui` waits for its runs to
// be cancelled and cleaned up.
const uiShutdownWait = 2 * time.Minute

func (a *app) uiCommand() *cli.Command {
	flagAddr := &cli.StringFlag{Name: "addr", Value: "127.0.0.1:0", Usage: "listen on `HOST:PORT` (port 0: any free port); keep it on loopback unless you know who can reach it"}
	flagOpen := &cli.BoolFlag{Name: "open", Usage: "open the URL in the browser (xdg-open or open)"}
	return &cli.Command{
		Name:  "ui",
		Usage: "serve the web UI: browse, write, render and run scripts, see history and resources (until Ctrl-C)",
		Description: "Prints a URL with a one-time token; the browser exchanges it for a session cookie.\n" +
			"Ctrl-C stops the server: every run it started is cancelled and cleaned up first.",
		Flags: []cli.Flag{flagAddr, flagOpen},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf("ui takes no arguments, got %q", c.Args().First())
			}
			srv, err := ui.New(ui.Config{
				Paths: func() store.Paths { return a.paths() }, Now: func() time.Time { return a.now() },
				Secrets: a.secrets, Getenv: a.io.getenv, Log: a.io.Err,
			})
			if err != nil {
				return err
			}
			ln, err := srv.Listen(c.String(flagAddr.Name))
			if err != nil {
				return usageErrorf("%v: choose another address with --addr", err)
			}
			if warn := ui.Exposure(ln); warn != "" {
				fmt.Fprintln(a.io.Err, warn)
			}
			fmt.Fprintf(a.io.Out, "cscript ui: %s\n", srv.URL())
			fmt.Fprintln(a.io.Err, "Open the URL above (it holds the token; do not share it). Ctrl-C stops the server and cancels its runs.")
			if c.Bool(flagOpen.Name) {
				if err := openBrowser(srv.URL()); err != nil {
					fmt.Fprintf(a.io.Err, "could not open the browser (%v): open the URL yourself\n", err)
				}
			}
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-c.Context.Done():
			}
			fmt.Fprintln(a.io.Err, "stopping: cancelling the runs this server started and cleaning them up (Ctrl-C again to force)")
			go func() {
				<-a.info.Force
				srv.ForceAll()
			}()
			return srv.Close(uiShutdownWait)
		},
	}
}

func openBrowser(url string) error {
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	return exec.Command(name, url).Start()
}
