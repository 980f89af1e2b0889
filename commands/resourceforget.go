package commands

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/internal/fail"
)

// resourceForgetCommand is `resource forget NAME`: a resource stuck ERRED
// removed from the state without running its terminate script.
func (a *app) resourceForgetCommand(deps resourceDeps) *cli.Command {
	flagForce := &cli.BoolFlag{Name: "force", Usage: "forget a resource that is not ERRED too (what its scripts made is left behind)"}
	flagYesForget := &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"}
	return &cli.Command{
		Name:  "forget",
		Usage: "remove a resource stuck ERRED from the state, without running its terminate script",
		Description: "For a resource whose create failed because the cluster or the Docker engine was down:\n" +
			"it can then be created again. Nothing runs, so whatever its scripts made stays; a resource\n" +
			"that is not ERRED is refused unless --force (terminate it instead).",
		ArgsUsage: "NAME",
		Flags:     append(append([]cli.Flag{flagDeck}, targetFlags()...), flagForce, flagYesForget),
		Action: func(c *cli.Context) error {
			name, err := resourceArg(c)
			if err != nil {
				return err
			}
			env, err := a.resourceSetup(c, deps)
			if err != nil {
				return err
			}
			f, err := a.act.PlanForget(c.Context, env, name, c.Bool(flagForce.Name))
			if err != nil {
				return err
			}
			r := f.Resource
			what := string(r.State)
			if r.ErrorMessage != "" {
				what += ": " + r.ErrorMessage
			}
			left := "nothing that cscript knows of"
			if f.LeftBehind != "" {
				left = f.LeftBehind
			}
			if !c.Bool(flagYesForget.Name) {
				if !a.io.interactive() {
					return fail.Errorf(fail.Refused, "not forgetting resource %s without confirmation: pass --yes", name)
				}
				answer, err := a.io.ask(fmt.Sprintf("Forget resource %s of deck %s (%s)? No script runs; left behind: %s. [y/N] ", name, env.Deck.Name, what, left))
				if err != nil {
					return noAnswer(err, "not forgotten; pass --yes to forget without asking")
				}
				if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(answer)), "y") {
					return fail.Errorf(fail.Refused, "not forgotten: resource %s is unchanged", name)
				}
			}
			if err := a.act.ForgetResource(c.Context, env, f); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "Forgot resource %s (was %s); left behind: %s\n", name, what, left)
			return nil
		},
	}
}
