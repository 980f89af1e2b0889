package commands

import (
	"bytes"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/cscript-dev/cscript/action"
	"github.com/cscript-dev/cscript/history"
	"github.com/cscript-dev/cscript/redact"
	"github.com/cscript-dev/cscript/templates"
)

func (a *app) renderCommand() *cli.Command {
	flagRenderOutput := outputFlagWith(" (the whole resolved definition, or with --pod the manifest, instead of the script body)", "", outputYAML, outputJSON)
	flagRenderMode := &cli.StringFlag{Name: "mode", Value: history.ModePod, Usage: "with --pod: the run mode `MODE`, pod (the Pod) or job (the Job)"}
	flagShowSecrets := &cli.BoolFlag{Name: "show-secrets", Usage: "print the values of secret params (shown as *** otherwise)"}
	return &cli.Command{
		Name:         "render",
		Usage:        "print a script rendered for a deck, without running it",
		ArgsUsage:    "NAME",
		Flags:        append(valuesFlags(), flagRenderOutput, flagShowSecrets, flagPod, flagRenderMode),
		BashComplete: a.completeScripts,
		Action: func(c *cli.Context) error {
			ref, err := scriptArg(c)
			if err != nil {
				return err
			}
			deck, fromDefault, err := a.deckOf(c)
			if err != nil {
				return err
			}
			if fromDefault {
				fmt.Fprintf(a.io.Err, "deck %s %s\n", deck, defaultDeckNote)
			}
			values := valuesOf(c)
			values.Deck = deck
			pod := c.Bool(flagPod.Name)
			if c.IsSet(flagRenderMode.Name) && !pod {
				return usageErrorf("--mode %s says which manifest --pod prints: add --pod", c.String(flagRenderMode.Name))
			}
			rd, err := a.act.Render(c.Context, action.RenderOptions{Ref: ref, Values: values, Pod: pod,
				Mode: c.String(flagRenderMode.Name), ModeSet: c.IsSet(flagRenderMode.Name), Format: c.String(flagRenderOutput.Name)})
			if err != nil {
				return defaultDeckHint(err, deck, fromDefault)
			}
			if pod {
				_, err := a.io.Out.Write(rd.Manifest)
				return err
			}
			out := rd.Out
			show := c.Bool(flagShowSecrets.Name)
			red := redact.New(out.Secrets...)
			if show {
				red = nil // redacts nothing
			}
			if f := c.String(flagRenderOutput.Name); f != "" {
				var buf bytes.Buffer
				if err := writeStructured(&buf, f, renderedView(out, show)); err != nil {
					return err
				}
				_, err = a.io.Out.Write(red.Bytes(buf.Bytes()))
				return err
			}
			_, err = fmt.Fprint(a.io.Out, red.String(out.Body))
			return err
		},
	}
}

// renderedDefinition is what `render --output yaml` prints: the definition after rendering,
// with the typed params and the merged values it was rendered with.
type renderedDefinition struct {
	Definition any            `json:"definition" yaml:"definition"`
	Params     map[string]any `json:"params" yaml:"params"`
	Values     map[string]any `json:"values" yaml:"values"`
}

func renderedView(r *templates.Rendered, showSecrets bool) renderedDefinition {
	params := map[string]any{}
	for k, v := range r.Params {
		params[k] = v
	}
	for _, p := range r.Script.Params {
		if p.Secret && !showSecrets {
			params[p.Name] = "***"
		}
	}
	return renderedDefinition{Definition: r.Script, Params: params, Values: r.Values}
}
